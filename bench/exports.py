"""Session export cost: one hour of 60 Hz telemetry (every channel) as CSV, Parquet and MoTeC .ld.

`python bench/exports.py [--minutes 60]` (PYTHONPATH=.:agent). Pure library calls on
synthetic columns (no database, no trace store), so it measures what the request spends
building the file; times are wall-clock on a shared machine, sizes are exact.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from datetime import datetime

import numpy as np

from apps.sessions.lib.exports import export_table, lap_motec_ld, table_csv, table_parquet
from simcoach_agent.channels import CHANNELS

RATE_HZ = 60


def columns(minutes: float) -> dict[str, np.ndarray]:
    n = int(minutes * 60 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    rng = np.random.default_rng(0)
    out: dict[str, np.ndarray] = {"t": t, "lap": (t // 120).astype(np.int64) + 1}
    for c in CHANNELS:
        if c.name in out:
            continue
        if c.kind != "f":
            out[c.name] = rng.integers(0, 6, n)
        else:  # smooth-ish signals within the channel's range, at its wire resolution
            wave = (np.sin(t / 7 + rng.random() * 6) + 1) / 2
            out[c.name] = np.round(c.lo + wave * min(c.hi - c.lo, 1e4), 3)
    return out


def timed(what: str, fn) -> object:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn()
    size = sum(len(x) for x in result) if not isinstance(result, bytes | str) else len(result)
    print(f"{what:8} {time.perf_counter() - start:6.2f} s  {size / 1e6:7.1f} MB")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    cols = columns(args.minutes)
    print(
        f"{args.minutes:g} min at {RATE_HZ} Hz: {len(cols['t'])} samples x {len(cols)} columns, load {os.getloadavg()[0]:.2f}"
    )
    table = export_table(cols)
    timed("csv", lambda: [line.encode() for line in table_csv(table)])
    timed("parquet", lambda: table_parquet(table, {"laps": []}))
    ld_cols = {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}
    timed(
        "ld",
        lambda: lap_motec_ld(
            ld_cols,
            driver="",
            vehicle="Car",
            venue="Track",
            event="Race",
            started_at=datetime(2026, 1, 1),
            rate_hz=RATE_HZ,
        ),
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
