"""GET /api/status against real services: the embedded defaults, Redis, InfluxDB, and dead ones."""

from __future__ import annotations

import socket
import uuid

import pytest
import redis
from django.test import Client

from apps.traces.tracestore import get_trace_store
from simcoach_site import status

REDIS = "redis://127.0.0.1:6379"
pytestmark = pytest.mark.django_db


def dead_url(scheme: str) -> str:
    # A port nothing listens on: bound, then released.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


@pytest.fixture
def embedded(settings):  # type: ignore[no-untyped-def]
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL = True, ""
    settings.TRACE_STORE = "db"
    get_trace_store.cache_clear()
    yield settings
    get_trace_store.cache_clear()


@pytest.fixture
def redis_stack(embedded):  # type: ignore[no-untyped-def]
    settings = embedded
    # A prefix of this test's own: Redis pub/sub channels are server-wide (not per database),
    # and parallel test workers probe the same server at the same moment.
    settings.STATUS_TEST_PREFIX = f"asgi{uuid.uuid4().hex[:8]}"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [f"{REDIS}/3"], "prefix": settings.STATUS_TEST_PREFIX},
        }
    }
    settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL = False, f"{REDIS}/4"
    return settings


def get_status(client: Client) -> tuple[int, dict]:
    response = client.get("/api/status")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


def test_it_is_healthy_on_the_embedded_defaults(client: Client, embedded) -> None:
    code, body = get_status(client)
    assert code == 200
    assert body["status"] == "ok"
    checks = body["checks"]
    assert checks["database"]["ok"] is True
    assert checks["channel_layer"] == {"ok": True, "backend": "InMemoryChannelLayer"}
    assert checks["trace_store"] == {"ok": True, "backend": "db"}
    assert checks["broker"] == {"ok": True, "backend": "eager"}


def test_it_needs_no_login_and_answers_with_a_trailing_slash(client: Client, embedded) -> None:
    assert client.get("/api/status/").status_code == 200


def test_it_checks_redis_layer_and_broker(client: Client, redis_stack) -> None:
    code, body = get_status(client)
    assert code == 200, body
    assert body["checks"]["channel_layer"] == {"ok": True, "backend": "RedisPubSubChannelLayer"}
    assert body["checks"]["broker"] == {"ok": True, "backend": "redis"}


async def test_it_leaves_no_subscription_behind(redis_stack) -> None:
    # One event loop for all probes, as in a Daphne process: a subscription left per probe
    # would pile up for the life of the process.
    for _ in range(3):
        assert (await status.channel_layer_check())["backend"] == "RedisPubSubChannelLayer"
    # Channels this layer's probes named (its own prefix, then "status."): the server is
    # shared, and other processes probe too, under their own prefixes.
    prefix = redis_stack.STATUS_TEST_PREFIX
    assert redis.Redis.from_url(f"{REDIS}/3").pubsub_channels(f"{prefix}status.*") == []


def test_it_reports_a_dead_broker_with_503(client: Client, embedded) -> None:
    embedded.CELERY_TASK_ALWAYS_EAGER, embedded.CELERY_BROKER_URL = False, dead_url("redis")
    code, body = get_status(client)
    assert code == 503
    assert body["status"] == "fail"
    assert body["checks"]["broker"] == {"ok": False, "error": "OperationalError"}
    assert body["checks"]["database"]["ok"] is True


def test_it_reports_a_dead_channel_layer_with_503(client: Client, embedded) -> None:
    embedded.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [dead_url("redis")]},
        }
    }
    code, body = get_status(client)
    assert code == 503
    assert body["checks"]["channel_layer"]["ok"] is False
    assert body["checks"]["trace_store"]["ok"] is True


@pytest.mark.influx
def test_it_pings_influxdb(client: Client, embedded, influx_store) -> None:
    code, body = get_status(client)
    assert code == 200, body
    assert body["checks"]["trace_store"] == {"ok": True, "backend": "influx"}


def test_it_reports_an_unreachable_influxdb_with_503(client: Client, embedded) -> None:
    embedded.TRACE_STORE, embedded.INFLUX_URL = "influx", dead_url("http")
    get_trace_store.cache_clear()
    code, body = get_status(client)
    assert code == 503
    assert body["checks"]["trace_store"] == {"ok": False, "error": "ConnectionError"}


def test_it_tells_strangers_no_connection_details(client: Client, embedded) -> None:
    embedded.CELERY_TASK_ALWAYS_EAGER, embedded.CELERY_BROKER_URL = False, dead_url("redis")
    response = client.get("/api/status")
    assert b"127.0.0.1" not in response.content
