"""`.ibt` import cost: wall time, rows per second and peak Python memory for each file.

Reads each file with the importer alone (no database, no trace store): what the import page
and `POST /api/imports/` pay before storing. The machine is shared, so the 1-minute load is
printed with each row.

Usage: .venv/bin/python bench/ibt_import.py FILE.ibt... [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]

from apps.sessions.lib.imports.ibt import import_ibt  # noqa: E402


def measure(path: Path, repeat: int) -> dict[str, object]:
    times = []
    for _ in range(repeat):
        with path.open("rb") as f:
            start = time.perf_counter()
            session = import_ibt(f)
            times.append(time.perf_counter() - start)
    tracemalloc.start()
    with path.open("rb") as f:
        import_ibt(f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rows = len(session.channels["t"])
    best = min(times)
    return {
        "file": path.name,
        "mb": round(path.stat().st_size / 1e6, 2),
        "rows": rows,
        "best_ms": round(best * 1000, 1),
        "median_ms": round(sorted(times)[len(times) // 2] * 1000, 1),
        "rows_per_s": round(rows / best),
        "peak_python_mb": round(peak / 1e6, 1),
        "load_1m": float(Path("/proc/loadavg").read_text().split()[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    opts = ap.parse_args()
    for path in opts.files:
        print(json.dumps(measure(path, opts.repeat)))


if __name__ == "__main__":
    main()
