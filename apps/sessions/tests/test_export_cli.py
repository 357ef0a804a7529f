"""`simcoach-agent export` (a real subprocess) against the real site on a live server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rest_framework.authtoken.models import Token

from apps.sessions.models import Session
from apps.sessions.services_import import session_import

from .agent_cli import run_agent
from .factories import session_with_demo_laps

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("isolated_trace_store")]


@pytest.fixture
def session(driver) -> Session:  # type: ignore[no-untyped-def]
    return session_with_demo_laps(driver, laps=3)


def test_it_downloads_the_ld_and_its_ldx_that_import_back(
    paired_home: Path, session: Session, tmp_path: Path, driver
) -> None:
    out = tmp_path / "spa.ld"
    run = run_agent(paired_home, "export", str(session.pk), "--format", "ld", "-o", str(out))
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
    csv_run = run_agent(home, "export", str(session.pk), "-f", "csv", "-o", str(tmp_path / "s.csv"), *creds)
    assert csv_run.returncode == 0, csv_run.stderr
    header = (tmp_path / "s.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["TIME [s]", "LAP"] and "SPEED [km/h]" in header  # the token user's units
    pq_run = run_agent(
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
    run = run_agent(paired_home, "export", str(theirs.pk), "-f", "csv", "-o", str(out))
    assert run.returncode == 1
    assert "not found" in run.stderr.strip().splitlines()[-1]
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_it_says_when_the_token_is_rejected(paired_home: Path, session: Session, rig_and_token) -> None:
    from apps.accounts.services import rig_revoke

    rig_revoke(rig=rig_and_token[0])
    run = run_agent(paired_home, "export", str(session.pk), "-f", "csv", "-o", str(paired_home / "x.csv"))
    assert run.returncode == 3
    assert "pair" in run.stderr


def test_it_refuses_a_bad_id_and_format_before_calling_the_server(paired_home: Path) -> None:
    assert run_agent(paired_home, "export", "twelve").returncode == 2
    bad_format = run_agent(paired_home, "export", "12", "--format", "xlsx")
    assert bad_format.returncode == 2 and "invalid choice" in bad_format.stderr


def test_it_names_a_missing_output_directory(paired_home: Path, session: Session, tmp_path: Path) -> None:
    run = run_agent(
        paired_home, "export", str(session.pk), "-f", "csv", "-o", str(tmp_path / "nope" / "s.csv")
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == f"error: no such directory: {tmp_path / 'nope'}"
