"""session_import on the real recordings: what is stored, duplicates, damaged files, rollback."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from apps.coaching.services import lap_analyse
from apps.sessions.models import Lap, Session
from apps.sessions.services_import import (
    ImportRejected,
    ImportStoreFailed,
    safe_channel_name,
    session_import,
)
from apps.sessions.tests.import_cases import CASES, IMOLA, assert_imported_like_the_file, session_trace
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
        outcome = _import(driver, fixtures_dir / case.path, **case.meta)
        session = Session.objects.select_related("track").get(pk=outcome.session.pk)
        assert outcome.created and session.state == Session.State.ENDED and session.owner == driver
        assert (
            session.source in ("motec_ld", "garage61_csv", "crewchief_csv")
            and len(session.content_hash) == 64
        )
        assert outcome.laps == session.laps.count() >= 1
        assert_imported_like_the_file(session, case)

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
        assert chunks == [6000, 6000, 2706]  # bounded writes: 14 706 samples, 6 000 a chunk

    def test_it_asks_for_what_the_file_does_not_say(self, driver, fixtures_dir: Path) -> None:
        with pytest.raises(ImportRejected, match="does not say its track, car, kind") as err:
            _import(driver, fixtures_dir / CASES["garage61"].path)
        assert err.value.missing == ["track", "car", "kind"]
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
