"""The iRacing reader on the SDK's mapped file built byte by byte (irsdkbytes.py)."""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

import pytest
from irsdkbytes import FakeSim, driving, session_yaml

from simcoach_agent import irsdk, sources
from simcoach_agent.sources import SharedMemoryUnavailable, detect_game, open_source
from simcoach_agent.sources.iracing import IracingDecoder, IracingTransport, polls_from_ibt
from simcoach_agent.sources.layout import LayoutError, PolledSource
from simcoach_agent.sources.recording import ReplaySource


def source(sim: FakeSim) -> PolledSource:
    return PolledSource(IracingTransport(sim), IracingDecoder())


def test_it_decodes_a_row_in_channel_units() -> None:
    sim = FakeSim()
    sim.write(1, driving())
    src = source(sim)
    f = src.read()
    assert f is not None
    assert f["speed"] == pytest.approx(180.0)  # 50 m/s
    assert (f["lap"], f["gear"], f["rpm"]) == (5, 4, 6500)
    assert f["lap_dist"] == pytest.approx(450.0) and f["sector"] == 1  # splits at 0, .4, .75
    assert f["lap_time"] == pytest.approx(30.0)  # joined mid-lap: the game's own clock
    assert f["last_lap_time"] == pytest.approx(61.5) and f["best_lap_time"] == pytest.approx(60.9)
    assert f["clutch"] == 0.0  # iRacing's 1 = engaged = pedal up
    assert f["steering"] == pytest.approx(0.125)  # 0.5 rad right of 4 rad lock
    assert f["g_lat"] == pytest.approx(-1.0)  # iRacing + is left; ours + is a right turn
    assert f["g_lon"] == pytest.approx(-0.5)
    assert f["tyre_temp_fl"] == 80 and f["tyre_temp_in_fl"] == 90 and f["tyre_temp_out_fl"] == 70
    assert f["tyre_temp_in_fr"] == 70  # right wheel: the inner edge is the left one
    assert f["tyre_press_rr"] == pytest.approx(170.0) and f["tyre_wear_rl"] == pytest.approx(10.0)
    assert (f["fuel"], f["water_temp"], f["oil_temp"], f["in_pit"]) == (42, 90, 100, 0)
    assert (f["max_rpm"], f["fuel_capacity"], f["flag"]) == (7500, 50, 7)
    assert (f["air_temp"], f["track_temp"]) == (19.0, 27.5)
    # 0.001° of latitude is 111.2 m north of the track's reference point (47.219, 14.765)
    assert f["pos_z"] == pytest.approx(111.2, abs=0.1)
    assert f["pos_x"] == pytest.approx(0.001 * math.pi / 180 * 6_371_008.8 * math.cos(math.radians(47.219)))
    assert f["pos_y"] == 680.0


def test_it_reads_the_session_info() -> None:
    sim = FakeSim()
    sim.write(1, driving())
    src = source(sim)
    src.read()
    info = src.info()
    assert info is not None and info.game == "iracing"
    assert (info.track, info.car, info.car_class) == ("Synthetic Raceway - Full", "Synthetic GT3", "GT3")
    assert info.kind == "practice" and info.track_length_m == pytest.approx(1000.0)
    assert info.extra["driver"] == "Jo Tester"  # the player's CarIdx 1, not the pace car


def test_it_follows_a_session_info_update_mid_session() -> None:
    sim = FakeSim()
    sim.write(1, driving())
    src = source(sim)
    src.read()
    sim.set_yaml(session_yaml(car="Other Car", layout="Short", length_km=2.5))
    sim.write(2, driving(SessionNum=1, SessionTime=100.1))
    assert src.read() is not None
    info = src.info()
    assert info is not None and (info.track, info.car) == ("Synthetic Raceway - Short", "Other Car")
    assert info.kind == "race" and info.track_length_m == pytest.approx(2500.0)  # SessionNum 1 is the race


def test_it_copies_the_yaml_only_when_its_update_counter_moves() -> None:
    sim = FakeSim()
    transport = IracingTransport(sim)
    sim.write(1, driving())
    tags = [tag for tag, _ in transport.poll()]
    assert tags == ["irsdk_vars", "irsdk_yaml", "irsdk_row"]
    sim.write(2, driving())
    assert [tag for tag, _ in transport.poll()] == ["irsdk_row"]
    assert transport.poll() == []  # no new tick
    sim.set_yaml(session_yaml(car="X"))
    assert [tag for tag, _ in transport.poll()] == ["irsdk_yaml"]


def test_it_reads_the_newest_buffer_by_tick_count() -> None:
    sim = FakeSim()
    src = source(sim)
    for tick, speed in ((1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)):  # the 4th reuses buffer 0
        sim.write(tick, driving(Speed=speed))
    f = src.read()
    assert f is not None and f["speed"] == pytest.approx(144.0)


def test_it_copies_again_when_the_sim_rewrites_the_row_during_the_copy() -> None:
    sim = FakeSim()
    transport = IracingTransport(sim)
    sim.write(1, driving(Speed=10.0))
    sim.write(2, driving(Speed=20.0))
    newest = sim.write(3, driving(Speed=30.0))
    torn = driving(Speed=99.0)
    calls = []

    def sim_writes(offset: int, size: int) -> None:
        if not calls:  # during the first copy the sim laps the buffers and lands on this one
            sim.write(4, driving(Speed=40.0))
            sim.write(5, driving(Speed=50.0))
            sim.scribble(newest, 6, torn)
        calls.append(offset)

    sim.on_read = sim_writes
    chunks = dict(transport.poll())
    tick, speed = struct.unpack_from("<i", chunks["irsdk_row"], 0)[0], None
    assert len(calls) == 2 and tick == 6
    dec = IracingDecoder()
    f = dec.feed(list(chunks.items()), 1.0)
    speed = f["speed"] if f else None
    assert speed == pytest.approx(99.0 * 3.6)  # the whole second copy, not a torn mix


def test_it_gives_up_after_retries_while_the_sim_keeps_rewriting() -> None:
    sim = FakeSim()
    transport = IracingTransport(sim, retries=2)
    sim.write(1, driving())
    transport.poll()
    sim.write(2, driving())
    sim.on_read = lambda offset, size: sim.scribble(
        sim.ticks.index(max(sim.ticks)), max(sim.ticks) + 1, driving()
    )
    assert transport.poll() == []


def test_it_times_the_lap_from_the_line_not_from_the_late_game_clock() -> None:
    sim = FakeSim()
    src = source(sim)
    sim.write(1, driving(Lap=5, LapDistPct=0.99, LapDist=990.0, SessionTime=200.0, LapCurrentLapTime=61.0))
    src.read()
    # the line is crossed a quarter of the way between the two ticks
    sim.write(2, driving(Lap=6, LapDistPct=0.03, LapDist=30.0, SessionTime=200.04, LapCurrentLapTime=61.04))
    f = src.read()
    assert f is not None and f["lap"] == 6
    assert f["lap_time"] == pytest.approx(0.03, abs=1e-6)  # iRacing's own clock still says 61.04
    sim.write(3, driving(Lap=6, LapDistPct=0.5, LapDist=500.0, SessionTime=230.01, LapLastLapTime=61.02))
    f = src.read()
    assert (
        f is not None and f["lap_time"] == pytest.approx(30.0) and f["last_lap_time"] == pytest.approx(61.02)
    )


@pytest.mark.parametrize(
    ("over", "present"),
    [({"IsOnTrack": False}, False), ({"IsReplayPlaying": True}, False), ({}, True)],
)
def test_it_skips_the_garage_and_replays(over: dict[str, object], present: bool) -> None:
    sim = FakeSim()
    sim.write(1, driving(**over))
    assert (source(sim).read() is not None) is present


def test_it_waits_for_the_connected_bit_and_resends_the_table_after_a_restart() -> None:
    sim = FakeSim(status=0)
    sim.write(1, driving())
    transport = IracingTransport(sim)
    assert transport.poll() == []
    sim.status = 1
    sim.write(2, driving())
    assert [tag for tag, _ in transport.poll()][:2] == ["irsdk_vars", "irsdk_yaml"]
    sim.status = 0
    sim.write(3, driving())
    assert transport.poll() == []
    sim.status = 1
    sim.write(4, driving())
    assert [tag for tag, _ in transport.poll()] == ["irsdk_vars", "irsdk_yaml", "irsdk_row"]


def test_it_returns_nothing_for_a_zeroed_file() -> None:
    class Zeros(FakeSim):
        def read_at(self, offset: int, size: int) -> bytes | None:
            return bytes(size)

    assert IracingTransport(Zeros()).poll() == []


@pytest.mark.parametrize(
    ("flags", "code"),
    [(0x10000, 3), (0x1, 5), (0x20 | 0x4, 1), (0x8, 2), (0x4000, 2), (0x2, 4), (0x4, 7), (0, 0)],
)
def test_it_maps_session_flags(flags: int, code: int) -> None:
    sim = FakeSim()
    sim.write(1, driving(SessionFlags=flags))
    f = source(sim).read()
    assert f is not None and f["flag"] == code


def test_it_refuses_a_variable_table_that_does_not_fit_the_row() -> None:
    sim = FakeSim()
    sim.write(1, driving())
    chunks = IracingTransport(sim).poll()
    vars_chunk = next(data for tag, data in chunks if tag == "irsdk_vars")
    short = struct.pack("<I", 16) + vars_chunk[4:]
    with pytest.raises(LayoutError, match="outside the 16-byte row"):
        IracingDecoder().feed([("irsdk_vars", short)], 1.0)


def test_it_parses_the_yaml_subset() -> None:
    info = irsdk.parse_session_info(session_yaml().decode())
    sessions = info["SessionInfo"]["Sessions"]
    assert [s["SessionType"] for s in sessions] == ["Practice", "Race"]
    assert sessions[0]["ResultsPositions"] == [{"Position": "1", "CarIdx": "0"}]
    assert info["DriverInfo"]["Drivers"][1]["UserName"] == "Jo Tester"  # quotes removed
    assert info["WeekendInfo"]["WeekendOptions"] == {"NumStarters": "0"}
    facts = irsdk.session_facts(info)
    assert facts.sector_starts == (0.0, 0.4, 0.75) and facts.player_car_idx == 1


@pytest.mark.parametrize(
    "text", ["", "::::", "- - -\n  : x\n", "a:\n - b\n -\n", "WeekendInfo: 3\nDriverInfo:\n"]
)
def test_it_survives_odd_yaml(text: str) -> None:
    facts = irsdk.session_facts(irsdk.parse_session_info(text))
    assert facts.track == "" and facts.kind() == "practice"


@pytest.mark.parametrize(
    ("words", "kind"),
    [
        ("Offline Testing", "practice"),
        ("Lone Qualify", "qualifying"),
        ("Race", "race"),
        ("Time Trial", "hotlap"),
    ],
)
def test_it_maps_session_types(words: str, kind: str) -> None:
    assert irsdk.session_kind(words) == kind


@pytest.mark.skipif(sys.platform == "win32", reason="off Windows only")
def test_it_says_the_live_reader_needs_windows() -> None:
    with pytest.raises(
        SharedMemoryUnavailable, match="iracing: reading the game's shared memory needs Windows"
    ):
        open_source("iracing")


def test_auto_finds_iracing_by_its_sdk_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    # Off Windows no mapping exists; answer for the OS the way OpenFileMappingW would.
    monkeypatch.setattr(sources, "mapping_exists", lambda name: name == "Local\\IRSDKMemMapFileName")
    assert detect_game(udp_wait=0) == "iracing"


@pytest.mark.fixtures
def test_it_replays_a_real_ibt_through_the_live_decoder(fixtures_dir: Path) -> None:
    dec = IracingDecoder()
    frames = [
        f
        for t, chunks in polls_from_ibt(
            fixtures_dir / "iracing" / "trucks_silverado2019_bristol_2025-11-06_17-39-03.ibt"
        )
        if (f := dec.feed(chunks, t)) is not None
    ]
    assert len(frames) == 3445  # every row but the blank one before the car is placed
    ends = {
        int(a["lap"]): a["lap_time"] for a, b in zip(frames, frames[1:], strict=False) if b["lap"] != a["lap"]
    }
    # time since our line crossing, to within a row of the game's 15.226 / 15.067 s
    assert ends[171] == pytest.approx(15.226, abs=0.03) and ends[172] == pytest.approx(15.067, abs=0.03)
    assert frames[-1]["last_lap_time"] == pytest.approx(15.067, abs=0.001)
    info = dec.info()
    assert (
        info is not None and info.car == "Chevrolet Silverado" and info.track_length_m == pytest.approx(828.2)
    )


def test_it_invalidates_the_lap_on_an_off_track_or_an_incident_until_the_line() -> None:
    sim = FakeSim()
    src = source(sim)
    rows = [
        (1, driving(LapDistPct=0.2)),
        (2, driving(LapDistPct=0.3, PlayerTrackSurface=0)),  # four wheels off
        (3, driving(LapDistPct=0.4)),
        (4, driving(Lap=6, LapDistPct=0.01, SessionTime=101.0)),  # the line: a new lap
        (5, driving(Lap=6, LapDistPct=0.2, SessionTime=104.0, PlayerCarMyIncidentCount=2)),
    ]
    valid = []
    for tick, values in rows:
        sim.write(tick, values)
        f = src.read()
        assert f is not None
        valid.append(f["lap_valid"])
    assert valid == [1, 0, 0, 1, 0]


@pytest.mark.fixtures
def test_replay_plays_an_ibt_file_as_the_live_sim(fixtures_dir: Path) -> None:
    src = ReplaySource(fixtures_dir / "iracing" / "itelem_amg.ibt", realtime=False)
    frames = []
    while not src.finished:
        if (f := src.read()) is not None:
            frames.append(f)
    src.close()
    assert src.game == "iracing" and len(frames) == 3371
    assert frames[0]["t"] == pytest.approx(1681113045.0)  # the file's own start date
    assert max(f["speed"] for f in frames) > 150 and {f["lap"] for f in frames} == {0}
    info = src.info()
    assert info is not None and info.car == "Mercedes AMG GT4"


def test_replay_still_refuses_a_file_that_is_neither(tmp_path: Path) -> None:
    junk = tmp_path / "junk.ibt"
    junk.write_bytes(b"\x02\x00\x00\x00" + bytes(200))  # version 2 but no buffers
    with pytest.raises(LayoutError, match="is not a SimCoach recording"):
        ReplaySource(junk)


def test_it_reads_a_variable_table_without_the_optional_flags() -> None:
    # only what the decoder cannot do without: a table of Speed, Lap and LapDist
    table = b""
    for i, name in enumerate(("Speed", "Lap", "LapDist")):
        table += struct.pack("<3i?3x", 4 if name != "Lap" else 2, 4 * i, 1, False)
        table += name.encode().ljust(32, b"\0") + bytes(64) + bytes(32)
    dec = IracingDecoder()
    dec.feed([("irsdk_vars", struct.pack("<I", 12) + table)], 0.0)
    f = dec.feed([("irsdk_row", struct.pack("<i", 1) + struct.pack("<fif", 10.0, 3, 55.0))], 1.0)
    assert f is not None and (f["speed"], f["lap"], f["lap_dist"]) == (pytest.approx(36.0), 3, 55.0)
    assert dec.info() is None  # no session info yet
