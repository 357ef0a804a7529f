# SimCoach: `make demo` runs everything on a laptop, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv demo run test test-fast lint style types migrate static clean

# The ingest's C hot loops (native/) need a C compiler and the Python headers; without them
# the site runs its Python paths, several times slower at ingest, and says so in its log.
NATIVE := native/pyproject.toml native/setup.py native/simcoach_native.c

$(STAMP): requirements.txt requirements-dev.txt agent/pyproject.toml $(NATIVE)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "SimCoach needs Python 3.11+"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt -e ./agent
	$(PY) -m pip install -q --force-reinstall --no-deps ./native \
		|| echo "warning: native/ did not build (no C compiler?): ingest runs in Python" >&2
	touch $(STAMP)

venv: $(STAMP)

static: $(STAMP)
	$(PY) -m simcoach_site.vendor

migrate: venv static
	$(PY) manage.py migrate --noinput

demo: migrate  ## the whole system on embedded defaults, with a demo car streaming
	$(PY) manage.py demo

run: migrate  ## the server alone
	$(VENV)/bin/daphne -b 127.0.0.1 -p 8000 simcoach_site.asgi:application

# Parallel pytest workers: most of the suite's time is waiting (outages, Daphne, the agent,
# Chromium), so even 2 cores keep 3 busy. TEST_WORKERS=0 runs everything in one process.
# One test at a time per worker (maxschedchunk 1), slowest first (conftest.py sorts them):
# bigger chunks queue one minute-long fault test behind another on the same worker.
TEST_WORKERS ?= 3
XDIST := -n $(TEST_WORKERS) --maxschedchunk 1

test: venv static  ## PYTEST_ARGS narrows a run, e.g. PYTEST_ARGS='-m "not faults"'
	$(VENV)/bin/pytest -q $(XDIST) $(PYTEST_ARGS)

# The backend-free layer (conftest.py marks tests that touch no database, channel layer,
# trace store or broker) without Chromium, the fuzzers and the tests that start whole server
# processes (`slow`): no services needed, under a minute (README, "Tests").
test-fast: venv
	$(VENV)/bin/pytest -q -p no:xdist -m "backend_free and not browser and not fuzz and not slow"

style: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: venv
	$(VENV)/bin/mypy apps agent/simcoach_agent simcoach_site bench

lint: style types

clean:
	rm -rf $(VENV) var staticfiles static/vendor
