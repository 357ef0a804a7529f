"""Whole-session and lap exports (CSV, Parquet, MoTeC .ld + .ldx) through the site and the API.

A session exported as .ld + .ldx and imported back by our own importer has the same laps;
CSV and Parquet read back with the csv module and pyarrow hold the stored trace in ACC's
units; every export is owner-only.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from apps.sessions.downloads import session_download
from apps.sessions.lib.imports import parse_ldx
from apps.sessions.models import Lap, Session
from apps.sessions.services_import import session_import
from apps.sessions.tests.import_cases import CASES
from apps.traces.tracestore import get_trace_store

from .factories import session_with_demo_laps

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_trace_store")]
FORMATS = ("csv", "parquet", "ld", "ldx")


def _import_fixture(owner, fixtures_dir: Path, case: str) -> Session:  # type: ignore[no-untyped-def]
    path = fixtures_dir / CASES[case].path
    with path.open("rb") as f:
        return session_import(owner=owner, fileobj=f, filename=path.name).session


def _round_trip(client: Client, session: Session) -> Session:
    """Export the session's .ld + .ldx through the site and import them back, no form fields."""
    ld = client.get(f"/sessions/{session.pk}/export.ld")
    ldx = client.get(f"/sessions/{session.pk}/export.ldx")
    assert ld.status_code == ldx.status_code == 200, (ld.status_code, ldx.status_code)
    outcome = session_import(
        owner=session.owner, fileobj=io.BytesIO(ld.content), filename="session.ld", ldx=ldx.content
    )
    assert outcome.created
    return outcome.session


def _laps(session: Session) -> list[Lap]:
    return list(session.laps.order_by("number"))


def _assert_same_laps(back: Session, source: Session) -> None:
    assert (back.game, back.kind, back.track.name, back.car.name) == (
        source.game,
        source.kind,
        source.track.name,
        source.car.name,
    )
    before, after = _laps(source), _laps(back)
    assert [lap.number for lap in after] == [lap.number for lap in before]
    for old, new in zip(before, after, strict=True):
        assert (new.time_ms is None) == (old.time_ms is None), (old.number, old.time_ms, new.time_ms)
        if old.time_ms is not None:
            assert abs((new.time_ms or 0) - old.time_ms) <= 10, (old.number, old.time_ms, new.time_ms)
        assert new.is_out_lap == old.is_out_lap, old.number
        assert new.valid == old.valid, (old.number, old.stats, new.stats)


def test_a_demo_session_comes_back_with_the_same_laps(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=4)
    assert _laps(session)[0].is_out_lap and all(lap.time_ms for lap in _laps(session)[1:])
    client.force_login(driver)
    _assert_same_laps(_round_trip(client, session), session)


@pytest.mark.fixtures
def test_untimed_laps_inside_a_session_stay_untimed(client: Client, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    source = _import_fixture(driver, fixtures_dir, "magny_cours")
    laps = _laps(source)
    untimed = [lap.number for lap in laps if lap.time_ms is None]
    # iRacing gave the pit lap 2 no time: between two timed laps, where beacons alone would time it
    assert 2 in untimed and laps[0].number < 2 < laps[-1].number
    client.force_login(driver)
    back = _round_trip(client, source)
    _assert_same_laps(back, source)
    assert back.laps.get(number=2).stats["timing"] == "untimed"


@pytest.mark.fixtures
def test_game_timed_laps_keep_their_times(client: Client, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    source = _import_fixture(driver, fixtures_dir, "lime_rock")
    assert source.laps.get(number=5).time_ms == 61_833  # AC's LapTimePrevious
    client.force_login(driver)
    back = _round_trip(client, source)
    _assert_same_laps(back, source)
    # i2's own lap list: a beacon at each line crossing, the fastest lap named in the Details
    info = parse_ldx(client.get(f"/sessions/{source.pk}/export.ldx").content)
    best = min(lap.time_ms for lap in _laps(source) if lap.time_ms)
    assert info.fastest_time_s == pytest.approx(best / 1000, abs=1e-3)
    assert len(info.beacons_s) >= source.laps.count()


def _csv_rows(content: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(content.decode())))
    return rows[0], rows[1:]


def test_csv_and_parquet_hold_the_trace_in_acc_names_and_the_users_units(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=3)
    client.force_login(driver)
    response = client.get(f"/sessions/{session.pk}/export.csv")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    header, rows = _csv_rows(b"".join(response.streaming_content))
    assert header[:2] == ["TIME [s]", "LAP"]
    # a user with no units chosen and no browser locale reads km/h, bar, °C (units_for_locale)
    assert {"SPEED [km/h]", "THROTTLE [%]", "BRAKE [%]", "GEAR", "RPMS [1/min]", "STEERANGLE [deg]"} <= set(
        header
    )
    laps = _laps(session)
    # every lap is in it, each sample labelled with our lap number, from the first lap's start
    lap_col = [int(r[1]) for r in rows]
    assert sorted(set(lap_col)) == [lap.number for lap in laps] and lap_col == sorted(lap_col)
    assert float(rows[-1][0]) == pytest.approx(laps[-1].t_end - laps[0].t_start, abs=1e-3)
    stored = get_trace_store().read(session_id=session.pk, t0=laps[0].t_start, t1=laps[-1].t_end)
    assert len(rows) == len(stored["t"])
    speed = np.array([float(r[header.index("SPEED [km/h]")]) for r in rows])
    assert np.allclose(speed, stored["speed"], atol=0.01)  # km/h here and stored

    parquet = client.get(f"/sessions/{session.pk}/export.parquet")
    assert parquet["Content-Disposition"].endswith('.parquet"')
    table = pq.read_table(io.BytesIO(parquet.content))
    # the same columns, without the units (those are in each field's metadata)
    assert table.column_names == [h.split(" [")[0] for h in header]
    assert table.schema.field("SPEED").metadata[b"unit"] == b"km/h"
    assert str(table.schema.field("LAP").type) == "int64" and str(table.schema.field("GEAR").type) == "int64"
    assert str(table.schema.field("THROTTLE").type) == "float"
    for name, heading in (("TIME", "TIME [s]"), ("SPEED", "SPEED [km/h]"), ("THROTTLE", "THROTTLE [%]")):
        from_csv = np.array([float(r[header.index(heading)]) for r in rows])
        assert np.allclose(table.column(name).to_numpy(), from_csv, rtol=1e-6, atol=1e-6), name
    assert table.column("GEAR").to_pylist() == [int(r[header.index("GEAR")]) for r in rows]
    meta = json.loads(table.schema.metadata[b"simcoach"])
    assert (meta["session_id"], meta["game"], meta["track"], meta["car"]) == (
        session.pk,
        "demo",
        "Spa-Francorchamps",
        "Mercedes-AMG GT3",
    )
    assert [(m["number"], m["time_ms"], m["out_lap"]) for m in meta["laps"]] == [
        (lap.number, lap.time_ms, lap.is_out_lap) for lap in laps
    ]


def test_a_lap_exports_the_same_columns_as_its_session(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=3)
    lap = session.laps.get(number=2)
    client.force_login(driver)
    lap_header, lap_rows = _csv_rows(b"".join(client.get(f"/laps/{lap.pk}/export.csv").streaming_content))
    session_header, _ = _csv_rows(
        b"".join(client.get(f"/sessions/{session.pk}/export.csv").streaming_content)
    )
    assert lap_header == session_header
    assert {r[1] for r in lap_rows} == {"2"}
    table = pq.read_table(io.BytesIO(client.get(f"/laps/{lap.pk}/export.parquet").content))
    assert table.num_rows == len(lap_rows)
    assert json.loads(table.schema.metadata[b"simcoach"])["lap_number"] == 2


def test_an_api_token_downloads_every_export_and_only_its_own(client: Client, driver, stranger) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    lap = session.laps.get(number=2)
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=driver).key}")
    other = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=stranger).key}")
    types = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet", "ld": "application/octet-stream"}
    for url in (f"/api/sessions/{session.pk}/export", f"/api/laps/{lap.pk}/export"):
        for fmt in FORMATS:
            response = api.get(f"{url}.{fmt}")
            assert response.status_code == 200, (url, fmt, response.status_code)
            assert response["Content-Type"].startswith(types.get(fmt, "application/xml"))
            assert response["Content-Disposition"].endswith(f'.{fmt}"')
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert len(body) > 100
            assert other.get(f"{url}.{fmt}").status_code == 404  # another user's id: as if missing
    assert Client().get(f"/api/sessions/{session.pk}/export.csv").status_code == 401
    assert api.get(f"/api/sessions/{session.pk + 1000}/export.ld").status_code == 404


def test_a_rig_token_downloads_its_owners_session(driver, rig_and_token) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    _, token = rig_and_token
    rig = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert rig.get(f"/api/sessions/{session.pk}/export.ld").status_code == 200
    assert Client(HTTP_AUTHORIZATION="Bearer scr_nonsense").get(
        f"/api/sessions/{session.pk}/export.ld"
    ).status_code in (401, 403)


def test_a_session_without_a_stored_trace_is_a_404_that_says_so(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    get_trace_store().delete_session(session_id=session.pk)
    client.force_login(driver)
    response = client.get(f"/sessions/{session.pk}/export.ld")
    assert response.status_code == 404
    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=driver).key}")
    answer = api.get(f"/api/sessions/{session.pk}/export.parquet")
    assert answer.status_code == 404 and "no stored trace" in answer.json()["detail"]


def test_the_pages_link_every_export(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    lap = session.laps.get(number=2)
    client.force_login(driver)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    lap_page = client.get(f"/laps/{lap.pk}/").content.decode()
    for fmt in FORMATS:
        assert f'href="/sessions/{session.pk}/export.{fmt}"' in page
        assert f'href="/laps/{lap.pk}/export.{fmt}"' in lap_page


def test_the_api_schema_describes_the_exports(client: Client) -> None:
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/sessions/{session_id}/export.parquet", "/api/laps/{lap_id}/export.ld"):
        assert path in schema["paths"], sorted(schema["paths"])
    for path, media in (
        ("/api/sessions/{session_id}/export.csv", "text/csv"),
        ("/api/laps/{lap_id}/export.parquet", "application/vnd.apache.parquet"),
    ):
        operation = schema["paths"][path]["get"]
        assert list(operation["responses"]["200"]["content"]) == [media]  # one format per route
        assert "404" in operation["responses"]
    assert (
        schema["paths"]["/api/sessions/{session_id}/export.ld"]["get"]["operationId"] == "session_export_ld"
    )


@pytest.mark.fixtures
def test_a_session_in_influxdb_comes_back_the_same(
    influx_store, client: Client, driver, fixtures_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    source = _import_fixture(driver, fixtures_dir, "magny_cours")
    client.force_login(driver)
    _assert_same_laps(_round_trip(client, source), source)
    header, rows = _csv_rows(b"".join(client.get(f"/sessions/{source.pk}/export.csv").streaming_content))
    assert header[:2] == ["TIME [s]", "LAP"] and len(rows) > 1000


def test_an_unknown_format_is_refused(client: Client, driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    client.force_login(driver)
    assert client.get(f"/sessions/{session.pk}/export.xlsx").status_code == 404  # no such route
    assert client.get(f"/api/sessions/{session.pk}/export.xlsx").status_code == 404
    with pytest.raises(ValueError, match="unknown export format 'xlsx': one of csv, parquet, ld, ldx"):
        session_download(session=session, fmt="xlsx", driver="x")
