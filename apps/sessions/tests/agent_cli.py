"""The real agent CLI, run as a user runs it, for the import and export tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AGENT_DIR = Path(__file__).resolve().parents[3] / "agent"


def run_agent(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real agent CLI in a subprocess, with its home (config, spool) in `home`."""
    env = {**os.environ, "SIMCOACH_AGENT_HOME": str(home), "PYTHONPATH": str(AGENT_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "simcoach_agent", *args], env=env, capture_output=True, text=True, timeout=120
    )
