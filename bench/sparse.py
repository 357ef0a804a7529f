"""How much of a trace the InfluxDB store writes: values and bytes a frame, whole rows vs held values left out.

Runs the store's own line-protocol writer (`InfluxTraceStore._lines`) over the demo car (every
channel, through the wire, so at wire resolution) and over the real logs in ../shared/fixtures
(an ACC MoTeC log and a Crew Chief session, as the importers read them, rounded to the wire's
resolution), in writes of 0.75 s as a store tick carries them at 200 rigs. No server needed.

Usage: .venv/bin/python bench/sparse.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "simcoach_site.settings")
FIXTURES = Path(os.environ.get("SIMCOACH_FIXTURES") or ROOT.parent / "shared" / "fixtures")
LOGS = ["acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld", "crewchief/session_1681021274_df.csv.gz"]
WRITE_S = 0.75


def demo_columns(seconds: int = 120) -> dict[str, np.ndarray]:
    from apps.telemetry.lib.uplink import decode_frames
    from simcoach_agent import wire
    from simcoach_agent.sources.demo import DemoCar
    from simcoach_agent.telemetry import clean_frame

    frames = []
    for frame in DemoCar(seed=1, start_t=1.7e9, realtime=False).frames():
        if (cleaned := clean_frame(frame)) is not None:
            frames.append(cleaned)
        if len(frames) >= 60 * seconds:
            break
    batches = [wire.encode_batch(i, frames[i : i + 6]) for i in range(0, len(frames), 6)]
    parts = [decode_frames(wire.decode_message(b))[2] for b in batches]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def log_columns(path: Path) -> dict[str, np.ndarray]:
    from apps.sessions.lib.imports import import_session
    from simcoach_agent.channels import BY_NAME

    with path.open("rb") as f:
        channels = import_session(f).channels
    n = len(channels["t"])
    out = {
        k: np.rint(np.asarray(v, float) / BY_NAME[k].resolution) * BY_NAME[k].resolution
        for k, v in channels.items()
    }
    out["t"] = 1.7e9 + np.asarray(channels["t"], float)
    out.setdefault("lap", np.ones(n))
    return {k: v for k, v in out.items() if np.isfinite(v).mean() > 0.5}


def measure(name: str, cols: dict[str, np.ndarray]) -> None:
    from apps.traces.lib.influx import lines
    from apps.traces.tracestore import _DECIMALS, MEASUREMENT, InfluxTraceStore, TraceWrite

    n, hz = len(cols["t"]), 1 / float(np.median(np.diff(cols["t"])))
    step = max(1, round(WRITE_S * hz))
    sparse = [
        InfluxTraceStore._lines([TraceWrite(1, 1, i, {k: v[i : i + step] for k, v in cols.items()})])
        for i in range(0, n, step)
    ]
    fields = {k: v for k, v in cols.items() if k not in ("t", "lap")} | {"seq": np.arange(n)}
    tags = {"user": np.ones(n), "session": np.ones(n), "lap": cols["lap"]}
    whole = lines(
        MEASUREMENT, tags, fields, {k: _DECIMALS.get(k, 6) for k in fields}, np.rint(cols["t"] * 1000)
    )
    kept = sum(line.split(b" ")[1].count(b"=") for body in sparse for line in body.split(b"\n"))
    print(
        f"{name}: {n} frames at {hz:.0f} Hz, {len(fields) - 1} channels + seq; values a frame "
        f"{len(fields)} -> {kept / n:.1f} ({kept / n / len(fields):.0%}), bytes a frame "
        f"{len(whole) / n:.0f} -> {sum(map(len, sparse)) / n:.0f}"
    )


def main() -> None:
    import django

    django.setup()
    measure("demo car, 2 min", demo_columns())
    for log in LOGS:
        measure(log, log_columns(FIXTURES / log))


if __name__ == "__main__":
    main()
