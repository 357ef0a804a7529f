"""SimCoach settings: one module, read from the environment.

With no variables set everything runs embedded on one laptop: SQLite, the in-memory channel
layer, the `db` trace store, eager Celery and no OpenAI key. Setting DATABASE_URL, REDIS_URL,
INFLUX_URL and CELERY_BROKER_URL switches to the full stack with the same code. With DEBUG off,
settings refuse to load with values that are only safe on a laptop.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SIMCOACH_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
# Secrets may come from files (docker secrets): FOO_FILE=/run/secrets/foo sets FOO.
for _name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "OPENAI_API_KEY", "INFLUX_TOKEN", "REDIS_URL"):
    _path = os.environ.get(f"{_name}_FILE")
    if _path and _name not in os.environ:
        os.environ[_name] = Path(_path).read_text().strip()

DEBUG = env.bool("DJANGO_DEBUG", default=True)
_PLACEHOLDER_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=_PLACEHOLDER_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Serving under a path prefix, e.g. /ai-sim-coach (no trailing slash).
URL_PREFIX = env.str("URL_PREFIX", default="").rstrip("/")
if URL_PREFIX and not URL_PREFIX.startswith("/"):
    raise ImproperlyConfigured("URL_PREFIX must start with '/', e.g. /ai-sim-coach")
FORCE_SCRIPT_NAME = URL_PREFIX or None

INSTALLED_APPS = [
    "daphne",  # first, so runserver serves WebSockets too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc as our own static files: docs work offline
    "apps.traces",
    "apps.accounts",
    "apps.sessions",
    "apps.sharing",
    "apps.telemetry",
    "apps.coaching",
    "apps.teams",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simcoach_site.headers.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "simcoach_site.urls"
ASGI_APPLICATION = "simcoach_site.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "simcoach_site.context.site",
            ]
        },
    }
]

# --- Relational database -------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
if "DATABASE_URL" in os.environ:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "simcoach.sqlite3",
            # A file test database so live-server and socket tests share it across processes.
            "TEST": {"NAME": VAR_DIR / "test-simcoach.sqlite3"},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE: writers take the lock up front instead of failing mid-transaction with
    # "database is locked" when the rig socket and a page write at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer and Celery ---------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # The pub/sub layer: it delivers every live frame where the core Redis layer, whose
    # channels have a capacity, dropped them under load (DESIGN.md, bench/RESULTS.md). Pub/sub
    # channels ignore the db number in the URL: sites (or test workers) sharing one Redis on
    # other dbs need another prefix.
    _redis_db = urlsplit(REDIS_URL).path.strip("/")
    _layer_prefix = "asgi" if _redis_db in ("", "0") else f"asgi{_redis_db}"
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": _layer_prefix},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rate limits (pairing codes, logins) must be shared by every server process: Redis when set.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Without a broker, tasks run on a background thread of the process; JOBS_INLINE runs them
# in the committing thread instead (the test suite sets it).
JOBS_INLINE = env.bool("SIMCOACH_JOBS_INLINE", default=False)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_ACKS_LATE = True  # a task killed mid-run is redelivered; tasks are idempotent
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A rig that vanishes without saying `end` has its session closed after the silence timeout.
CELERY_BEAT_SCHEDULE = {
    "sessions-close-idle": {"task": "apps.sessions.tasks.sessions_close_idle_task", "schedule": 60.0},
    "laps-analyse-missing": {"task": "apps.coaching.tasks.laps_analyse_missing_task", "schedule": 300.0},
    "imports-sweep": {"task": "apps.sessions.tasks.imports_sweep_task", "schedule": 3600.0},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # the worker logs through LOGGING below (JSON in production)

# --- Trace store -----------------------------------------------------------------------------
INFLUX_URL = env.str("INFLUX_URL", default="")
TRACE_STORE = env.str("TRACE_STORE", default="influx" if INFLUX_URL else "db")
if TRACE_STORE not in ("db", "influx"):
    raise ImproperlyConfigured(f"TRACE_STORE must be 'db' or 'influx', not {TRACE_STORE!r}")
if TRACE_STORE == "influx" and not INFLUX_URL:
    raise ImproperlyConfigured("TRACE_STORE=influx needs INFLUX_URL")
INFLUX_DB = env.str("INFLUX_DB", default="simcoach")  # v1 database, or 2.x bucket via DBRP
INFLUX_TOKEN = env.str("INFLUX_TOKEN", default="")  # 2.x/3.x token; empty for 1.x
INFLUX_USERNAME = env.str("INFLUX_USERNAME", default="")
INFLUX_PASSWORD = env.str("INFLUX_PASSWORD", default="")

# --- OpenAI ------------------------------------------------------------------------------------
OPENAI_API_KEY = env.str("OPENAI_API_KEY", default="")
OPENAI_BASE_URL = env.str("OPENAI_BASE_URL", default="") or None
OPENAI_MODEL = env.str("OPENAI_MODEL", default="gpt-4o-mini")
OPENAI_TIMEOUT_S = env.float("OPENAI_TIMEOUT_S", default=60.0)
# Reports: first retry delay after a timeout, 429 or 5xx; doubles on each retry.
REPORT_RETRY_BASE_S = env.float("REPORT_RETRY_BASE_S", default=5.0)

# --- Live behaviour -------------------------------------------------------------------------------
LIVE_VIEWER_HZ = env.float("LIVE_VIEWER_HZ", default=20.0)  # frames pushed to each viewer
# Live coaching said to the driver (apps/coaching/lib/discipline.py): spoken messages a lap
# (critical ones not counted), and how far (s of frame time) a message may trail the newest
# frame before it is dropped as late (the coaching of a backlog replayed after an outage).
COACH_CUE_BUDGET = env.int("COACH_CUE_BUDGET", default=6)
COACH_FRESH_S = env.float("COACH_FRESH_S", default=2.0)
if COACH_CUE_BUDGET < 0:
    raise ImproperlyConfigured(f"COACH_CUE_BUDGET must be 0 or more (messages a lap), not {COACH_CUE_BUDGET}")
if not COACH_FRESH_S > 0:  # also refuses nan
    raise ImproperlyConfigured(f"COACH_FRESH_S must be more than 0 (seconds), not {COACH_FRESH_S}")
# How long a thread may hold the GIL while another waits (Python's default is 5 ms): short, so
# storage work in the ingest thread cannot hold up the sockets' event loop (asgi.py sets it).
GIL_SWITCH_INTERVAL_S = env.float("GIL_SWITCH_INTERVAL_S", default=0.001)
SESSION_SILENCE_TIMEOUT_S = env.int("SESSION_SILENCE_TIMEOUT_S", default=600)
# Origins allowed to open browser sockets (viewer pages); empty = same host as ALLOWED_HOSTS.
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])

# --- Uploads (lap file imports) -----------------------------------------------------------------
# Uploads above 1 MB go to a temp file on disk, never whole into memory (a one-hour .ld is tens
# of MB); the importer then reads that file. Form fields other than files stay capped at 2.5 MB.
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Large uploads stream into anonymous temp files (no name on disk), so a killed worker leaves
# none behind; named `*.upload.*` leftovers of older runs are swept at start (apps/sessions/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "apps.sessions.uploads.AnonymousTemporaryFileUploadHandler",
]
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=200 * 1024 * 1024)  # one file, over all its chunks
# Files arrive in chunks of at most this many bytes (PUT /api/imports/<id>/chunk): Daphne holds
# a request body in memory several times over, so the chunk, not the file, bounds a request's
# memory. One request carries at most a chunk and a .ldx sidecar (4 MB) plus form overhead;
# deploy/nginx's client_max_body_size (9m) matches IMPORT_REQUEST_MAX_BYTES.
IMPORT_CHUNK_BYTES = env.int("IMPORT_CHUNK_BYTES", default=4 * 1024 * 1024)
IMPORT_REQUEST_MAX_BYTES = IMPORT_CHUNK_BYTES + 4 * 1024 * 1024 + 512 * 1024
# Uploaded files wait here (one per import) until the worker has run them, then are deleted.
IMPORT_UPLOAD_DIR = Path(env.str("SIMCOACH_IMPORT_UPLOAD_DIR", default=str(VAR_DIR / "imports")))
# An upload nobody has added a chunk to for this long is abandoned: its file is swept, the import failed.
IMPORT_UPLOAD_STALE_S = env.float("IMPORT_UPLOAD_STALE_S", default=24 * 3600.0)
# The import task's Celery limits: the soft one ends a run with a clear error, the hard one kills
# the worker child (the in-process runner relies on IMPORT_TIME_LIMIT_S, which the readers check).
IMPORT_TASK_SOFT_TIME_LIMIT_S = env.int("IMPORT_TASK_SOFT_TIME_LIMIT_S", default=180)
IMPORT_TASK_TIME_LIMIT_S = env.int("IMPORT_TASK_TIME_LIMIT_S", default=210)
# Seconds an import may spend reading its file before it is refused (cooperative: checked as it reads).
IMPORT_TIME_LIMIT_S = env.float("IMPORT_TIME_LIMIT_S", default=60.0)

# --- Who may sign up, and how far the client's address can be believed ---------------------------
# open: anyone; invite: only with an invite token (admin or `manage.py create_signup_invite`);
# closed: nobody (accounts come from the admin or `createsuperuser`).
# Whether /leaderboards/ offers a site-wide board (drivers who opted in); teams' boards always exist.
SITE_LEADERBOARD = env.bool("SIMCOACH_SITE_LEADERBOARD", default=False)
SIGNUP = env.str("SIGNUP", default="open")
if SIGNUP not in ("open", "invite", "closed"):
    raise ImproperlyConfigured(f"SIGNUP must be 'open', 'invite' or 'closed', not {SIGNUP!r}")
# Proxies in front of Daphne that append to X-Forwarded-For (nginx in docker-compose: 1). 0 = the
# socket peer is the client. Every per-IP limit keys on the address this many proxies vouch for
# (simcoach_site/lib/client.py); more than the real number lets clients choose their address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if not 0 <= TRUSTED_PROXY_COUNT <= 5:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0-5, not {TRUSTED_PROXY_COUNT}")
# The DEBUG page and error reports mask settings whose name says secret, and URLs with a password.
DEFAULT_EXCEPTION_REPORTER_FILTER = "simcoach_site.errors.SecretsHidingFilter"

# --- Auth, i18n, static --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "live"
LOGOUT_REDIRECT_URL = "login"
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = f"{URL_PREFIX}/static/"
# collectstatic writes here (the Docker image builds it; tests point it at a temp dir).
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve straight from static/ in the embedded run, no collectstatic
SESSION_COOKIE_PATH = URL_PREFIX or "/"
CSRF_COOKIE_PATH = URL_PREFIX or "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SimCoach API",
    "DESCRIPTION": "Sessions, laps, lap channels and comparisons of a SimCoach driver.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # From drf_spectacular_sidecar's static files, not a CDN: the docs load on an offline LAN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # null: no badge fetched from validator.swagger.io (another origin)
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "simcoach_site.logs.JsonFormatter"},
    },
    # Share tokens and invite codes are in URLs, and URLs reach log lines (404s, 410s): cut out
    # on the loggers that log paths (so Django's own DEBUG console gets the cut line too) and on
    # our handler (for everything else).
    "filters": {"redact_urls": {"()": "simcoach_site.logs.RedactUrlsFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",  # containers: one JSON object per line on stdout
            "formatter": "plain" if DEBUG else "json",
            "filters": ["redact_urls"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING", "filters": ["redact_urls"]},
        "django.request": {"filters": ["redact_urls"]},
        "django.security": {"filters": ["redact_urls"]},
        # Listed so dictConfig drops Django's default stderr handler on "django": with it, each
        # request warning and traceback was printed twice (by it and by the root's console).
        "django": {"level": "INFO"},
    },
}

# --- Production: refuse what is only safe on a laptop -------------------------------------------
# HSTS for a year whenever DEBUG is off (the site is served over TLS then: SECURE_SSL_REDIRECT);
# DJANGO_HSTS_SECONDS=0 turns it off, e.g. while trying a new domain.
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
if not DEBUG:
    if SECRET_KEY == _PLACEHOLDER_KEY or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (40+ characters) when DJANGO_DEBUG is off")
    if "*" in ALLOWED_HOSTS or "DJANGO_ALLOWED_HOSTS" not in os.environ:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must list the real host names when DJANGO_DEBUG is off"
        )
    if not env.bool("SIMCOACH_ALLOW_EMBEDDED", default=False):
        if not REDIS_URL:
            raise ImproperlyConfigured("REDIS_URL is required when DJANGO_DEBUG is off (in-memory layer)")
        if not CELERY_BROKER_URL:
            raise ImproperlyConfigured("CELERY_BROKER_URL or REDIS_URL is required when DJANGO_DEBUG is off")
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Container probes and monitors may call the status endpoint over plain HTTP inside the network.
    SECURE_REDIRECT_EXEMPT = [r"(^|/)api/status/?$"]
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
    SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
