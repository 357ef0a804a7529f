"""Re-measure the corner apexes of the curated names (simcoach_agent/corner_names.py).

Imports each real recording through the site's importer into a throwaway SQLite database and
runs the site's own corner detection on every whole lap (the corner set is made from the best
green lap; the others show how steady each apex is). Prints the game's track name (the alias
corner_names must hold), the track length and, per lap, each detected corner's apex and
slowest speed, with the way the wheel is turned at it. Mapping detections to names is a
person's job: read the output beside the track map and the sources in corner_names.py.

ACC's .ld files carry no lap markers: their one "lap" is the whole recording, its distance
integrated from where the car stood (Imola: out-lap + flying lap ending on the line;
Barcelona: one flying lap line to line), so their apexes are re-based by hand as
corner_names.py explains. iRacing's itelem_amg.ibt (Red Bull Ring) stops braking for Remus
at 1 431 m, before any whole corner: nothing there to measure.

Usage: SIMCOACH_FIXTURES=/path/to/fixtures .venv/bin/python tools/corner_apexes.py [case ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")
os.environ["SIMCOACH_VAR_DIR"] = tempfile.mkdtemp(prefix="corner-apexes-")
for name in ("DATABASE_URL", "INFLUX_URL", "TRACE_STORE", "CELERY_BROKER_URL", "REDIS_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402
import numpy as np  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from apps.coaching.services import _detect_on  # noqa: E402
from apps.sessions.lib.stats import best_lap, is_green, lap_value  # noqa: E402
from apps.sessions.models import Lap  # noqa: E402
from apps.sessions.selectors_traces import TraceUnavailable, lap_resampled  # noqa: E402
from apps.sessions.services_import import session_import  # noqa: E402
from simcoach_site.jobs import wait_idle  # noqa: E402

G61 = "garage61/Garage 61 - "
# case: (file, sidecar or None, what the import form adds)
CASES: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "road_america": ("crewchief/session_1683388042_df.csv.gz", None, {}),
    "lime_rock_chicane": ("crewchief/session_1673613558_df.csv.gz", None, {}),
    "charlotte": ("crewchief/session_1680321341_df.csv.gz", None, {}),
    "okayama": ("crewchief/session_1694266648_df.csv.gz", None, {}),
    "magny_cours": ("crewchief/session_1681021274_df.csv.gz", None, {}),
    "road_atlanta": ("garage61/sample_lap.csv.gz", None, {"track": "Road Atlanta", "car": "Mazda MX-5 Cup"}),
    "lime_rock_gp": (
        f"{G61}Master Lonn - Ray FF1600 - Lime Rock Park (Grand Prix) - 00.57.444 - 01KDQZM87N38QEV1M09J43APE5.csv",
        None,
        {"track": "Lime Rock Park (Grand Prix)", "car": "Ray FF1600"},
    ),
    "winton": (
        f"{G61}Lonn Ponn - Ray FF1600 - Winton Motor Raceway (National Circuit) - 01.26.439 - "
        "01KDAWVAEK79DMWXX8A1H9NYN4.csv",
        None,
        {"track": "Winton Motor Raceway (National Circuit)", "car": "Ray FF1600"},
    ),
    "imola": ("acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld", None, {}),
    "barcelona": (
        "acc/Barcelona-bmw_m4_gt3-3-2024.06.12-18.40.53.ld",
        "acc/Barcelona-bmw_m4_gt3-3-2024.06.12-18.40.53.ldx",
        {},
    ),
    "bristol": ("iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt", None, {}),
    "red_bull_ring": ("iracing/itelem_amg.ibt", None, {}),
}


def measure(case: str, fixtures: Path) -> None:
    path, sidecar, given = CASES[case]
    owner = get_user_model().objects.create_user(f"measure-{case}")
    ldx = (fixtures / sidecar).read_bytes() if sidecar else None
    with (fixtures / path).open("rb") as f:
        session = session_import(
            owner=owner,
            fileobj=f,
            filename=Path(path).name,
            ldx=ldx,
            kind="practice",
            track=given.get("track"),
            car=given.get("car"),
        ).session
    track = session.track
    print(f"\n== {case}: game {session.game!r} track {track.name!r} length {track.length_m} m")
    laps = list(session.laps.order_by("number"))
    best = best_lap(lap_value(lap) for lap in laps)
    for lap in laps:
        value = lap_value(lap)
        mark = "BEST" if best is not None and best.key == lap.pk else ("green" if is_green(value) else "")
        print(
            f"  lap {lap.number} {mark:5} time {lap.time_ms} timing {value.timing} partial {value.partial}"
            f" span {lap.t_end - lap.t_start:.1f} s"
        )
        if value.partial:
            continue
        corners, _ = _detect_on(lap)
        for c in corners:
            print(
                f"     {c['name']:>4} start {c['start_m']:7.0f}  apex {c['apex_m']:7.0f}  end {c['end_m']:7.0f}"
                f"  min {c['min_speed_kmh']:6.1f} km/h  turning {_turning(lap, c['apex_m'])}"
            )


def _turning(lap: Lap, apex_m: float) -> str:
    # Which way the wheel is turned around the apex: tells a left-hander from a right-hander.
    try:
        trace = lap_resampled(lap=lap, channels=["steering"])
    except TraceUnavailable:
        return "?"
    if "steering" not in trace:
        return "?"
    near = np.abs(trace["lap_dist"] - apex_m) <= 20
    mean = float(np.nanmean(trace["steering"][near])) if near.any() else float("nan")
    return "?" if not np.isfinite(mean) else f"{'right' if mean > 0 else 'left'} ({mean:+.2f})"


def main() -> None:
    fixtures = Path(os.environ.get("SIMCOACH_FIXTURES", ROOT.parent / "shared" / "fixtures"))
    call_command("migrate", verbosity=0)
    for case in sys.argv[1:] or list(CASES):
        measure(case, fixtures)
    wait_idle()


if __name__ == "__main__":
    main()
