"""`simcoach-agent import` (a real subprocess) against the real site on a live server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from apps.sessions.models import Session
from apps.sessions.tests.import_cases import CASES, IMOLA

from .agent_cli import run_agent

pytestmark = [
    pytest.mark.usefixtures("imports_run_here"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]


def test_it_uploads_files_with_the_rig_token_and_shows_progress(
    paired_home: Path, fixtures_dir: Path, driver
) -> None:
    ld, csv = fixtures_dir / IMOLA, fixtures_dir / CASES["lime_rock"].path
    run = run_agent(paired_home, "import", str(ld), str(csv), "--kind", "practice")
    assert run.returncode == 0, run.stderr
    sessions = list(Session.objects.order_by("pk"))
    assert [s.owner for s in sessions] == [driver, driver] and sessions[0].rig is not None
    assert f"{ld.name}: uploaded 100% of 3 MB" in run.stdout  # progress, one line a quarter when piped
    assert f"{ld.name}: imported as session {sessions[0].pk} (1 lap)" in run.stdout
    assert f"{csv.name}: imported as session {sessions[1].pk} (17 laps)" in run.stdout
    assert f"/sessions/{sessions[1].pk}/" in run.stdout


def test_it_prints_json_lines_and_reports_duplicates(paired_home: Path, fixtures_dir: Path) -> None:
    path = fixtures_dir / CASES["road_america_lap"].path
    first = run_agent(paired_home, "import", str(path), "--json")
    again = run_agent(paired_home, "import", str(path), "--json")
    a, b = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (first, again))
    assert (a["event"], a["created"], a["laps"]) == ("imported", True, 1)
    assert (b["session_id"], b["created"]) == (a["session_id"], False)
    assert Session.objects.count() == 1


def test_it_names_a_bad_file_in_one_line_and_goes_on(
    paired_home: Path, fixtures_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.ld"
    bad.write_bytes((fixtures_dir / IMOLA).read_bytes()[:5000])
    good = fixtures_dir / CASES["road_america_lap"].path
    run = run_agent(paired_home, "import", str(bad), str(good), "--kind", "race")
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("error: broken.ld: MoTeC .ld")
    assert Session.objects.count() == 1  # the good one went in


def test_it_says_when_the_token_is_rejected(paired_home: Path, fixtures_dir: Path, rig_and_token) -> None:
    from apps.accounts.services import rig_revoke

    rig_revoke(rig=rig_and_token[0])
    run = run_agent(paired_home, "import", str(fixtures_dir / CASES["road_america_lap"].path))
    assert run.returncode == 3 and "run 'simcoach-agent pair' again" in run.stderr
