"""Make the agent package importable when it is not installed (a plain checkout)."""

import sys
from pathlib import Path

import pytest

AGENT = Path(__file__).resolve().parents[4] / "agent"
if AGENT.is_dir() and str(AGENT) not in sys.path:
    sys.path.insert(0, str(AGENT))


@pytest.fixture(autouse=True)
def _fast_passwords() -> None:
    # The project conftest tunes Django settings for every test; these pure-Python tests
    # have no Django, so they replace it with nothing and also run under `-p no:django`.
    return None
