"""The `.ibt` reader on the three real iRacing files and on damaged copies of them.

Truths come from SOURCES.md (Bristol: 15.226 s and 15.067 s, the `.ldx` MoTeC wrote says
fastest 15.069 on its lap 2; AMG: an out-lap with no complete lap; W13: 276 variables,
390 records, parked in the pit box).
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from apps.sessions.lib.imports import ImportFormatError, detect_format, import_session
from apps.sessions.lib.imports.detect import IRACING_IBT
from apps.sessions.lib.imports.ibt import import_ibt, read_layout

pytestmark = pytest.mark.fixtures

BRISTOL = "iracing/trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt"
AMG = "iracing/itelem_amg.ibt"
W13 = "iracing/teamjorge_valid_test_file.ibt"


def _read(fixtures_dir: Path, name: str) -> bytes:
    return (fixtures_dir / name).read_bytes()


def _import(raw: bytes):  # type: ignore[no-untyped-def]
    return import_session(io.BytesIO(raw))


@pytest.fixture(scope="module")
def bristol(fixtures_dir: Path):  # type: ignore[no-untyped-def]
    with (fixtures_dir / BRISTOL).open("rb") as f:
        return import_ibt(f)


class TestBristol:
    def test_it_times_the_two_whole_laps_with_the_games_time(self, bristol) -> None:  # type: ignore[no-untyped-def]
        timed = [lap for lap in bristol.laps if lap.timing == "game"]
        assert [lap.number for lap in timed] == [171, 172]
        assert [lap.time_s for lap in timed] == [
            pytest.approx(15.226, abs=0.05),
            pytest.approx(15.067, abs=0.05),
        ]
        assert all(lap.complete and not lap.partial for lap in timed)

    def test_it_marks_the_laps_at_the_edges_partial_and_lap_170_untimed(self, bristol) -> None:  # type: ignore[no-untyped-def]
        first, last = bristol.laps[0], bristol.laps[-1]
        assert (first.number, first.timing, first.partial, first.complete) == (170, "untimed", True, False)
        assert (last.number, last.partial, last.complete) == (173, True, False)
        assert first.valid is False and last.valid is False  # never valid (DESIGN: one lap rule)
        assert len(bristol.laps) == 4

    def test_it_puts_the_line_where_the_lap_distance_wraps(self, bristol) -> None:  # type: ignore[no-untyped-def]
        lap = bristol.laps[1]
        # measured between our crossings, within a row (1/60 s) of the game's own time
        assert lap.end_t - lap.start_t == pytest.approx(lap.time_s, abs=1 / 60)
        assert sum(lap.sectors_s or []) == pytest.approx(lap.time_s, abs=0.002)

    def test_it_reads_the_session_info(self, bristol) -> None:  # type: ignore[no-untyped-def]
        assert bristol.game == "iracing" and bristol.source_format == "iracing_ibt"
        assert bristol.track == "Bristol Motor Speedway - Dual Pit Road"
        assert bristol.car == "Chevrolet Silverado" and bristol.kind == "practice"
        assert bristol.track_length_m == pytest.approx(828.2)
        assert bristol.meta["driver"] == "Jackson Grimm" and bristol.meta["session_type"] == "Offline Testing"
        assert bristol.started_at is not None and bristol.started_at.isoformat().startswith(
            "2025-11-06T23:39:03"
        )

    def test_it_converts_channels_to_our_units(self, bristol) -> None:  # type: ignore[no-untyped-def]
        ch = bristol.channels
        assert 3444 <= len(ch["t"]) <= 3446 and ch["t"][-1] == pytest.approx(57.4, abs=0.1)
        assert 150 < np.max(ch["speed"]) < 260  # km/h: a truck at Bristol
        assert np.max(ch["rpm"]) < 8100 and set(np.unique(ch["gear"])) <= {-1, 0, 1, 2, 3, 4}
        assert 0 <= np.min(ch["clutch"]) and np.max(ch["clutch"]) <= 1
        assert -1 <= np.min(ch["steering"]) and np.max(ch["steering"]) <= 1
        fast = ch["speed"] > 150
        # Bristol turns left: our g_lat is + in a right turn, so it is mostly negative here
        assert np.median(ch["g_lat"][fast]) < -1.0
        # positions in metres around the track's own reference point: a 0.83 km oval
        span = (
            np.nanmax(ch["pos_x"]) - np.nanmin(ch["pos_x"]),
            np.nanmax(ch["pos_z"]) - np.nanmin(ch["pos_z"]),
        )
        assert 150 < max(span) < 400
        assert 150 < np.median(ch["tyre_press_fr"]) < 400  # kPa
        assert 0 <= np.min(ch["tyre_wear_fl"]) < 10  # % worn, nearly new
        assert 60 < np.max(ch["fuel"]) < 71 and np.max(ch["water_temp"]) < 120
        assert set(np.unique(ch["in_pit"])) == {0.0, 1.0}
        assert np.max(ch["lap_dist"]) < 830
        assert set(np.unique(ch["last_lap_time"])) >= {-1.0}

    def test_it_keeps_the_lap_time_counting_from_our_line(self, bristol) -> None:  # type: ignore[no-untyped-def]
        lap = bristol.laps[2]
        t, lap_time = bristol.channels["t"], bristol.channels["lap_time"]
        inside = (t >= lap.start_t) & (t < lap.end_t)
        assert lap_time[inside][0] < 0.05 and lap_time[inside][-1] == pytest.approx(lap.time_s, abs=0.05)

    def test_it_keeps_variables_we_have_no_channel_for(self, bristol) -> None:  # type: ignore[no-untyped-def]
        assert "lfbrakelinepress" not in bristol.extra or bristol.extra_units["lfbrakelinepress"] == "bar"
        assert bristol.extra_units["steeringwheelangle"] == "°"
        assert np.max(np.abs(bristol.extra["steeringwheelangle"])) > 100  # degrees, not radians
        assert set(np.unique(bristol.extra["playercarmyincidentcount"])) == {12, 14}


def test_it_imports_the_amg_out_lap_and_says_there_is_no_complete_lap(fixtures_dir: Path) -> None:
    session = _import(_read(fixtures_dir, AMG))
    assert [(lap.number, lap.complete, lap.partial, lap.timing) for lap in session.laps] == [
        (0, False, True, "untimed")
    ]
    assert any("no complete lap" in w for w in session.warnings)
    assert session.track == "Red Bull Ring - Grand Prix" and session.car == "Mercedes AMG GT4"
    assert np.max(session.channels["speed"]) > 150 and set(np.unique(session.channels["last_lap_time"])) == {
        -1.0
    }


def test_it_parses_the_w13_header_and_variables(fixtures_dir: Path) -> None:
    with (fixtures_dir / W13).open("rb") as f:
        layout = read_layout(f)
    assert (layout.header.ver, layout.header.tick_rate, layout.header.num_buf) == (2, 60, 1)
    assert len(layout.variables) == 276 and layout.records == 390
    speed = layout.variables["Speed"]
    assert (speed.type, speed.count, speed.unit) == (4, 1, "m/s")
    assert "Mercedes-AMG W13" in layout.session_info
    session = _import(_read(fixtures_dir, W13))
    assert session.car == "Mercedes-AMG W13 E Performance" and np.all(session.channels["in_pit"] == 1)
    assert [lap.number for lap in session.laps] == [9] and not session.laps[0].complete


@pytest.mark.parametrize("name", [BRISTOL, AMG, W13])
def test_it_detects_ibt_by_content(name: str, fixtures_dir: Path) -> None:
    head = _read(fixtures_dir, name)[:8192]
    assert detect_format(head) == IRACING_IBT
    assert detect_format(gzip.compress(head)) == IRACING_IBT


def test_it_imports_a_gzipped_ibt(fixtures_dir: Path) -> None:
    session = _import(gzip.compress(_read(fixtures_dir, W13)))
    assert len(session.channels["t"]) == 390


# ---- damaged files: each names what is wrong


def _patch(fmt: str, offset: int, value: int) -> Callable[[bytes], bytes]:
    def damage(raw: bytes) -> bytes:
        buf = bytearray(raw)
        struct.pack_into(fmt, buf, offset, value)
        return bytes(buf)

    return damage


def _cut(size: int) -> Callable[[bytes], bytes]:
    return lambda raw: raw[:size]


DAMAGES = {
    "rows cut short": (
        _cut(3_000_000),
        r"declares 3446 records of 1070 bytes, the file holds 2755 \(truncated",
    ),
    "cut inside the variable table": (_cut(20_000), r"variable table .* runs past the end"),
    "cut inside the header": (_cut(100), "not a MoTeC"),
    "record count patched up": (_patch("<i", 140, 99_999), "declares 99999 records"),
    "record count negative": (_patch("<i", 140, -5), "declares -5 records"),
    "numVars patched up": (_patch("<i", 24, 9_000), "the variable table overlaps the session info"),
    "numVars absurd": (_patch("<i", 24, 30_000), "numVars is 30000"),
    "numBuf zero": (_patch("<i", 32, 0), "not a MoTeC"),
    "session info past the end": (_patch("<i", 16, 50_000_000), "sessionInfoLen"),
    "session info offset past the end": (_patch("<i", 20, 4_000_000), r"session info .* runs past the end"),
    "variable outside the row": (
        _patch("<i", 144 + 4, 5_000),
        r"variable 0 'SessionTime' .* outside the 1070-byte row",
    ),
    "unknown variable type": (_patch("<i", 144, 9), "variable 0 'SessionTime' has unknown type 9"),
    "rows start past the end": (_patch("<i", 52, 9_000_000), "rows start at offset 9000000"),
    "no rows": (_patch("<i", 140, 1), "1 records; nothing to import"),
}


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_it_names_the_damage(name: str, fixtures_dir: Path) -> None:
    damage, message = DAMAGES[name]
    with pytest.raises(ImportFormatError, match=message):
        _import(damage(_read(fixtures_dir, BRISTOL)))


def test_it_reads_a_file_whose_record_count_was_never_written(fixtures_dir: Path) -> None:
    session = _import(_patch("<i", 140, 0)(_read(fixtures_dir, W13)))
    assert len(session.channels["t"]) == 390
    assert any("record count was never written" in w for w in session.warnings)


def test_it_refuses_another_header_version(fixtures_dir: Path) -> None:
    raw = _patch("<i", 0, 3)(_read(fixtures_dir, W13))
    with pytest.raises(ImportFormatError):
        import_ibt(io.BytesIO(raw))
    with pytest.raises(ImportFormatError, match="header version 3"):
        import_ibt(io.BytesIO(raw))


def _set_lap(raw: bytes, first_row: int, last_row: int, value: int) -> bytes:
    """Bristol's rows: 1 070 bytes from offset 51 696, `Lap` (int) at 209 in each row."""
    buf = bytearray(raw)
    for row in range(first_row, last_row):
        struct.pack_into("<i", buf, 51_696 + row * 1070 + 209, value)
    return bytes(buf)


def test_it_keeps_lap_numbers_unique_when_the_counter_goes_back(fixtures_dir: Path) -> None:
    raw = _read(fixtures_dir, BRISTOL)
    raw = _set_lap(_set_lap(raw, 2161, 3065, 1), 3065, 3446, 2)  # a new session from row 2161
    session = _import(raw)
    assert [lap.number for lap in session.laps] == [170, 171, 172, 173]
    # 171 ended where the counter jumped back, not on the line: no whole lap, no game time for it
    assert [lap.complete for lap in session.laps] == [False, False, False, False]
    assert session.laps[1].timing == "untimed"
    assert any("lap counter went back to 1" in w for w in session.warnings)


def test_it_judges_laps_by_off_tracks_and_incidents(bristol, fixtures_dir: Path) -> None:  # type: ignore[no-untyped-def]
    # Bristol: 171 and 172 clean; the incident count goes 12 → 14 in lap 173
    assert [(lap.number, lap.valid) for lap in bristol.laps[1:]] == [(171, True), (172, True), (173, False)]
    amg = _import(_read(fixtures_dir, AMG))
    assert amg.laps[0].valid is False  # off track (surface 0) and 0 → 2 incidents
