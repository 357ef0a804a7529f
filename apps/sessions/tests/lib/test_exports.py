import csv
import io
import struct
from datetime import datetime

import numpy as np
import pyarrow.parquet as pq
import pytest

from apps.sessions.lib.exports import (
    GAP,
    LapMark,
    export_table,
    lap_beacons,
    lap_csv,
    lap_motec_ld,
    lap_motec_ldx,
    laps_motec_ldx,
    table_csv,
    table_parquet,
)
from apps.sessions.lib.imports import import_ld, parse_ldx
from apps.sessions.lib.imports.motec import read_ld_channels, read_ld_header

N = 600  # 10 s at 60 Hz


def _columns() -> dict[str, np.ndarray]:
    t = np.arange(N) / 60
    return {
        "t": t,
        "speed": 100 + 50 * np.sin(t),
        "throttle": np.clip(np.cos(t), 0, 1),
        "gear": np.repeat(np.arange(1, 7), N // 6).astype(float),
        "tyre_temp_fl": np.linspace(60, 90, N),
        "lap_dist": np.linspace(0, 400, N),
        "oil_pressure": np.full(N, 4.5),
    }


def _ld() -> bytes:
    return lap_motec_ld(
        _columns(),
        driver="Ana Lima",
        vehicle="Porsche 992 GT3 R",
        venue="Spa",
        event="Practice 1",
        started_at=datetime(2024, 5, 17, 14, 3, 9),
        rate_hz=60,
        units={"oil_pressure": "bar"},
    )


def test_it_writes_csv_with_units_in_the_header() -> None:
    lines = list(
        lap_csv(
            {"t": np.array([0.0, 0.5]), "speed": np.array([1.5, np.nan]), "lap": np.array([3, 3])},
            {"t": "s", "speed": "km/h", "lap": ""},
        )
    )
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows == [["t [s]", "speed [km/h]", "lap"], ["0", "1.5", "3"], ["0.5", "", "3"]]


def test_it_refuses_ragged_columns() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        list(lap_csv({"a": np.zeros(2), "b": np.zeros(3)}, {}))


def test_it_puts_the_documented_constants_at_their_offsets() -> None:
    raw = _ld()
    assert struct.unpack_from("<I", raw, 0x000)[0] == 0x40
    meta_ptr, data_ptr = struct.unpack_from("<II", raw, 0x008)
    assert struct.unpack_from("<HHH", raw, 0x040) == (1, 0x4240, 0x000F)
    assert raw[0x04A:0x052].rstrip(b"\0") == b"ADL"
    assert struct.unpack_from("<HHI", raw, 0x052) == (420, 0xADB0, 6)  # version, magic, channels (t left out)
    assert raw[0x05E:0x068] == b"17/05/2024" and raw[0x07E:0x086] == b"14:03:09"
    assert raw[0x09E:0x0A6] == b"Ana Lima" and raw[0x15E:0x161] == b"Spa"
    assert struct.unpack_from("<I", raw, 0x5DE)[0] == 0x000C81A4
    assert data_ptr == meta_ptr + 6 * 124 and len(raw) == data_ptr + 6 * N * 4


def test_it_links_descriptors_both_ways() -> None:
    raw = _ld()
    (meta_ptr,) = struct.unpack_from("<I", raw, 0x008)
    ptrs = [meta_ptr + i * 124 for i in range(6)]
    links = [struct.unpack_from("<II", raw, p) for p in ptrs]
    assert links == [(0 if i == 0 else ptrs[i - 1], 0 if i == 5 else ptrs[i + 1]) for i in range(6)]


def test_it_round_trips_through_our_reader() -> None:
    f = io.BytesIO(_ld())
    header = read_ld_header(f)
    channels = read_ld_channels(f, header)
    assert (header.driver, header.vehicle_id, header.venue, header.event) == (
        "Ana Lima",
        "Porsche 992 GT3 R",
        "Spa",
        "Practice 1",
    )
    # ACC's names and units where ACC logs the channel, so i2 layouts for ACC work
    assert [(c.name, c.unit, c.rate_hz, c.count) for c in channels] == [
        ("SPEED", "m/s", 60, N),
        ("THROTTLE", "%", 60, N),
        ("GEAR", "", 60, N),
        ("tyre_temp_fl", "°C", 60, N),
        ("lap_dist", "m", 60, N),
        ("oil_pressure", "bar", 60, N),
    ]
    session = import_ld(f)
    original = _columns()
    for name in ("t", "speed", "throttle", "gear", "tyre_temp_fl", "lap_dist"):
        assert np.allclose(session.channels[name], original[name], rtol=1e-6, atol=1e-4), name
    assert np.allclose(session.extra["oil_pressure"], 4.5) and session.extra_units["oil_pressure"] == "bar"
    assert session.started_at is not None and session.started_at.replace(tzinfo=None) == datetime(
        2024, 5, 17, 14, 3, 9
    )
    assert (session.track, session.car) == ("Spa", "Porsche 992 GT3 R")


def test_it_refuses_a_fractional_rate() -> None:
    with pytest.raises(ValueError, match="whole number of Hz"):
        lap_motec_ld(
            _columns(),
            driver="",
            vehicle="",
            venue="",
            event="",
            started_at=datetime(2024, 1, 1),
            rate_hz=59.94,
        )  # type: ignore[arg-type]


def test_it_writes_an_ldx_that_reads_back_like_acc_does() -> None:
    text = lap_motec_ldx([112.904, 53.619, 111.929], start_s=169.152)
    info = parse_ldx(text)
    assert info.beacons_s == pytest.approx([169.152, 282.056, 335.675, 447.604])
    assert (info.total_laps, info.fastest_time_s, info.fastest_lap) == (5, pytest.approx(53.619), 2)


def test_it_marks_a_single_lap_that_starts_on_the_line() -> None:
    # a beacon at the log's start too: the lap reads back as timed, not as an out-lap
    info = parse_ldx(lap_motec_ldx([95.25]))
    assert info.beacons_s == [0.0, 95.25] and info.fastest_lap == 1
    assert info.fastest_time_s == pytest.approx(95.25)
    assert 'Value="1:35.250"' in lap_motec_ldx([95.25])
    assert parse_ldx(lap_motec_ldx([])).beacons_s == [0.0]  # an untimed lap: no end beacon


def _acc_columns() -> dict[str, np.ndarray]:
    t = np.arange(N) / 60
    return {
        "t": t,
        "speed": 100 + 50 * np.sin(t),
        "throttle": np.clip(np.cos(t), 0, 1),
        "brake": np.clip(-np.cos(t), 0, 1),
        "rpm": 5000 + 1000 * np.sin(t),
        "gear": np.repeat(np.arange(1, 7), N // 6).astype(float),
        "steering": 0.4 * np.sin(t / 2),
        "g_lat": 1.5 * np.sin(t),
        "tyre_press_fl": np.full(N, 180.0),
    }


def test_it_writes_acc_units_and_reads_them_back_into_ours() -> None:
    raw = lap_motec_ld(
        _acc_columns(),
        driver="",
        vehicle="BMW M4 GT3",
        venue="Barcelona",
        event="Race lap 3",
        session="Race",
        game="acc",
        started_at=datetime(2024, 6, 12, 18, 40, 53),
        rate_hz=60,
    )
    f = io.BytesIO(raw)
    by_name = {c.name: c for c in read_ld_channels(f, read_ld_header(f))}
    assert {n: by_name[n].unit for n in ("SPEED", "THROTTLE", "BRAKE", "STEERANGLE", "RPMS")} == {
        "SPEED": "m/s",
        "THROTTLE": "%",
        "BRAKE": "%",
        "STEERANGLE": "deg",
        "RPMS": "1/min",
    }
    back = import_ld(f)
    assert (back.game, back.kind, back.track, back.car) == ("acc", "race", "Barcelona", "BMW M4 GT3")
    original = _acc_columns()
    for name in ("speed", "throttle", "brake", "rpm", "gear", "steering", "g_lat", "tyre_press_fl"):
        assert np.allclose(back.channels[name], original[name], rtol=1e-5, atol=1e-4), name


# --------------------------------------------------------------------------- whole sessions


def _mark(number: int, start: float, end: float, time: float | None, **kw: bool) -> LapMark:
    return LapMark(
        number=number,
        start_s=start,
        end_s=end,
        time_s=time,
        valid=kw.get("valid", True),
        **{k: v for k, v in kw.items() if k != "valid"},
    )


def _session_ld(seconds: float) -> bytes:
    n = int(seconds * 20)
    t = np.arange(n) / 20
    return lap_motec_ld(
        {"t": t, "speed": np.full(n, 150.0)},  # 150 km/h all along: every lap covers the same distance
        driver="",
        vehicle="Car",
        venue="Track",
        event="Race",
        session="Race",
        game="ams2",
        started_at=datetime(2024, 1, 1),
        rate_hz=20,
    )


def test_it_puts_beacons_at_the_line_and_keeps_the_game_times() -> None:
    laps = [
        _mark(1, 0.0, 60.0, None, out_lap=True),  # no start beacon: i2's lap 0, our out-lap
        _mark(2, 60.02, 121.0, 61.0),  # game time within SNAP_S of the stored end: on it
        _mark(3, 121.02, 190.0, 66.0, valid=False),  # 3 s off the stored end: beacon at the stored end
        _mark(4, 200.0, 203.0, None),  # starts 10 s later (a hole): own start beacon, a gap before
    ]
    beacons = lap_beacons(laps)
    assert beacons.crossings == pytest.approx([60.0, 121.0, 190.0, 200.0])
    assert beacons.tokens == ["1ou", "2=61000", "3i=66000", GAP, "4u"]
    ldx = laps_motec_ldx(laps)
    info = parse_ldx(ldx)
    assert info.own_laps == beacons.tokens and info.fastest_lap == 1  # i2's lap 1 is our lap 2
    back = import_ld(io.BytesIO(_session_ld(203.0)), ldx=ldx)
    got = [(lap.number, lap.timing, round(lap.time_s, 3), lap.valid, lap.complete) for lap in back.laps]
    assert got == [
        (1, "untimed", 60.0, None, False),
        (2, "beacon", 61.0, None, True),
        (3, "beacon", 66.0, False, True),
        (4, "untimed", 3.0, None, True),  # 3 s: shorter than MIN_LAP_S, still our lap
    ]


def test_it_falls_back_to_the_beacons_when_the_lap_list_does_not_fit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ldx = laps_motec_ldx([_mark(1, 0.0, 60.0, 60.0), _mark(2, 60.0, 120.0, 60.0)])
    damaged = ldx.replace('Value="1=60000 2=60000"', 'Value="1=60000"')
    back = import_ld(io.BytesIO(_session_ld(120.0)), ldx=damaged)
    assert [lap.number for lap in back.laps] == [1, 2]  # cut by the beacons alone
    assert any("does not fit its 3 beacons" in w for w in back.warnings)
    garbage = ldx.replace('Value="1=60000 2=60000"', 'Value="1=60000 two"')
    assert any("does not fit" in w for w in import_ld(io.BytesIO(_session_ld(120.0)), ldx=garbage).warnings)


def test_it_refuses_a_lap_time_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        laps_motec_ldx([_mark(1, 0.0, 60.0, 0.0)])


def test_tables_use_acc_names_and_keep_integers() -> None:
    table = export_table(
        {
            "t": np.array([0.0, 0.5]),
            "lap": np.array([3, 3]),
            "speed": np.array([36.0, np.nan]),
            "throttle": np.array([0.25, 1.0]),
            "gear": np.array([2, 3]),
            "tyre_temp_fl": np.array([80.0, 81.0]),
        }
    )
    assert [(c.name, c.unit) for c in table] == [
        ("TIME", "s"),
        ("LAP", ""),
        ("SPEED", "m/s"),
        ("THROTTLE", "%"),
        ("GEAR", ""),
        ("tyre_temp_fl", "°C"),
    ]
    rows = list(csv.reader(io.StringIO("".join(table_csv(table)))))
    assert rows[1:] == [["0", "3", "10", "25", "2", "80"], ["0.5", "3", "", "100", "3", "81"]]
    parquet = pq.read_table(io.BytesIO(table_parquet(table, {"track": "Spa"})))
    assert parquet.column("SPEED").to_pylist() == [10.0, None]  # a missing sample is null, not NaN
    assert str(parquet.schema.field("GEAR").type) == "int64"
    assert parquet.schema.field("THROTTLE").metadata == {b"unit": b"%"}
    assert parquet.schema.metadata[b"simcoach"] == b'{"track": "Spa"}'


def test_a_parquet_table_refuses_ragged_columns() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        table_parquet(export_table({"t": np.zeros(2), "speed": np.zeros(3)}), {})
