"""Post-session analysis benchmark: one hour of the demo car (216 000 frames at 60 Hz, 40
channels) through everything the site computes after a session, LLM excluded.

Timed steps, all in-process on numpy columns (no database, no trace store: their reads and
writes are measured by ingest.py and compare.py):
1. laps: the live lap segmentation (`LapTracker.feed`) over 600-frame batches;
2. corners: per lap, resampling by distance, the track's corner set measured on it and the
   corner measures (time through each corner, braking point, exit speed), as `lap_analyse`;
3. history: the corner history of this session and 9 earlier ones (per-session medians,
   trends in words, weakest corners, the report's history facts);
4. facts: the session's facts document (`session_facts`: corner losses against the best lap
   over up to 30 laps, tyres, brakes, fuel).
Frame generation is not timed. Usage: .venv/bin/python bench/analysis.py [--minutes 60] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]

import numpy as np  # noqa: E402

from apps.coaching.lib.facts import SessionInput, session_facts  # noqa: E402
from apps.coaching.lib.history import (  # noqa: E402
    CornerMeasure,
    SessionLaps,
    corner_history,
    corner_measures,
    history_facts,
    weakest,
)
from apps.sessions.lib.laps import CompletedLap  # noqa: E402
from apps.sessions.lib.stats import LapValue, best_lap  # noqa: E402
from apps.telemetry.lib.laps import LapTracker  # noqa: E402
from apps.traces.lib.analysis import corners_on_lap, resample_by_distance  # noqa: E402
from simcoach_agent.sources.demo import DemoCar  # noqa: E402
from simcoach_agent.tracks import SPA  # noqa: E402

HZ = 60
BATCH = 600
MAX_TRACES = 30  # as apps.coaching.reports.MAX_TRACES
# 40 channels: what the analysis reads, then others a real game sends, up to 40.
NEEDED = (
    "t", "lap", "lap_dist", "lap_time", "last_lap_time", "lap_valid", "in_pit", "sector", "speed",
    "brake", "throttle", "fuel", "gear", "rpm", "steering",
    *[f"{s}_{w}" for s in ("tyre_temp", "tyre_press", "brake_temp") for w in ("fl", "fr", "rl", "rr")],
)  # fmt: skip


def frames(minutes: float) -> dict[str, np.ndarray]:
    n = int(minutes * 60 * HZ)
    car = DemoCar(0, start_t=1.7e9, realtime=False)
    rows = []
    for frame in car.frames():
        rows.append(frame)
        if len(rows) == n:
            break
    extra = [k for k in sorted(rows[0]) if k not in NEEDED][: 40 - len(NEEDED)]
    names = [*NEEDED, *extra]
    return {k: np.array([r.get(k, np.nan) for r in rows], dtype=np.float64) for k in names}


def step_laps(cols: dict[str, np.ndarray]) -> list[CompletedLap]:
    tracker, done = LapTracker(), []
    for a in range(0, len(cols["t"]), BATCH):
        done += tracker.feed({k: v[a : a + BATCH] for k, v in cols.items()})
    return done


def lap_columns(cols: dict[str, np.ndarray], lap: CompletedLap) -> dict[str, np.ndarray]:
    t = cols["t"]
    a, b = np.searchsorted(t, lap.t_start), np.searchsorted(t, lap.t_end, side="right")
    return {k: v[a:b] for k, v in cols.items()}


def step_corners(traces: dict[int, dict[str, np.ndarray]]) -> dict[int, dict[str, CornerMeasure]]:
    out = {}
    for number, trace in traces.items():
        resampled = resample_by_distance(trace, length_m=SPA.length_m)
        corners = corners_on_lap(resampled, SPA.corners)
        stored = corner_measures(resampled, corners)
        minimum = {c.name: c.min_speed_kmh for c in corners}
        out[number] = {
            n: CornerMeasure(m["time_s"], m["brake_m"], minimum[n], m["exit_kmh"]) for n, m in stored.items()
        }
    return out


def step_history(measures: dict[int, dict[str, CornerMeasure]], green: list[int]) -> dict[str, object]:
    laps = [measures[n] for n in green]
    # Nine earlier sessions: this one's laps again stand in for them (same work per session).
    sessions = [SessionLaps(k, f"2026-12-{k:02d}", laps) for k in range(1, 11)]
    names = [c.name for c in SPA.corners]
    history = corner_history(sessions, names, laps[0])
    weakest(history)
    return history_facts(history)


def step_facts(values: list[LapValue], traces: dict[int, dict[str, np.ndarray]]) -> dict[str, object]:
    green = [v for v in values if v.green]
    best = best_lap(values)
    keep = [v.number for v in green if best is None or v.number != best.number][-(MAX_TRACES - 1) :]
    keep += [best.number] if best is not None else []
    data = SessionInput(
        track=SPA.name, car="Mercedes-AMG GT3", car_class="GT3", kind="practice", game="demo",
        date="2026-12-05", laps=values, traces={n: traces[n] for n in keep}, track_info=SPA,
        length_m=SPA.length_m,
    )  # fmt: skip
    return session_facts(data)


def run(cols: dict[str, np.ndarray]) -> dict[str, float]:
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    laps = step_laps(cols)
    times["laps"] = time.perf_counter() - t0
    values = [
        LapValue(lap.number, round(lap.time_s * 1000), valid=lap.valid, in_lap=lap.is_in_lap,
                 out_lap=lap.is_out_lap, timing=lap.timing, partial=lap.partial)
        for lap in laps
    ]  # fmt: skip
    traces = {v.number: lap_columns(cols, lap) for v, lap in zip(values, laps, strict=True) if v.green}
    t0 = time.perf_counter()
    measures = step_corners(traces)
    times["corners"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    step_history(measures, sorted(traces))
    times["history"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    step_facts(values, traces)
    times["facts"] = time.perf_counter() - t0
    times["total"] = sum(times.values())
    times["laps_found"] = len(laps)
    times["green"] = len(traces)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cols = frames(args.minutes)
    print(f"frames {len(cols['t'])}, channels {len(cols)}, load {os.getloadavg()[0]:.1f}")
    results = [run(cols) for _ in range(args.runs)]
    for key in ("laps", "corners", "history", "facts", "total"):
        values = [r[key] for r in results]
        print(f"{key:8s} median {statistics.median(values):6.3f} s  min {min(values):6.3f} s")
    print(f"laps found {results[0]['laps_found']:.0f}, green {results[0]['green']:.0f}")
    print(f"load after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
