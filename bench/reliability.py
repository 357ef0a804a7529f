"""Render bench/reliability.json (written by tests/faults and tests/e2e/test_agent_no_loss.py)
as the *Reliability* table of bench/RESULTS.md.

Usage: .venv/bin/python bench/reliability.py [bench/reliability.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLUMNS = ("fault", "frames sent", "frames stored", "duplicates", "laps (s)", "time to recover (s)", "notes")


def row(r: dict[str, Any]) -> list[str]:
    laps = " / ".join(f"{ms / 1000:.3f}" for ms in r.get("laps", []))
    recover = "—" if r.get("recover_s") is None else f"{r['recover_s']:.1f}"
    notes = []
    if "spool_peak_frames" in r:
        notes.append(f"spool peak {r['spool_peak_frames']} frames")
    if "same_server_viewer_frames_during_outage" in r:
        notes.append(
            f"a viewer on the rig's server got {r['same_server_viewer_frames_during_outage']} frames during"
            f" the outage, one on another server {r['viewer_frames_during_outage']}"
        )
    elif "viewer_frames_during_outage" in r:
        notes.append(f"viewer got {r['viewer_frames_during_outage']} frames during the outage")
    if r.get("sessions", 1) != 1:
        notes.append(f"{r['sessions']} sessions")
    if "connects" in r:
        notes.append(f"{r['connects']} connections in all")
    cells = (
        r["fault"],
        r["frames_sent"],
        r["frames_stored"],
        r["duplicates"],
        laps,
        recover,
        "; ".join(notes),
    )
    return [str(c) for c in cells]


def table(data: dict[str, dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(r)) + " |" for _, r in sorted(data.items())]
    return "\n".join(lines)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "reliability.json"
    print(table(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
