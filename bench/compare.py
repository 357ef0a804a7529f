"""Lap compare benchmark: server time for a two-lap comparison on the `db` and `influx` stores.

For each trace store, streams a demo session (out-lap + laps) through the real ingest service
into a fresh SQLite database, analyses the laps, then times N requests of
`GET /api/compare/?laps=a,b` through Django's test client (routing, auth, trace reads,
resampling, corner table, JSON) and, separately, the `lap_compare` selector alone.
"cold" clears the cache of resampled laps before each run (both laps read from the store);
"warm" is the page's second ask (its charts' API call) or a driver retrying a pair.
The influx store runs against a throwaway Debian influxd (tests/influxd.py).

Usage: .venv/bin/python bench/compare.py [--runs 50] [--laps 3] [--stores db,influx]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")
os.environ["SIMCOACH_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-compare-")
for name in ("DATABASE_URL", "INFLUX_URL", "TRACE_STORE", "CELERY_BROKER_URL", "REDIS_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from apps.coaching.services import lap_analyse  # noqa: E402
from apps.sessions.models import Lap  # noqa: E402
from apps.sessions.selectors_traces import lap_compare  # noqa: E402
from apps.sessions.tests.factories import session_with_demo_laps  # noqa: E402
from apps.traces.lib.influx import InfluxClient  # noqa: E402
from apps.traces.tracestore import get_trace_store  # noqa: E402
from simcoach_site.jobs import wait_idle  # noqa: E402


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm caches and imports; not counted
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def use_store(store: str, influx_url: str | None) -> None:
    settings.TRACE_STORE = store
    if store == "influx":
        assert influx_url
        settings.INFLUX_URL, settings.INFLUX_DB = influx_url, f"bench_{uuid.uuid4().hex[:8]}"
        InfluxClient(url=influx_url, database=settings.INFLUX_DB).create_database()
    get_trace_store.cache_clear()


def bench_store(store: str, runs: int, laps: int, influx_url: str | None) -> dict[str, object]:
    use_store(store, influx_url)
    user = get_user_model().objects.create_user(f"bench-{store}-{uuid.uuid4().hex[:6]}", password="x")
    t0 = time.perf_counter()
    session = session_with_demo_laps(user, laps=laps, start_t=1.7e9 + 1e5 * len(store))
    ingest_s = time.perf_counter() - t0
    ids = list(Lap.objects.filter(session=session, is_out_lap=False).values_list("pk", flat=True)[:2])
    wait_idle(120)  # the background analysis and report jobs would compete for the CPU
    for pk in Lap.objects.filter(session=session).values_list("pk", flat=True):
        lap_analyse(lap_id=pk)
    client = Client()
    client.force_login(user)
    url = f"/api/compare/?laps={ids[0]},{ids[1]}"

    def request() -> None:
        response = client.get(url)
        assert response.status_code == 200, response.content[:200]

    def cold() -> None:
        cache.clear()  # every run reads both laps from the trace store
        request()

    objs = [Lap.objects.select_related("session__track", "session__car").get(pk=pk) for pk in ids]
    cold_ms = timed(cold, runs)

    def selector_cold() -> None:
        cache.clear()
        lap_compare(laps=objs)

    selector_ms = timed(selector_cold, runs)
    warm_ms = timed(request, runs)
    return {
        "store": store,
        "ingest_s": ingest_s,
        "api": cold_ms,
        "selector": selector_ms,
        "warm": warm_ms,
        "bytes": len(client.get(url).content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--laps", type=int, default=3, help="laps per session, the out-lap included")
    parser.add_argument("--stores", default="db,influx")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    stores = args.stores.split(",")
    influxd = None
    if "influx" in stores:
        from tests.influxd import start_influxd

        influxd = start_influxd()
    try:
        rows = [bench_store(s, args.runs, args.laps, influxd.url if influxd else None) for s in stores]
    finally:
        if influxd is not None:
            influxd.stop()
    print(f"\nTwo-lap compare (Spa, 7 km, 60 Hz demo laps), {args.runs} runs each, ms:\n")
    print(
        "| store | API cold p50 | API cold p95 | selector cold p50 | selector cold p95 | API warm p50 | API warm p95 | bytes |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = []
        for key in ("api", "selector", "warm"):
            values = r[key]
            assert isinstance(values, list)
            cells += [f"{statistics.median(values):.1f}", f"{pct(values, 95):.1f}"]
        print(f"| {r['store']} | {' | '.join(cells)} | {r['bytes']:,} |")


if __name__ == "__main__":
    main()
