"""Write the small per-game recordings in data/recordings/ from the synthetic drive.

Run from the repository root: ``.venv/bin/python agent/tests/make_recordings.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth import GAMES  # noqa: E402

from simcoach_agent.sources.recording import write_recording  # noqa: E402

OUT = HERE / "data" / "recordings"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (game, polls) in GAMES.items():
        path = OUT / f"{name}.rec.gz"
        records = write_recording(path, game, polls(), decoder=name)
        print(f"{path.name}: {records} records, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
