"""What the cue board costs the agent's producer thread: microseconds a frame, over demo laps.

The board is asked at every frame the producer reads (60 Hz); this times `CueBoard.update`
over five laps of the demo car's frames with 0, 1, 10 and 30 cues pinned (30 is the server's
cap a session), and counts the cues said, as a check that the run did the real work.

Usage: .venv/bin/python bench/cues.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "agent")]


def frames(laps: int = 5) -> list[tuple[int, float, float, bool]]:
    from simcoach_agent.sources.demo import DemoCar

    car = DemoCar(seed=1, realtime=False, laps=laps, noise=False)
    return [(int(f["lap"]), f["lap_dist"], f["speed"], bool(f.get("in_pit"))) for f in car.frames()]


def run(rows: list[tuple[int, float, float, bool]], n_cues: int) -> tuple[float, int]:
    from simcoach_agent.cues import Cue, CueBoard

    board = CueBoard(7004.0)
    for i in range(n_cues):
        board.put(Cue(i + 1, 100.0 + i * 6900.0 / max(n_cues, 1), f"cue {i}"))
    said = 0
    start = time.perf_counter()
    for lap, dist, speed, pit in rows:
        if board:  # what the CLI checks first
            said += len(board.update(lap, dist, speed, pit))
    return (time.perf_counter() - start) / len(rows) * 1e6, said


def main() -> None:
    rows = frames()
    print(f"{len(rows)} frames ({len(rows) / 60:.0f} s of driving)")
    for n in (0, 1, 10, 30):
        best = min(run(rows, n)[0] for _ in range(3))
        said = run(rows, n)[1]
        print(
            f"{n:>2} cues: {best:6.2f} µs a frame ({best * 60 / 1e4:.4f} % of a core at 60 Hz), said {said}"
        )


if __name__ == "__main__":
    main()
