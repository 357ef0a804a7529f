import io
import struct
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from apps.sessions.lib.exports import lap_motec_ld
from apps.sessions.lib.imports import ImportFormatError, import_ld, import_session, parse_ldx
from apps.sessions.lib.imports.motec import read_ld_channels, read_ld_header
from apps.sessions.lib.imports.result import cumulative_distance, laps_from_crossings

META_PTR = 11336  # first channel descriptor in the Imola file (protocols.md §5.2)


@pytest.fixture(scope="module")
def imola(imola_ld: Path):
    with imola_ld.open("rb") as f:
        return import_ld(f)


def test_it_reads_the_acc_header_and_channel_list(imola_ld: Path) -> None:
    with imola_ld.open("rb") as f:
        header = read_ld_header(f)
        channels = read_ld_channels(f, header)
    assert (header.device, header.device_version, header.serial) == ("ADL", 420, 8004)
    assert (header.date, header.time, header.venue) == ("02/12/2021", "21:13:58", "Imola")
    assert (header.vehicle_id, header.vehicle_weight, header.event) == ("991ii GT3 R EVO", 1365, "Imola")
    assert len(channels) == header.n_channels == 37
    speed = next(c for c in channels if c.name == "SPEED")
    assert (speed.unit, speed.rate_hz, speed.count, speed.dtype) == ("m/s", 60, 14704, "<f4")
    assert {c.rate_hz for c in channels} == {20, 60, 100, 200}


def test_it_imports_the_imola_log_on_a_60_hz_base(imola) -> None:
    t = imola.channels["t"]
    assert imola.source_format == "motec_ld"
    assert (imola.game, imola.track, imola.car, imola.kind) == ("acc", "Imola", "991ii GT3 R EVO", None)
    assert imola.started_at == datetime.fromisoformat("2021-12-02T21:13:58+00:00")
    assert t[-1] == pytest.approx(245.1, abs=0.05)
    assert np.allclose(np.diff(t), 1 / 60)
    assert all(len(v) == len(t) for v in [*imola.channels.values(), *imola.extra.values()])


def test_it_converts_acc_units_into_ours(imola) -> None:
    ch = imola.channels
    assert 0 <= ch["speed"].min() and 250 < ch["speed"].max() < 400  # km/h
    assert ch["throttle"].min() == 0 and ch["throttle"].max() == 1
    assert ch["brake"].max() == 1 and ch["clutch"].max() == 1
    assert set(np.unique(ch["gear"])) <= set(range(0, 7))
    assert 1.5 < np.abs(ch["g_lat"]).max() < 3.5  # g, though ACC labels it m/s2
    assert 170 < ch["tyre_press_fl"].mean() < 195  # kPa from ≈26.5 psi
    assert 400 < ch["brake_temp_fl"].max() < 700
    assert imola.units["speed"] == "km/h" and imola.units["tyre_press_fl"] == "kPa"


def test_it_keeps_channels_we_lack_as_lower_case_extras(imola) -> None:
    assert imola.extra_units["steerangle"] == "deg"
    assert imola.extra_units["wheel_speed_lf"] == "m/s"
    assert {"sus_travel_rr", "tyre_tair_lf", "roty", "lap_beacon"} <= set(imola.extra)
    assert 100 < np.abs(imola.extra["steerangle"]).max() < 120


def test_it_makes_one_out_lap_without_markers_and_integrates_speed(imola) -> None:
    assert len(imola.laps) == 1 and not imola.laps[0].complete
    assert imola.track_length_m is None
    assert any("no lap markers" in w for w in imola.warnings)
    dist = cumulative_distance(imola.channels["t"], imola.channels["speed"])[-1]
    assert dist == pytest.approx(9746, rel=0.005)  # ≈ 1.99 × the 4 909 m lap
    assert imola.channels["lap_dist"][-1] == pytest.approx(dist)


def test_it_cuts_laps_at_ldx_beacons(imola_ld: Path) -> None:
    ldx = '<LDXFile Version="1.6"><Marker ClassName="BCN" Time="1.2e8"/><Marker ClassName="BCN" Time="2.2e8"/></LDXFile>'
    with imola_ld.open("rb") as f:
        session = import_session(f, ldx=ldx)
    assert [(lap.number, lap.complete) for lap in session.laps] == [(1, False), (2, True), (3, False)]
    assert session.laps[1].time_s == pytest.approx(100.0)
    t, lap = session.channels["t"], session.channels["lap"]
    assert lap[t < 119.9].max() == 1 and lap[(t > 120.1) & (t < 219.9)].min() == 2
    assert session.track_length_m == pytest.approx(session.channels["lap_dist"][(lap == 2)].max(), rel=0.01)


def test_it_parses_the_kyalami_ldx(kyalami_ldx: Path) -> None:
    info = parse_ldx(kyalami_ldx.read_bytes())
    assert info.beacons_s == pytest.approx([169.152, 282.056, 335.675, 447.604])
    assert (info.total_laps, info.fastest_time_s, info.fastest_lap) == (5, pytest.approx(53.619), 2)
    laps = laps_from_crossings(info.beacons_s, 500.0)
    assert len(laps) == info.total_laps
    fastest = min((lap for lap in laps if lap.complete), key=lambda lap: lap.time_s)
    # i2 numbers the stretch before the first beacon 0; we number it 1
    assert (fastest.number, fastest.time_s) == (info.fastest_lap + 1, pytest.approx(53.619))


def test_it_finds_laps_from_lap_beacon_when_there_is_no_ldx() -> None:
    n = 60 * 90
    beacon = np.zeros(n)
    beacon[60 * 20 : 60 * 20 + 6] = 1  # pulses at 20 s and 70 s
    beacon[60 * 70 : 60 * 70 + 6] = 1
    columns = {"speed": np.full(n, 180.0), "LAP_BEACON": beacon}
    raw = lap_motec_ld(
        columns, driver="", vehicle="", venue="", event="", started_at=datetime(2024, 1, 1), rate_hz=60
    )
    session = import_ld(io.BytesIO(raw))
    assert [lap.complete for lap in session.laps] == [False, True, False]
    assert session.laps[1].time_s == pytest.approx(50.0)
    assert session.track_length_m == pytest.approx(2500.0, rel=0.001)  # 50 m/s for 50 s


def _damaged(imola_ld: Path, change) -> io.BytesIO:
    data = bytearray(imola_ld.read_bytes())
    changed = change(data)  # slicing returns a copy, patching edits in place and returns None
    return io.BytesIO(bytes(data if changed is None else changed))


def _patch_u32(offset: int, value: int):
    return lambda d: struct.pack_into("<I", d, offset, value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d[: len(d) // 2], "data of channel .* runs past the end of the file .*truncated"),
        (lambda d: d[:1000], "shorter than the 1762-byte header"),
        (lambda d: bytearray(), "the file is empty"),
        (
            lambda d: d.__setitem__(slice(0, 4), bytes(b ^ 0xFF for b in d[0:4])),
            "header marker is 0xffffffbf",
        ),
        (_patch_u32(0x08, 0x7FFFFFFF), "channel list pointer .* outside the file"),
        (_patch_u32(META_PTR + 11 * 124 + 4, 10**8), "channel descriptor 12 points past the end of the file"),
        (_patch_u32(META_PTR + 124 + 4, META_PTR), "channel descriptor 2 loops back"),
        (
            lambda d: struct.pack_into("<H", d, META_PTR + 18, 0x42),
            "channel 0 'LAP_BEACON' has unknown sample type",
        ),
    ],
)
def test_it_names_what_is_wrong_with_a_damaged_ld(imola_ld: Path, change, message: str) -> None:
    with pytest.raises(ImportFormatError, match=f"MoTeC .ld: .*{message}"):
        import_ld(_damaged(imola_ld, change))


def test_it_refuses_ldx_with_entities() -> None:
    bomb = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><LDXFile>&a;</LDXFile>'
    with pytest.raises(ImportFormatError, match="DTDs"):
        parse_ldx(bomb)
    with pytest.raises(ImportFormatError, match="not well-formed"):
        parse_ldx("<LDXFile><Marker")


BARCELONA = "acc/Barcelona-bmw_m4_gt3-3-2024.06.12-18.40.53"


def test_it_ends_the_barcelona_log_with_its_driving_channels(fixtures_dir: Path) -> None:
    # EN_* and TIME run 621.7 s; SPEED, THROTTLE ... 103.2 s. The .ldx has no beacons.
    ldx = (fixtures_dir / f"{BARCELONA}.ldx").read_bytes()
    with (fixtures_dir / f"{BARCELONA}.ld").open("rb") as f:
        s = import_session(f, ldx=ldx)
    assert s.channels["t"][-1] == pytest.approx(103.2, abs=0.05)
    (lap,) = s.laps
    assert (lap.timing, lap.complete, lap.partial) == ("untimed", False, False)
    assert lap.time_s == pytest.approx(103.2, abs=0.05)  # its measured duration, not a lap time
    assert cumulative_distance(s.channels["t"], s.channels["speed"])[-1] == pytest.approx(4580, rel=0.01)
    assert (s.game, s.track, s.car) == ("acc", "Barcelona", "M4 GT3")
    assert any("no beacons" in w for w in s.warnings) and any("621.7 s" in w for w in s.warnings)
    assert len(s.extra["en_et"]) == len(s.channels["t"])  # cut with the rest
