# One image for the web (Daphne) and worker (Celery) services of docker-compose.yml.

# --- Front-end libraries: npm is needed once, at build time, and never ships. -----------------
FROM python:3.11-slim AS vendor
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY simcoach_site/vendor.py simcoach_site/
# `python -m simcoach_site.vendor` would import the package (and with it Celery, not installed
# in this stage); the module runs alone as a script.
RUN python simcoach_site/vendor.py

# --- The ingest's C hot loops (native/): the compiler stays in this stage. ---------------------
FROM python:3.11-slim AS native
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY native/ /src/native/
RUN pip wheel --no-deps --wheel-dir /wheels /src/native

# --- The application. ---------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=simcoach_site.settings \
    SIMCOACH_VAR_DIR=/app/var
WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt ./
COPY agent/ ./agent/
COPY --from=native /wheels/ /wheels/
RUN pip install -r requirements.txt -e ./agent /wheels/*.whl

COPY . .
COPY --from=vendor /src/static/vendor/ ./static/vendor/

# Hashed, compressed static files for whitenoise, built with the production storage. The key and
# host only let settings load for this one command (they refuse placeholders with DEBUG off);
# they are not in the running containers, which get theirs from the environment.
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY=collectstatic-only-build-time-key-not-used-at-runtime-0123456789 \
    DJANGO_ALLOWED_HOSTS=build.invalid \
    SIMCOACH_ALLOW_EMBEDDED=1 \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --home-dir /app simcoach \
    && mkdir -p /app/var \
    && chown simcoach /app/var
USER simcoach

EXPOSE 8000
# Daphne with share tokens cut out of its access log (simcoach_site/serve.py). Without
# --proxy-headers: Daphne would take X-Forwarded-For's first address, which the client writes;
# behind a proxy set TRUSTED_PROXY_COUNT instead (docker-compose.yml does).
CMD ["python", "-m", "simcoach_site.serve", "-b", "0.0.0.0", "-p", "8000", "simcoach_site.asgi:application"]
