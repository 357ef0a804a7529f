"""`simcoach-agent export` (a real subprocess) against the real site on a live server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rest_framework.authtoken.models import Token

from apps.sessions.models import Session
from apps.sessions.services_import import session_import

from .factories import session_with_demo_laps

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("isolated_trace_store")]
AGENT_DIR = Path(__file__).resolve().parents[3] / "agent"


def _agent(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SIMCOACH_AGENT_HOME": str(home), "PYTHONPATH": str(AGENT_DIR)}
    return subprocess.run(
        [sys.executable, "-m", "simcoach_agent", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def paired_home(tmp_path: Path, live_server, rig_and_token) -> Path:  # type: ignore[no-untyped-def]
    home = tmp_path / "agent"
    home.mkdir()
    rig, token = rig_and_token
    config = {"server": live_server.url, "token": token, "rig_id": rig.pk, "rig_name": rig.name}
    (home / "config.json").write_text(json.dumps(config))
    return home


@pytest.fixture
def session(driver) -> Session:  # type: ignore[no-untyped-def]
    return session_with_demo_laps(driver, laps=3)


def test_it_downloads_the_ld_and_its_ldx_that_import_back(
    paired_home: Path, session: Session, tmp_path: Path, driver
) -> None:
    out = tmp_path / "spa.ld"
    run = _agent(paired_home, "export", str(session.pk), "--format", "ld", "-o", str(out))
    assert run.returncode == 0, run.stderr
    assert f"saved {out} (" in run.stdout and f"saved {out.with_suffix('.ldx')} (" in run.stdout
    assert not list(tmp_path.glob("*.part"))
    back = session_import(
        owner=driver,
        fileobj=io.BytesIO(out.read_bytes()),
        filename=out.name,
        ldx=out.with_suffix(".ldx").read_bytes(),
    ).session
    laps = list(session.laps.order_by("number"))
    again = list(back.laps.order_by("number"))
    assert [(x.number, x.is_out_lap) for x in again] == [(x.number, x.is_out_lap) for x in laps]
    for old, new in zip(laps, again, strict=True):
        assert (old.time_ms is None) == (new.time_ms is None)
        assert abs((new.time_ms or 0) - (old.time_ms or 0)) <= 10


def test_it_downloads_csv_and_parquet_with_an_api_token(
    tmp_path: Path, live_server, session: Session, driver
) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "unpaired"
    home.mkdir()
    key = Token.objects.create(user=driver).key
    creds = ("--server", live_server.url, "--token", key)
    csv_run = _agent(home, "export", str(session.pk), "-f", "csv", "-o", str(tmp_path / "s.csv"), *creds)
    assert csv_run.returncode == 0, csv_run.stderr
    header = (tmp_path / "s.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["TIME [s]", "LAP"] and "SPEED [m/s]" in header
    pq_run = _agent(
        home, "--json", "export", str(session.pk), "-f", "parquet", "-o", str(tmp_path / "s.parquet"), *creds
    )
    assert pq_run.returncode == 0, pq_run.stderr
    event = json.loads(pq_run.stdout.strip().splitlines()[-1])
    assert (event["event"], event["id"], event["format"]) == ("exported", session.pk, "parquet")
    table = pq.read_table(tmp_path / "s.parquet")
    assert event["bytes"] == (tmp_path / "s.parquet").stat().st_size
    assert table.column_names == [h.split(" [")[0] for h in header]


def test_it_says_when_the_session_is_not_yours(paired_home: Path, tmp_path: Path, stranger) -> None:  # type: ignore[no-untyped-def]
    theirs = session_with_demo_laps(stranger, laps=2)
    out = tmp_path / "theirs.csv"
    run = _agent(paired_home, "export", str(theirs.pk), "-f", "csv", "-o", str(out))
    assert run.returncode == 1
    assert "not found" in run.stderr.strip().splitlines()[-1]
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_it_says_when_the_token_is_rejected(paired_home: Path, session: Session, rig_and_token) -> None:
    from apps.accounts.services import rig_revoke

    rig_revoke(rig=rig_and_token[0])
    run = _agent(paired_home, "export", str(session.pk), "-f", "csv", "-o", str(paired_home / "x.csv"))
    assert run.returncode == 3
    assert "pair" in run.stderr


def test_it_refuses_a_bad_id_and_format_before_calling_the_server(paired_home: Path) -> None:
    assert _agent(paired_home, "export", "twelve").returncode == 2
    bad_format = _agent(paired_home, "export", "12", "--format", "xlsx")
    assert bad_format.returncode == 2 and "invalid choice" in bad_format.stderr


def test_it_names_a_missing_output_directory(paired_home: Path, session: Session, tmp_path: Path) -> None:
    run = _agent(paired_home, "export", str(session.pk), "-f", "csv", "-o", str(tmp_path / "nope" / "s.csv"))
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: no such directory: {tmp_path / 'nope'}"
