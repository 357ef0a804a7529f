"""session_import on the real iRacing `.ibt` files: laps, their times and the stored trace.

Ground truth (SOURCES.md): Bristol's laps 171 and 172 took 15.226 s and 15.067 s by the
game's LapLastLapTime; lap 170 ended untimed; the AMG file is an out-lap with no complete lap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.sessions.models import Lap, Session
from apps.sessions.services_import import ImportRejected, session_import
from apps.sessions.tests.api_import import api_import, run_queued
from apps.sessions.tests.import_cases import session_trace
from apps.traces.models import TraceChunk
from simcoach_site.lib.units import STORED, fmt

pytestmark = [
    pytest.mark.usefixtures("imports_run_here"),
    pytest.mark.django_db,
    pytest.mark.fixtures,
    pytest.mark.usefixtures("isolated_trace_store"),
]

BRISTOL = "iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt"
AMG = "iracing/itelem_amg.ibt"


def _import(owner, path: Path):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return session_import(owner=owner, fileobj=f, filename=path.name)


class TestIbtImport:
    def test_it_stores_the_two_timed_laps_with_the_games_times(self, driver, fixtures_dir: Path) -> None:
        session = _import(driver, fixtures_dir / BRISTOL).session
        laps = list(Lap.objects.filter(session=session).order_by("number"))
        assert [lap.number for lap in laps] == [170, 171, 172, 173]
        timed = {lap.number: lap.time_ms for lap in laps if lap.time_ms is not None}
        assert timed.keys() == {171, 172}
        assert abs(timed[171] - 15_226) <= 50 and abs(timed[172] - 15_067) <= 50
        assert [lap.stats["partial"] for lap in laps] == [True, False, False, True]
        assert laps[0].is_out_lap and laps[0].time_ms is None  # lap 170 left the pits, untimed
        assert [lap.stats["timing"] for lap in laps] == ["untimed", "game", "game", "untimed"]
        assert [lap.valid for lap in laps] == [False, True, True, False]

    def test_it_stores_what_the_file_says_about_the_session(self, driver, fixtures_dir: Path) -> None:
        session = Session.objects.select_related("track", "car").get(
            pk=_import(driver, fixtures_dir / BRISTOL).session.pk
        )
        assert (session.game, session.kind, session.source) == ("iracing", "practice", "iracing_ibt")
        assert session.track.name == "Bristol Motor Speedway - Dual Pit Road"
        assert session.track.length_m == pytest.approx(828.2)
        assert session.car.name == "Chevrolet Silverado"

    def test_it_reads_back_channels_in_sane_ranges_and_units(self, driver, fixtures_dir: Path) -> None:
        session = _import(driver, fixtures_dir / BRISTOL).session
        trace = session_trace(session)
        assert len(trace["t"]) == session.frame_count and np.all(np.diff(trace["t"]) > 0)
        assert trace["t"][0] == pytest.approx(session.started_at.timestamp(), abs=1)
        assert 150 < np.nanmax(trace["speed"]) < 260  # km/h
        assert 0 <= np.nanmin(trace["throttle"]) and np.nanmax(trace["brake"]) <= 1
        assert set(np.unique(trace["gear"])) <= {-1, 0, 1, 2, 3, 4}
        assert np.nanmax(trace["rpm"]) < 8100 and np.nanmax(trace["lap_dist"]) < 830
        assert -1 <= np.nanmin(trace["steering"]) and np.nanmax(trace["steering"]) <= 1
        assert 150 < np.nanmedian(trace["tyre_press_fr"]) < 400  # kPa
        assert 20 < np.nanmedian(trace["tyre_temp_fl"]) < 200  # °C
        assert 60 < np.nanmax(trace["fuel"]) < 71  # litres
        assert np.nanmax(np.abs(trace["pos_x"])) < 1000  # metres around the track's reference
        assert set(np.unique(trace["lap"])) == {170, 171, 172, 173}

    def test_it_imports_the_amg_out_lap_without_inventing_a_lap(self, driver, fixtures_dir: Path) -> None:
        outcome = _import(driver, fixtures_dir / AMG)
        laps = list(Lap.objects.filter(session=outcome.session))
        assert [(lap.number, lap.time_ms, lap.is_out_lap, lap.stats["partial"]) for lap in laps] == [
            (0, None, True, True)
        ]
        assert any("no complete lap" in w for w in outcome.warnings)

    def test_it_stores_nothing_from_a_truncated_file(
        self, driver, fixtures_dir: Path, tmp_path: Path
    ) -> None:
        cut = tmp_path / "cut.ibt"
        cut.write_bytes((fixtures_dir / BRISTOL).read_bytes()[:2_000_000])
        with pytest.raises(ImportRejected, match="cut.ibt: iRacing .ibt: the header declares 3446 records"):
            _import(driver, cut)
        assert (Session.objects.count(), Lap.objects.count(), TraceChunk.objects.count()) == (0, 0, 0)


class TestIbtImportApi:
    def test_it_imports_an_ibt_from_the_import_page(self, client, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        with (fixtures_dir / AMG).open("rb") as f:
            done = run_queued(
                lambda: client.post("/import/", {"file": f})
            )  # the file says game, track, car, kind
        session = Session.objects.get()
        assert (
            done.status_code == 302
            and f'href="/sessions/{session.pk}/"' in client.get("/import/").content.decode()
        )
        assert (session.game, session.kind) == ("iracing", "practice")

    def test_it_imports_an_ibt_posted_by_a_rig(self, client, rig_and_token, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
        rig, token = rig_and_token
        with (fixtures_dir / BRISTOL).open("rb") as f:
            response = api_import(client, {"file": f}, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 201, response.json()
        session = Session.objects.get(pk=response.json()["session_id"])
        assert (session.rig, session.game, response.json()["laps"]) == (rig, "iracing", 4)

    def test_it_names_a_damaged_ibt_in_a_400(self, client, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
        client.force_login(driver)
        raw = bytearray((fixtures_dir / AMG).read_bytes())
        raw[140:144] = (10**6).to_bytes(4, "little")  # sessionRecordCount far past the file
        upload = SimpleUploadedFile("amg.ibt", bytes(raw))
        response = api_import(client, {"file": upload})
        assert response.status_code == 400
        assert "iRacing .ibt: the header declares 1000000 records" in str(response.json())
        assert Session.objects.count() == 0


@pytest.mark.influx
@pytest.mark.django_db(transaction=True)
def test_it_imports_an_ibt_into_influxdb(influx_store, driver, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    session = _import(driver, fixtures_dir / BRISTOL).session
    trace = session_trace(session)
    assert len(trace["t"]) == session.frame_count
    assert 150 < np.nanmax(trace["speed"]) < 260 and "playertracksurface" in trace
    assert set(np.unique(trace["lap"])) == {170, 171, 172, 173}


def test_it_records_the_conditions_the_file_gives(
    driver, fixtures_dir: Path, django_capture_on_commit_callbacks
) -> None:
    """Bristol's AirTemp is 18.46 °C and TrackTempCrew 21.11 °C (70 °F) all through the file
    (read from the file by the raw column reader, not by the importer): once its laps are
    analysed (on commit) the session keeps them."""
    with django_capture_on_commit_callbacks(execute=True):
        imported = _import(driver, fixtures_dir / BRISTOL).session
    session = Session.objects.get(pk=imported.pk)
    assert session.air_temp_c == pytest.approx(18.5) and session.track_temp_c == pytest.approx(21.1)
    laps = Lap.objects.filter(session=session)
    assert all(lap.stats["track_temp_avg"] == pytest.approx(21.1) for lap in laps)
    client = Client()
    client.force_login(driver)
    page = client.get(f"/sessions/{session.pk}/").content.decode()
    assert f"track {fmt(21.1, '°C', STORED)}, air {fmt(18.5, '°C', STORED)}" in page  # "21 °C", "18 °C"
    api = client.get(f"/api/sessions/{session.pk}/").json()
    assert (api["air_temp_c"], api["track_temp_c"]) == (18.5, 21.1)


def test_a_file_without_conditions_leaves_them_unknown(
    driver, fixtures_dir: Path, django_capture_on_commit_callbacks
) -> None:
    path = fixtures_dir / "crewchief/session_1673613558_df.csv.gz"  # Crew Chief logs no temperatures
    with django_capture_on_commit_callbacks(execute=True), path.open("rb") as f:
        session = session_import(owner=driver, fileobj=f, filename=path.name, kind="practice").session
    assert Lap.objects.filter(session=session, stats__analysed=True).exists()
    session.refresh_from_db()
    assert (session.air_temp_c, session.track_temp_c) == (None, None)
