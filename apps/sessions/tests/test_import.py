"""session_import on the real recordings: what is stored, duplicates, damaged files, rollback."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap, Session
from apps.sessions.selectors import session_lap_table
from apps.sessions.services_import import (
    ImportRejected,
    ImportStoreFailed,
    safe_channel_name,
    session_import,
)
from apps.sessions.tests.import_cases import (
    BARCELONA,
    CASES,
    IMOLA,
    assert_imported_like_the_file,
    expected_lap_times,
    session_trace,
)
from apps.traces.models import TraceChunk
from apps.traces.tracestore import get_trace_store

pytestmark = [pytest.mark.django_db, pytest.mark.fixtures, pytest.mark.usefixtures("isolated_trace_store")]

# Two markers 100 s apart in the .ldx format ACC writes (Time in microseconds from the log start)
LDX = (
    b'<?xml version="1.0"?><LDXFile Locale="English_United Kingdom.1252" Version="1.6"><Layers>'
    b'<Layer><MarkerBlock><MarkerGroup Name="Beacons" Index="3">'
    b'<Marker Version="100" ClassName="BCN" Name="Manual.1" Flags="77" Time="120000000"/>'
    b'<Marker Version="100" ClassName="BCN" Name="Manual.2" Flags="77" Time="220000000"/>'
    b"</MarkerGroup></MarkerBlock></Layer></Layers></LDXFile>"
)


def _import(owner, path: Path, **kw):  # type: ignore[no-untyped-def]
    with path.open("rb") as f:
        return session_import(owner=owner, fileobj=f, filename=path.name, **kw)


def _ragged(text: bytes, row: int) -> bytes:
    lines = text.split(b"\n")
    lines[row] = b"1,2"
    return b"\n".join(lines)


def _nothing_stored() -> None:
    assert (Session.objects.count(), Lap.objects.count(), TraceChunk.objects.count()) == (0, 0, 0)


class TestSessionImport:
    @pytest.mark.parametrize("name", sorted(CASES))
    def test_it_stores_laps_times_and_traces_like_the_file(
        self, name: str, driver, fixtures_dir: Path
    ) -> None:
        case = CASES[name]
        ldx = (fixtures_dir / case.ldx).read_bytes() if case.ldx else None
        outcome = _import(driver, fixtures_dir / case.path, ldx=ldx, **case.meta)
        session = Session.objects.select_related("track").get(pk=outcome.session.pk)
        assert outcome.created and session.state == Session.State.ENDED and session.owner == driver
        assert (
            session.source in ("motec_ld", "garage61_csv", "crewchief_csv")
            and len(session.content_hash) == 64
        )
        assert outcome.laps == session.laps.count()
        assert_imported_like_the_file(session, case, expected_lap_times(fixtures_dir, case))

    @pytest.mark.parametrize(
        ("name", "number", "seconds"),
        [("magny_cours", 1, 100.818), ("lime_rock", 1, 76.391), ("road_america", 1, 119.023)],
    )
    def test_it_times_lap_one_when_the_game_timed_it(
        self, name: str, number: int, seconds: float, driver, fixtures_dir: Path
    ) -> None:
        lap = _import(driver, fixtures_dir / CASES[name].path).session.laps.get(number=number)
        assert lap.time_ms == round(seconds * 1000) and lap.stats["timing"] == "game"
        assert not lap.is_out_lap and lap.stats["complete"]

    @pytest.mark.parametrize(
        ("name", "partial_lap", "covered", "best_lap", "best_s"),
        [
            # 67 m of 2 469 m in 32.0 s was the best; lap 10's 80.869 s iRacing did not time
            ("charlotte", 4, "67 m", 9, 81.574),
            ("okayama", 3, "809 m", 5, 62.932),  # 809 of 1 930 m in 56.0 s was the best
        ],
    )
    def test_it_never_makes_a_partial_or_untimed_lap_best(
        self,
        name: str,
        partial_lap: int,
        covered: str,
        best_lap: int,
        best_s: float,
        driver,
        fixtures_dir: Path,
    ) -> None:
        session = _import(driver, fixtures_dir / CASES[name].path).session
        partial = session.laps.get(number=partial_lap)
        assert (partial.time_ms, partial.valid, partial.stats["partial"]) == (None, False, True), covered
        assert partial.stats["duration_s"] > 30  # its measured duration is kept
        best = session_lap_table(session=session)["best"]
        assert (best.number, best.time_ms) == (best_lap, round(best_s * 1000))
        assert best.stats["timing"] == "game" and not best.stats["partial"]

    def test_it_imports_a_rally_stage_as_a_trace_without_laps(self, driver, fixtures_dir: Path) -> None:
        outcome = _import(driver, fixtures_dir / CASES["rally"].path)
        assert outcome.created and outcome.laps == 0 and outcome.session.laps.count() == 0
        assert outcome.session.game == "rbr" and outcome.session.track.name == "Saalahti"
        assert any(w.startswith("no laps") for w in outcome.warnings)
        # InfluxDB keeps one point per millisecond: Crew Chief's irregular MQTT clock repeats a few
        stored, sent = len(session_trace(outcome.session)["t"]), outcome.session.frame_count
        assert sent >= stored >= 0.99 * sent and stored > 2_000

    @pytest.mark.parametrize("name", ["rally", "barcelona_ld", "road_america_lap"])
    def test_its_pages_show_a_session_without_a_best_lap(
        self, name: str, client, driver, fixtures_dir: Path
    ) -> None:
        case = CASES[name]
        ldx = (fixtures_dir / case.ldx).read_bytes() if case.ldx else None
        session = _import(driver, fixtures_dir / case.path, ldx=ldx).session
        assert session_lap_table(session=session)["best"] is None
        client.force_login(driver)
        page = client.get(f"/sessions/{session.pk}/")
        assert page.status_code == 200 and 'class="best-time">–<' in page.content.decode()
        assert client.get("/sessions/").status_code == 200
        assert client.get(f"/api/sessions/{session.pk}/").status_code == 200

    def test_it_takes_an_unknown_session_type_as_practice_and_says_so(
        self, driver, fixtures_dir: Path
    ) -> None:
        outcome = _import(driver, fixtures_dir / CASES["okayama"].path)
        assert outcome.session.kind == "practice"
        assert any("'LonePractice' imported as practice" in w for w in outcome.warnings)

    def test_what_the_user_gives_overrides_the_file(self, driver, fixtures_dir: Path) -> None:
        given = {"game": "AMS2", "track": "Magny-Cours GP", "car": "488 GT3", "kind": "race"}
        session = _import(driver, fixtures_dir / CASES["magny_cours"].path, **given).session
        assert (session.game, session.track.name, session.car.name, session.kind) == (
            "ams2",
            "Magny-Cours GP",
            "488 GT3",
            "race",
        )

    def test_an_ld_without_kind_is_practice_with_a_note(self, driver, fixtures_dir: Path) -> None:
        outcome = _import(driver, fixtures_dir / IMOLA)
        assert outcome.session.kind == "practice"
        assert any("does not say its session kind" in w for w in outcome.warnings)

    def test_it_ends_an_acc_log_where_the_driving_channels_end(self, driver, fixtures_dir: Path) -> None:
        ldx = (fixtures_dir / f"{BARCELONA}.ldx").read_bytes()
        outcome = _import(driver, fixtures_dir / f"{BARCELONA}.ld", ldx=ldx)
        session = outcome.session
        assert (session.ended_at - session.started_at).total_seconds() == pytest.approx(103.2, abs=0.1)
        (lap,) = session.laps.all()
        assert (lap.time_ms, lap.valid, lap.stats["timing"]) == (None, False, "untimed")
        assert lap.stats["duration_s"] == pytest.approx(103.2, abs=0.1) and not lap.stats["partial"]
        assert any("no beacons" in w for w in outcome.warnings)
        assert any("run 621.7 s" in w for w in outcome.warnings)

    @pytest.mark.parametrize("name", ["imola_ld", "lime_rock"])
    def test_it_does_not_import_the_same_file_twice(self, name: str, driver, fixtures_dir: Path) -> None:
        case = CASES[name]
        first = _import(driver, fixtures_dir / case.path, **case.meta)
        again = _import(driver, fixtures_dir / case.path, **case.meta)
        assert (again.created, again.session.pk, again.laps) == (False, first.session.pk, first.laps)
        assert "already imported" in again.warnings[0]
        assert Session.objects.count() == 1

    def test_it_imports_the_same_file_for_another_user(self, driver, stranger, fixtures_dir: Path) -> None:
        path = fixtures_dir / CASES["road_america_lap"].path
        assert _import(driver, path).session.pk != _import(stranger, path).session.pk

    def test_it_cuts_an_ld_at_its_ldx_markers(self, driver, fixtures_dir: Path) -> None:
        without = _import(driver, fixtures_dir / IMOLA, kind="practice")
        outcome = _import(driver, fixtures_dir / IMOLA, ldx=LDX, kind="practice")
        # the .ldx is part of what was imported: a different session, not a duplicate
        assert outcome.created and outcome.session.pk != without.session.pk
        laps = list(outcome.session.laps.order_by("number"))
        assert [(lap.number, lap.stats["complete"]) for lap in laps] == [(1, False), (2, True), (3, False)]
        assert laps[0].is_out_lap and laps[1].time_ms == pytest.approx(100_000, abs=50)  # markers 100 s apart
        assert laps[1].t_end - laps[1].t_start == pytest.approx(100.0, abs=0.05)

    def test_it_keeps_channels_we_lack_under_their_own_names(
        self, driver, fixtures_dir: Path, monkeypatch
    ) -> None:
        store, chunks = get_trace_store(), []
        real_write = store.write
        monkeypatch.setattr(
            store, "write", lambda **kw: chunks.append(len(kw["cols"]["t"])) or real_write(**kw)
        )
        session = _import(driver, fixtures_dir / IMOLA, kind="race").session
        trace = session_trace(session)
        assert {"steerangle", "sus_travel_rr", "wheel_speed_lf", "lap_beacon"} <= set(trace)
        assert 100 < np.nanmax(np.abs(trace["steerangle"])) < 120  # degrees, as ACC logged them
        assert chunks == [
            6000,
            6000,
            2704,
        ]  # bounded writes: 14 704 samples (245.07 s of SPEED), 6 000 a chunk

    def test_it_asks_for_what_the_file_does_not_say(self, driver, fixtures_dir: Path) -> None:
        with pytest.raises(ImportRejected, match="does not say its track, car; please") as err:
            _import(driver, fixtures_dir / CASES["garage61"].path)
        assert err.value.missing == ["track", "car"]
        _nothing_stored()

    def test_it_rejects_an_unknown_kind(self, driver, fixtures_dir: Path) -> None:
        path = fixtures_dir / IMOLA
        with pytest.raises(ImportRejected, match="kind must be one of practice"):
            _import(driver, path, kind="sprint")
        _nothing_stored()

    def test_it_queues_the_lap_analysis_after_commit(
        self, driver, fixtures_dir: Path, django_capture_on_commit_callbacks
    ) -> None:
        with django_capture_on_commit_callbacks() as callbacks:
            outcome = _import(driver, fixtures_dir / CASES["lime_rock"].path)
        assert len(callbacks) >= outcome.laps
        lap = outcome.session.laps.filter(stats__complete=True).first()
        lap_analyse(lap_id=lap.pk)  # what the queued task runs
        lap.refresh_from_db()
        assert lap.stats["analysed"] and 100 < lap.stats["max_speed_kmh"] < 200  # an MX-5 at Lime Rock


class TestDamagedFile:
    @pytest.mark.parametrize(
        ("name", "damage", "message"),
        [
            ("imola_ld", lambda b: b[: len(b) // 2], r"MoTeC \.ld"),
            ("imola_ld", lambda b: b[:2000], r"MoTeC \.ld"),
            ("lime_rock", lambda b: b[: len(b) // 2], r"gzip: .*cut short|Crew Chief CSV: line \d+"),
            (
                "garage61",
                lambda b: gzip.compress(_ragged(gzip.decompress(b), 100)),
                r"Garage 61 CSV: row \d+ has 2 cells",
            ),
            (
                "magny_cours",
                lambda b: b"hello, world\n" * 100,
                "not a MoTeC .ld, .ldx, Garage 61 CSV or Crew Chief",
            ),
            ("road_america_lap", lambda b: b"", "the file is empty"),
        ],
    )
    def test_it_names_the_problem_and_stores_nothing(
        self, name: str, damage, message: str, driver, fixtures_dir: Path
    ) -> None:
        case = CASES[name]
        raw = damage((fixtures_dir / case.path).read_bytes())
        with pytest.raises(ImportRejected, match=message) as err:
            session_import(owner=driver, fileobj=io.BytesIO(raw), filename="bad.file", **case.meta)
        assert str(err.value).startswith("bad.file: ")
        _nothing_stored()

    def test_it_removes_everything_when_the_trace_store_fails(
        self, driver, fixtures_dir: Path, monkeypatch
    ) -> None:
        store = get_trace_store()
        real_write, written = store.write, []

        def failing_write(**kw):  # type: ignore[no-untyped-def]
            if written:
                raise OSError("disk full")
            written.append(kw["session_id"])
            real_write(**kw)

        monkeypatch.setattr(store, "write", failing_write)
        with pytest.raises(ImportStoreFailed, match="disk full"):
            _import(driver, fixtures_dir / IMOLA, kind="practice")
        assert len(written) == 1  # the first chunk was stored, then removed
        _nothing_stored()
        assert len(store.read(session_id=written[0], t0=0, t1=4e9)["t"]) == 0


@pytest.mark.influx
@pytest.mark.django_db(transaction=True)
def test_it_imports_into_influxdb_with_safe_field_names(influx_store, driver, fixtures_dir: Path) -> None:
    session = _import(driver, fixtures_dir / IMOLA, kind="practice").session
    trace = session_trace(session)
    assert len(trace["t"]) == session.frame_count and "steerangle" in trace
    assert 250 < np.nanmax(trace["speed"]) < 400


def test_it_makes_channel_names_every_store_accepts() -> None:
    assert safe_channel_name("Brake Temp,LF=x") == "brake_temp_lf_x"
    assert safe_channel_name("time") == "x_time" and safe_channel_name("2nd gear") == "x_2nd_gear"
    assert safe_channel_name("***") == ""
