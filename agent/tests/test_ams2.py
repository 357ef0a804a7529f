import os
import socket
import struct
import time
from pathlib import Path

import pytest
from gamebytes import (
    pcars2_page,
    udp_game_state,
    udp_participants,
    udp_race,
    udp_telemetry,
    udp_time_stats,
    udp_timings,
)

from simcoach_agent.channels import CHANNEL_ID, PSI_TO_KPA
from simcoach_agent.sources.ams2 import Ams2ShmDecoder, Ams2UdpDecoder, Ams2UdpSource, decode_pc1_telemetry
from simcoach_agent.sources.layout import LayoutError
from simcoach_agent.telemetry import quantise_frame

PSI_PER_BAR = 14.5038  # the factor the race log's script used
FIXTURES = Path(
    os.environ.get("SIMCOACH_FIXTURES", Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures")
)


def shm_values(seq: int = 2, **over: object) -> dict[str, object]:
    base = {
        "mVersion": 14, "mGameState": 2, "mSessionState": 5, "mViewedParticipantIndex": 1,
        "mNumParticipants": 2, "mUnfilteredThrottle": 0.7, "mUnfilteredSteering": 0.1,
        "mCarName": "Reynard 95i", "mCarClassName": "F-Classic", "mTrackLocation": "Road_America",
        "mTrackVariation": "Road_America_RC", "mTrackLength": 6515.0, "mBestLapTime": 120.5,
        "mLastLapTime": 121.0, "mCurrentTime": 15.5, "mFuelLevel": 0.5, "mFuelCapacity": 80.0,
        "mSpeed": 60.0, "mRpm": 11000.0, "mMaxRPM": 12000.0, "mGear": 5,
        "mTyreTemp": (80.0, 81.0, 82.0, 83.0), "mTyreWear": (0.1, 0.1, 0.0, 0.0),
        "mBrakeTempCelsius": (500.0, 501.0, 400.0, 401.0), "mAirPressure": (161.6, 161.6, 163.8, 163.8),
        "mTyreTempLeft": (70.0, 71.0, 72.0, 73.0), "mTyreTempCenter": (75.0, 76.0, 77.0, 78.0),
        "mTyreTempRight": (79.0, 80.0, 81.0, 82.0), "mSequenceNumber": seq,
    }  # fmt: skip
    return {**base, **over}


PARTS = [
    {"mIsActive": True, "mName": "AI", "mCurrentLapDistance": 10.0, "mLapsCompleted": 9},
    {"mIsActive": True, "mName": "Me", "mWorldPosition": (1.0, 2.0, 3.0), "mCurrentLapDistance": 812.5,
     "mLapsCompleted": 2, "mCurrentSector": 1, "mRacePosition": 7},
]  # fmt: skip


def shm(dec: Ams2ShmDecoder, **over: object) -> dict[str, float] | None:
    return dec.feed([("pcars2", pcars2_page(shm_values(**over), PARTS))], 1.0)  # type: ignore[arg-type]


def test_it_decodes_the_shared_memory_page() -> None:
    dec = Ams2ShmDecoder()
    f = shm(dec)
    assert f is not None
    assert f["lap"] == 3 and f["lap_dist"] == 812.5 and f["sector"] == 1 and f["position"] == 7
    assert f["speed"] == pytest.approx(216.0) and f["gear"] == 5 and f["rpm"] == 11000
    assert f["fuel"] == pytest.approx(40.0)  # 0.5 of 80 l
    assert f["tyre_press_fl"] == pytest.approx(161.6) and f["tyre_press_rr"] == pytest.approx(163.8)
    assert f["tyre_wear_fl"] == pytest.approx(10.0, rel=1e-5)
    assert f["tyre_temp_in_fl"] == 79.0 and f["tyre_temp_out_fr"] == 80.0
    assert (f["pos_x"], f["pos_y"], f["pos_z"]) == (1.0, 2.0, 3.0)
    assert f["last_lap_time"] == 121.0 and f["lap_time"] == 15.5
    info = dec.info()
    assert info is not None and info.kind == "race" and info.track == "Road_America:Road_America_RC"
    assert info.car == "Reynard 95i" and info.track_length_m == 6515.0


@pytest.mark.parametrize("gear", [-1, 0])
def test_it_passes_reverse_and_neutral_from_shared_memory(gear: int) -> None:
    f = shm(Ams2ShmDecoder(), mGear=gear)
    assert f is not None and f["gear"] == gear


def test_it_reports_pit_and_invalid_lap_from_shared_memory() -> None:
    f = shm(Ams2ShmDecoder(), mPitMode=2, mLapInvalidated=True, mLastLapTime=0.0)
    assert f is not None and f["in_pit"] == 1 and f["lap_valid"] == 0 and f["last_lap_time"] == -1


def test_it_skips_a_page_being_written_or_unchanged() -> None:
    dec = Ams2ShmDecoder()
    assert shm(dec, seq=7) is None  # odd: the game is writing
    assert shm(dec, seq=8) is not None
    assert shm(dec, seq=8) is None


@pytest.mark.parametrize("state", [1, 3, 6])
def test_it_skips_menus_pause_and_replay(state: int) -> None:
    assert shm(Ams2ShmDecoder(), mGameState=state) is None


def test_it_refuses_another_shared_memory_version() -> None:
    with pytest.raises(LayoutError, match="version 13"):
        shm(Ams2ShmDecoder(), mVersion=13)


def test_it_returns_none_for_a_zeroed_page() -> None:
    assert Ams2ShmDecoder().feed([("pcars2", bytes(20_700))], 1.0) is None


TEL = {
    "sViewedParticipantIndex": 0, "sUnfilteredThrottle": 255, "sUnfilteredBrake": 0,
    "sUnfilteredSteering": -127, "sFuelCapacity": 100, "sFuelLevel": 0.25, "sSpeed": 50.0,
    "sRpm": 7000, "sMaxRpm": 8000, "sGearNumGears": 0x63, "sTyreTemp": (80, 81, 82, 83),
    "sBrakeTempCelsius": (300, 301, 302, 303), "sAirPressure": (180, 181, 182, 183),
    "sFullPosition": (11.5, 2.0, -3.25),
}  # fmt: skip
ME = {
    "sCurrentLapDistance": 1500, "sSector": 1, "sCurrentLap": 4, "sCurrentTime": 61.5, "sCarIndex": 3,
    "sRacePosition": 0x80 | 5,  # active, fifth
}  # fmt: skip


def udp_ready(dec: Ams2UdpDecoder, wide: bool = True) -> None:
    for data in (
        udp_game_state(1, 2, 5),
        udp_race(2, {"sTrackLength": 3908.0, "sTrackLocation": "Brands Hatch", "sTrackVariation": "GP"}),
        udp_timings(3, [ME], wide=wide),
        udp_time_stats(4, [{"sFastestLapTime": 90.5, "sLastLapTime": 91.25}]),
    ):
        assert dec.packet(data, 0.0) is None


@pytest.mark.parametrize(("size", "wide"), [(559, True), (538, False)])
def test_it_decodes_udp_telemetry_of_both_sizes(size: int, wide: bool) -> None:
    dec = Ams2UdpDecoder()
    udp_ready(dec, wide)
    f = dec.packet(udp_telemetry(10, TEL, size), 2.0)
    assert f is not None
    assert f["throttle"] == 1.0 and f["steering"] == -1.0
    assert f["gear"] == 3 and f["speed"] == pytest.approx(180.0) and f["fuel"] == 25.0
    assert f["lap"] == 4 and f["lap_dist"] == 1500 and f["sector"] == 1 and f["lap_time"] == 61.5
    assert f["last_lap_time"] == 91.25 and f["best_lap_time"] == 90.5
    assert f["tyre_press_rr"] == 183 and f["brake_temp_fr"] == 301
    assert f["position"] == 5
    if size == 559:
        assert (f["pos_x"], f["pos_z"]) == (11.5, -3.25)
    info = dec.info()
    assert info is not None and info.track == "Brands Hatch:GP" and info.kind == "race"


def test_it_maps_udp_reverse_and_neutral() -> None:
    dec = Ams2UdpDecoder()
    udp_ready(dec)
    rev = dec.packet(udp_telemetry(10, {**TEL, "sGearNumGears": 0x6F}), 1.0)
    neutral = dec.packet(udp_telemetry(11, {**TEL, "sGearNumGears": 0x60}), 1.0)
    assert rev is not None and rev["gear"] == -1
    assert neutral is not None and neutral["gear"] == 0


def test_it_reports_pit_and_invalid_lap_over_udp() -> None:
    dec = Ams2UdpDecoder()
    udp_ready(dec)
    dec.packet(udp_timings(5, [{**ME, "sPitModeSchedule": 2, "sRaceState": 0x08 | 2}]), 0.0)
    f = dec.packet(udp_telemetry(10, TEL), 1.0)
    assert f is not None and f["in_pit"] == 1 and f["lap_valid"] == 0


def test_it_drops_stale_and_duplicate_udp_packets() -> None:
    dec = Ams2UdpDecoder()
    udp_ready(dec)
    assert dec.packet(udp_telemetry(20, TEL), 1.0) is not None
    assert dec.packet(udp_telemetry(20, TEL), 1.0) is None  # duplicate
    assert dec.packet(udp_telemetry(15, TEL), 1.0) is None  # arrived late
    assert dec.packet(udp_telemetry(21, TEL), 1.0) is not None


def test_it_waits_for_game_state_and_timings_and_skips_menus() -> None:
    dec = Ams2UdpDecoder()
    assert dec.packet(udp_telemetry(1, TEL), 1.0) is None  # nothing known yet
    udp_ready(dec)
    dec.packet(udp_game_state(50, 3, 5), 1.0)  # paused
    assert dec.packet(udp_telemetry(51, TEL), 1.0) is None


def test_it_ignores_truncated_packets_and_reassembles_participant_parts() -> None:
    dec = Ams2UdpDecoder()
    udp_ready(dec)
    assert dec.packet(b"\x01\x02\x03", 1.0) is None
    assert dec.packet(udp_telemetry(30, TEL)[:300], 1.0) is None  # cut short: not telemetry
    dec.packet(udp_participants(31, [f"D{i}" for i in range(16)], part=1, parts=2), 1.0)
    dec.packet(udp_participants(32, ["D16", "D17"], part=2, parts=2), 1.0)
    assert dec._names[0] == "D0" and dec._names[17] == "D17"


def test_it_reads_datagrams_from_a_real_socket_in_packet_order() -> None:
    src = Ams2UdpSource(port=0, host="127.0.0.1")
    try:
        port = src.transport.port  # type: ignore[attr-defined]
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dec = Ams2UdpDecoder()
        udp_ready(dec)
        packets = [
            udp_game_state(1, 2, 5),
            udp_timings(3, [ME]),
            udp_telemetry(9, {**TEL, "sRpm": 7777}),
            udp_telemetry(8, {**TEL, "sRpm": 1111}),  # reordered on the way
        ]
        for p in packets:
            tx.sendto(p, ("127.0.0.1", port))
        tx.close()
        frame = None
        deadline = time.monotonic() + 5.0
        while frame is None and time.monotonic() < deadline:
            frame = src.read()
            time.sleep(0.01)
        assert frame is not None and frame["rpm"] == 7777  # newest by mPacketNumber wins
    finally:
        src.close()


def _fixture(name: str) -> bytes:
    path = FIXTURES / "ams2" / name
    if not path.exists():
        pytest.skip(f"real fixture {path} absent (set SIMCOACH_FIXTURES to the shared fixtures folder)")
    return path.read_bytes()


@pytest.mark.fixtures
def test_it_decodes_the_real_project_cars_1_telemetry_packet() -> None:
    pc1 = decode_pc1_telemetry(_fixture("packet_0.bin"))
    assert pc1.build == 1122 and pc1.sequence == 0
    assert pc1.game_state == 2 and pc1.session_state == 5  # playing, race
    assert pc1.participants == 21 and pc1.viewed == 0
    assert pc1.track_length == pytest.approx(3890.4072, abs=1e-3)
    assert pc1.frame["speed"] == 0.0 and pc1.frame["gear"] == 0 and pc1.frame["lap_dist"] == 0
    assert pc1.frame["brake_temp_rl"] == 729


@pytest.mark.fixtures
def test_it_feeds_real_project_cars_1_packets_through_the_udp_decoder() -> None:
    dec = Ams2UdpDecoder()
    assert dec.packet(_fixture("packet_1.bin"), 1.0) is None  # strings: car and track
    assert dec.packet(_fixture("packet_2.bin"), 1.0) is None
    f = dec.packet(_fixture("packet_0.bin"), 2.0)
    assert f is not None and f["t"] == 2.0 and f["lap"] >= 1
    info = dec.info()
    assert info is not None and info.car == "RWD P30 LMP1" and info.kind == "race"
    assert info.track_length_m == pytest.approx(3890.4072, abs=1e-3)


@pytest.mark.fixtures
def test_udp_tyre_pressure_is_hundredths_of_a_bar_on_the_real_captures() -> None:
    """The unit, settled on real data: the PC1 packet says 181 (1.81 bar, 26.3 psi), and the
    race log's psi columns were written as value / 100 bar: each row is a whole number of
    hundredths of a bar in the same 1.5-2 bar range, and its finest step is one of them (a
    thousandths-of-a-bar field would step ten times finer). One hundredth of a bar is a kPa."""
    pc1 = decode_pc1_telemetry(_fixture("packet_0.bin"))
    assert [pc1.frame[f"tyre_press_{w}"] for w in ("fl", "fr", "rl", "rr")] == [181.0] * 4
    rows = _fixture("20171230_163321_bh_win.csv").decode().splitlines()[1:]
    psi = [float(v) for row in rows for v in row.split(",")[9:13]]
    raw = [p / PSI_PER_BAR * 100 for p in psi]  # back to what the game sent
    assert all(abs(r - round(r)) < 0.04 for r in raw)  # psi was written to 2 decimals
    assert 150 <= min(raw) and max(raw) <= 200
    # the game's resolution shows through: distinct values step by 0.145 psi = 0.01 bar
    levels = sorted(set(psi))
    assert min(b - a for a, b in zip(levels, levels[1:], strict=False)) == pytest.approx(0.145, abs=0.011)
    packet = bytearray(_fixture("packet_0.bin"))
    for value, p in zip(raw[:4], psi[:4], strict=True):
        struct.pack_into("<4H", packet, 440, *[round(value)] * 4)
        kpa = decode_pc1_telemetry(bytes(packet)).frame["tyre_press_fl"]
        assert kpa == pytest.approx(p * PSI_TO_KPA, abs=0.04)  # the 2-decimal psi


def test_a_udp_pressure_no_tyre_holds_is_read_as_sent_and_refused_with_its_value() -> None:
    """1900 hundredths of a bar is 19 bar: not a tyre. The frame keeps its other channels;
    the producer leaves the pressure out and logs it (test_telemetry)."""
    dec = Ams2UdpDecoder()
    udp_ready(dec)
    f = dec.packet(udp_telemetry(10, {**TEL, "sAirPressure": (1900, 190, 190, 190)}), 2.0)
    assert f is not None and f["tyre_press_fl"] == 1900 and f["tyre_press_fr"] == 190
    refused: dict[str, object] = {}
    q = quantise_frame(f, refused)
    assert q is not None and refused == {"tyre_press_fl": 1900.0}
    assert CHANNEL_ID["tyre_press_fl"] not in q and q[CHANNEL_ID["tyre_press_fr"]] == 1900  # 190.0 / 0.1


@pytest.mark.parametrize(("split", "gap"), [(1.25, 1.25), (-1.0, -1.0), (0.0, -1.0), (float("nan"), -1.0)])
def test_it_reports_the_gap_to_the_car_ahead(split: float, gap: float) -> None:
    f = shm(Ams2ShmDecoder(), mSplitTimeAhead=split)
    assert f is not None and f["gap_ahead"] == pytest.approx(gap)
    dec = Ams2UdpDecoder()
    udp_ready(dec)
    assert dec.packet(udp_timings(5, [ME], split_ahead=split), 1.0) is None
    f = dec.packet(udp_telemetry(10, TEL), 2.0)
    assert f is not None and f["gap_ahead"] == pytest.approx(gap)


def test_shared_memory_tyre_pressure_is_hundredths_of_a_bar_not_psi() -> None:
    """A real AMS2 capture holds ~161.6 in mAirPressure: 1.616 bar. Read as the header's PSI it
    would be 1 114 kPa (11 bar), over the channel's limit, and the channel would be lost."""
    f = shm(Ams2ShmDecoder(), mAirPressure=(161.6, 161.6, 163.8, 163.8))
    assert f is not None
    assert [f[f"tyre_press_{w}"] for w in ("fl", "fr", "rl", "rr")] == pytest.approx(
        [161.6, 161.6, 163.8, 163.8]
    )
    refused: dict[str, object] = {}
    assert quantise_frame(f, refused) is not None and refused == {}
