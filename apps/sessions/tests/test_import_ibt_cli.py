"""`simcoach-agent import FILE.ibt` (a real subprocess) against the real site on a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from apps.sessions.models import Lap, Session

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]
AGENT_DIR = Path(__file__).resolve().parents[3] / "agent"
BRISTOL = "iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt"


@pytest.fixture
def paired_home(tmp_path: Path, live_server, rig_and_token) -> Path:  # type: ignore[no-untyped-def]
    home = tmp_path / "agent"
    home.mkdir()
    rig, token = rig_and_token
    config = {"server": live_server.url, "token": token, "rig_id": rig.pk, "rig_name": rig.name}
    (home / "config.json").write_text(json.dumps(config))
    return home


def test_it_uploads_an_ibt_and_the_laps_carry_the_games_times(paired_home: Path, fixtures_dir: Path) -> None:
    env = {**os.environ, "SIMCOACH_AGENT_HOME": str(paired_home), "PYTHONPATH": str(AGENT_DIR)}
    run = subprocess.run(
        [sys.executable, "-m", "simcoach_agent", "import", str(fixtures_dir / BRISTOL), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    event = json.loads(run.stdout.strip().splitlines()[-1])
    assert (event["event"], event["created"], event["laps"]) == ("imported", True, 4)
    session = Session.objects.get(pk=event["session_id"])
    times = dict(Lap.objects.filter(session=session, time_ms__isnull=False).values_list("number", "time_ms"))
    assert times.keys() == {171, 172} and abs(times[171] - 15_226) <= 50 and abs(times[172] - 15_067) <= 50
