"""Leaderboard benchmark: one track and car with 100 000 laps, best green lap per driver.

Builds a fresh database (SQLite by default; Postgres with --database-url, which must name an
empty database this script may migrate and fill): 200 drivers in one team, all sharing by
default, each with sessions of laps on the board's track and car, 1 in 10 laps invalid,
partial, untimed or an out-lap, plus as many laps on other tracks/cars that the board must
skip. The sessions' best laps are then rebuilt (what the lap_stored hook keeps live). Then times `leaderboard()` (the selector behind /leaderboards/ and the API) for the team
and site-wide boards, N runs each after one warm-up, and prints p50/p95 in milliseconds.

Usage: .venv/bin/python bench/leaderboard.py [--laps 100000] [--runs 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")
os.environ["SIMCOACH_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-leaderboard-")
os.environ["SIMCOACH_SITE_LEADERBOARD"] = "1"
for name in ("DATABASE_URL", "INFLUX_URL", "TRACE_STORE", "CELERY_BROKER_URL", "REDIS_URL"):
    os.environ.pop(name, None)
parser = argparse.ArgumentParser()
parser.add_argument("--laps", type=int, default=100_000)
parser.add_argument("--runs", type=int, default=30)
parser.add_argument("--drivers", type=int, default=200)
parser.add_argument("--database-url", default="")
args = parser.parse_args()
if args.database_url:
    os.environ["DATABASE_URL"] = args.database_url

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.sessions.models import Car, Lap, Session, Track  # noqa: E402
from apps.teams.models import Membership, Role, SiteLeaderboardOptIn, Team  # noqa: E402
from apps.teams.selectors import LeaderboardQuery, leaderboard  # noqa: E402
from apps.teams.services import session_best_rebuild  # noqa: E402

LAPS_PER_SESSION = 50


def build(laps: int, drivers: int) -> tuple[Team, User, Track, Car]:
    rnd = random.Random(7)
    team = Team.objects.create(name="Bench")
    users = User.objects.bulk_create([User(username=f"d{i}") for i in range(drivers)])
    Membership.objects.bulk_create(
        [
            Membership(team=team, user=u, role=Role.OWNER if i == 0 else Role.DRIVER, share_by_default=True)
            for i, u in enumerate(users)
        ]
    )
    SiteLeaderboardOptIn.objects.bulk_create([SiteLeaderboardOptIn(user=u) for u in users])
    tracks = [Track.objects.create(game="acc", name=f"Track {i}") for i in range(4)]
    cars = [Car.objects.create(game="acc", name=f"Car {i}", car_class="GT3") for i in range(4)]
    now = timezone.now()
    for target, (track, car) in enumerate([(tracks[0], cars[0]), (tracks[1], cars[1])]):
        # The board's pair gets `laps` laps; a second pair as many, which the board must skip.
        n_sessions = laps // LAPS_PER_SESSION
        sessions = Session.objects.bulk_create(
            [
                Session(
                    owner=users[s % drivers],
                    game="acc",
                    track=track,
                    car=car,
                    kind="practice",
                    state="ended",
                    started_at=now - dt.timedelta(hours=s + target),
                    source="bench",
                )
                for s in range(n_sessions)
            ]
        )
        rows = []
        for session in sessions:
            for n in range(1, LAPS_PER_SESSION + 1):
                t = rnd.randint(100_000, 110_000)
                flaw = rnd.randrange(10)
                stats = (
                    {"timing": "untimed"}
                    if flaw == 1
                    else {"partial": True}
                    if flaw == 2
                    else {"timing": "game"}
                )
                rows.append(
                    Lap(
                        session=session,
                        number=n,
                        time_ms=t,
                        sector_ms=[t // 3, t // 3, t - 2 * (t // 3)],
                        valid=flaw != 3,
                        is_out_lap=flaw == 4,
                        started_at=session.started_at,
                        ended_at=session.started_at + dt.timedelta(seconds=n * 105),
                        t_start=0.0,
                        t_end=105.0,
                        stats=stats,
                    )
                )
            if len(rows) >= 20_000:
                Lap.objects.bulk_create(rows)
                rows = []
        Lap.objects.bulk_create(rows)
    return team, users[0], tracks[0], cars[0]


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    team, viewer, track, car = build(args.laps, args.drivers)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"{connection.vendor}: built {Lap.objects.count()} laps in {time.perf_counter() - t0:.0f} s")
    # bulk_create sends no lap_stored hook: the backfill (as migration 0002 does) fills SessionBest.
    t0 = time.perf_counter()
    n = session_best_rebuild()
    print(f"session bests rebuilt: {n} sessions in {time.perf_counter() - t0:.1f} s")
    for label, query in [
        ("team board", LeaderboardQuery(track_id=track.pk, car_id=car.pk, team_id=team.pk)),
        ("site board", LeaderboardQuery(track_id=track.pk, car_id=car.pk)),
        ("team board, class", LeaderboardQuery(track_id=track.pk, car_class="GT3", team_id=team.pk)),
    ]:
        board = leaderboard(user=viewer, query=query)
        times = timed(lambda q=query: leaderboard(user=viewer, query=q), args.runs)
        p50 = statistics.median(times)
        p95 = sorted(times)[int(len(times) * 0.95) - 1]
        print(f"{label}: {len(board.rows)} rows, p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(times):.1f} ms")


if __name__ == "__main__":
    main()
