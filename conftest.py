"""Project-wide fixtures: named personas and the settings every test run shares."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# Fixtures that reach the database, the channel layer, the trace store or the broker: a test
# with none of them in its closure (and no django_db mark) runs the same in both CI passes.
BACKEND_FIXTURES = frozenset(
    {"django_db_setup", "settings", "client", "async_client", "live_server", "influxd", "daphne_url"}
)


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is not None:
        _isolate_worker(int(worker.removeprefix("gw")))


def _isolate_worker(index: int) -> None:
    """Give this xdist worker its own Redis db and InfluxDB database (pytest-django already
    gives it its own test database), in the settings and in the environment that the Daphne,
    agent and Celery processes its tests start inherit. Rolled-back test databases on two
    workers hand out the same session ids: on one Redis or one InfluxDB database their groups,
    rate limits and traces would mix, and `cache.clear()` would flush the other worker's keys."""
    import importlib
    import uuid
    from urllib.parse import urlsplit

    from django.conf import settings

    if redis_url := os.environ.get("REDIS_URL"):
        assert index < 8, "Redis has 16 dbs: workers use 8-15"
        os.environ["REDIS_URL"] = urlsplit(redis_url)._replace(path=f"/{8 + index}").geturl()
    if influx_url := os.environ.get("INFLUX_URL"):
        from apps.traces.lib.influx import InfluxClient

        # new each run too: a database left by an earlier run on the same influxd holds frames
        # under the session ids this run's fresh test database hands out again
        os.environ["INFLUX_DB"] = f"{settings.INFLUX_DB}_gw{index}_{uuid.uuid4().hex[:8]}"
        InfluxClient(
            url=influx_url,
            database=os.environ["INFLUX_DB"],
            token=settings.INFLUX_TOKEN,
            username=settings.INFLUX_USERNAME,
            password=settings.INFLUX_PASSWORD,
        ).create_database()
    # The settings module turns the environment into settings (layer prefix, cache location):
    # read it again rather than repeat its rules here.
    fresh = importlib.reload(importlib.import_module("simcoach_site.settings"))
    for name in ("CHANNEL_LAYERS", "CACHES", "INFLUX_DB"):
        setattr(settings, name, getattr(fresh, name))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # CI's full-stack pass deselects these with -m "not backend_free": they already ran on
    # the embedded defaults, and no backend setting can change what they do.
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") is None and not fixtures & BACKEND_FIXTURES:
            item.add_marker(pytest.mark.backend_free)
    if "PYTEST_XDIST_WORKER" in os.environ:
        # xdist hands tests out in this order: longest first, so the short ones fill the gaps
        # at the end instead of a minute-long fault test starting last. Every worker sorts alike.
        items.sort(key=_slow_first)


def _slow_first(item: pytest.Item) -> int:
    # faults: outages on the wall clock; browser and slow: Chromium, Daphne or fresh interpreters
    if item.get_closest_marker("faults"):
        return 0
    return 1 if item.get_closest_marker("browser") or item.get_closest_marker("slow") else 2


@pytest.fixture(autouse=True)
def _fast_passwords(request: pytest.FixtureRequest) -> None:
    # Agent tests run without pytest-django (-p no:django); only Django runs need this.
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        settings.JOBS_INLINE = True


@pytest.fixture
def driver(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("driver", "driver@example.com", "driver-pass-1")


@pytest.fixture
def coach(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("coach", "coach@example.com", "coach-pass-1")


@pytest.fixture
def stranger(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("stranger", "stranger@example.com", "stranger-pass-1")


@pytest.fixture
def rig_and_token(driver):  # type: ignore[no-untyped-def]
    from apps.accounts.services import rig_create

    return rig_create(owner=driver, name="Sim rig")


@pytest.fixture(scope="session")
def influxd():  # type: ignore[no-untyped-def]
    """A real InfluxDB for the whole run (Debian's influxd on a free port)."""
    from tests.influxd import influxd_available, start_influxd

    if not influxd_available():
        pytest.fail("influxd is not installed: apt-get install -y influxdb (.ci/run does this)")
    server = start_influxd()
    yield server
    server.stop()


@pytest.fixture
def influx_store(influxd, settings):  # type: ignore[no-untyped-def]
    """Point the trace store at the test InfluxDB, in a fresh database per test."""
    import uuid

    from apps.traces.lib.influx import InfluxClient
    from apps.traces.tracestore import get_trace_store

    settings.TRACE_STORE, settings.INFLUX_URL = "influx", influxd.url
    settings.INFLUX_DB = f"t_{uuid.uuid4().hex[:12]}"
    InfluxClient(url=influxd.url, database=settings.INFLUX_DB).create_database()
    get_trace_store.cache_clear()
    yield get_trace_store()
    get_trace_store.cache_clear()


@pytest.fixture
def daphne_url(transactional_db):  # type: ignore[no-untyped-def]
    """A real Daphne serving this test's database on a free port (HTTP and WebSockets)."""
    from tests.servers import run_daphne

    with run_daphne() as url:
        yield url


@pytest.fixture(scope="session")
def fixtures_dir():  # type: ignore[no-untyped-def]
    """The real recordings (SIMCOACH_FIXTURES, default ../shared/fixtures beside the repo).

    Absent in a user's clone: the tests that need them skip, saying why. CI sets
    SIMCOACH_REQUIRE_FIXTURES=1, and there a missing folder fails the run instead.
    """
    import os
    from pathlib import Path

    default = Path(__file__).resolve().parent.parent / "shared" / "fixtures"
    path = Path(os.environ.get("SIMCOACH_FIXTURES") or default)
    if not path.is_dir():
        reason = f"real recordings not found at {path} (set SIMCOACH_FIXTURES)"
        if os.environ.get("SIMCOACH_REQUIRE_FIXTURES") == "1":
            pytest.fail(f"{reason}; SIMCOACH_REQUIRE_FIXTURES=1 requires them")
        pytest.skip(reason)
    return path


@pytest.fixture
def isolated_trace_store(settings):  # type: ignore[no-untyped-def]
    """On the influx store, a fresh InfluxDB database for this test.

    Session ids come back after a test's rollback, but InfluxDB keeps what was written, so a
    later test would read an earlier test's frames under the same id. The db store needs
    nothing: its chunks roll back with the test.
    """
    import uuid

    from apps.traces.lib.influx import InfluxClient
    from apps.traces.tracestore import get_trace_store

    if settings.TRACE_STORE != "influx":
        yield get_trace_store()
        return
    settings.INFLUX_DB = f"t_{uuid.uuid4().hex[:12]}"
    InfluxClient(
        url=settings.INFLUX_URL,
        database=settings.INFLUX_DB,
        token=settings.INFLUX_TOKEN,
        username=settings.INFLUX_USERNAME,
        password=settings.INFLUX_PASSWORD,
    ).create_database()
    get_trace_store.cache_clear()
    yield get_trace_store()
    get_trace_store.cache_clear()


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    from tests.servers import BROWSER_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture
def worker_queue(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A real Celery worker in this process on the real broker, consuming a queue of its own so
    parallel runs never meet; `.delay` sends to it (jobs are not eager while it runs)."""
    import uuid

    from celery.contrib.testing.worker import start_worker

    from simcoach_site.celery import app

    broker = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    keys = ("broker_url", "task_always_eager", "task_default_queue")
    saved = {k: app.conf[k] for k in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False  # simcoach_site.jobs sends with .delay
    app.conf.update(broker_url=broker, task_always_eager=False, task_default_queue=queue)
    try:
        with start_worker(app, queues=[queue], perform_ping_check=False, pool="solo", shutdown_timeout=30):
            yield queue
    finally:
        app.conf.update(saved)
