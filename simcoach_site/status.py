"""GET /api/status: is every backing service of this process reachable? (for monitors and probes)

No authentication and no details a stranger could use: each check answers ok/fail plus the name
of the backend and, on failure, the exception class. The full error goes to the log. The checks
run concurrently, each bounded by TIMEOUT_S, so a dead service cannot hang the probe.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger(__name__)
TIMEOUT_S = 3.0
Check = dict[str, Any]


def database_check() -> Check:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"backend": connection.vendor}


async def channel_layer_check() -> Check:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    name = await layer.new_channel("status.")
    nonce = uuid.uuid4().hex
    try:
        await layer.send(name, {"type": "status.ping", "nonce": nonce})
        message = await layer.receive(name)
    finally:
        await _forget_channel(layer, name)
    if message.get("nonce") != nonce:
        raise RuntimeError("channel layer returned someone else's message")
    return {"backend": type(layer).__name__}


async def _forget_channel(layer: Any, name: str) -> None:
    # Channel layers have no "delete channel" call: the pub/sub layer unsubscribes from Redis
    # when a receive is cancelled (as when a consumer exits). Without this every probe would
    # leave one subscription behind for the life of the process.
    waiter = asyncio.ensure_future(layer.receive(name))
    await asyncio.sleep(0)
    waiter.cancel()
    try:
        await waiter
    except (asyncio.CancelledError, Exception):  # noqa: S110 - cleanup only, the check already answered
        pass


def trace_store_check() -> Check:
    from apps.traces.models import TraceChunk
    from apps.traces.tracestore import get_trace_store

    store = get_trace_store()
    if store.name == "influx":
        client = store.client  # type: ignore[attr-defined]
        if not client.ping():
            raise ConnectionError("InfluxDB did not answer /ping")
    else:
        TraceChunk.objects.exists()
    return {"backend": store.name}


def broker_check() -> Check:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"backend": "eager"}
    from simcoach_site.celery import app

    with app.connection_for_write(url=settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT_S) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=TIMEOUT_S)
        return {"backend": conn.transport_cls}


CHECKS: dict[str, Callable[[], Awaitable[Check]]] = {
    # Blocking I/O (ORM, urllib, kombu) runs in threads, never on the event loop; ORM work in
    # the one thread Django keeps connections for (closed at the end of the request).
    "database": sync_to_async(database_check),
    "channel_layer": channel_layer_check,
    "trace_store": sync_to_async(trace_store_check),
    "broker": sync_to_async(broker_check, thread_sensitive=False),
}


async def _run(name: str, check: Callable[[], Awaitable[Check]]) -> Check:
    try:
        result = await asyncio.wait_for(check(), TIMEOUT_S)
    except Exception as exc:
        log.warning("status check %s failed: %r", name, exc)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, **result}


async def status_checks() -> dict[str, Check]:
    results = await asyncio.gather(*(_run(name, check) for name, check in CHECKS.items()))
    return dict(zip(CHECKS, results, strict=True))


@never_cache
async def status_view(request: HttpRequest) -> JsonResponse:
    """Is every backing service reachable? ok/fail per check, 503 if any fails (no login)."""
    checks = await status_checks()
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503
    )
