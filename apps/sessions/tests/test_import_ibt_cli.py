"""`simcoach-agent import FILE.ibt` (a real subprocess) against the real site on a live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.sessions.models import Lap, Session

from .agent_cli import run_agent

pytestmark = [
    pytest.mark.usefixtures("imports_run_here"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]
BRISTOL = "iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt"


def test_it_uploads_an_ibt_and_the_laps_carry_the_games_times(paired_home: Path, fixtures_dir: Path) -> None:
    run = run_agent(paired_home, "import", str(fixtures_dir / BRISTOL), "--json")
    assert run.returncode == 0, run.stderr
    event = json.loads(run.stdout.strip().splitlines()[-1])
    assert (event["event"], event["created"], event["laps"]) == ("imported", True, 4)
    session = Session.objects.get(pk=event["session_id"])
    times = dict(Lap.objects.filter(session=session, time_ms__isnull=False).values_list("number", "time_ms"))
    assert times.keys() == {171, 172} and abs(times[171] - 15_226) <= 50 and abs(times[172] - 15_067) <= 50
