import pytest
from gamebytes import acc_pages

from simcoach_agent.channels import PSI_TO_KPA
from simcoach_agent.sources.acc import AccDecoder

STATIC = {
    "smVersion": "1.9",
    "carModel": "porsche_991ii_gt3_r",
    "track": "imola",
    "maxRpm": 9250,
    "maxFuel": 120.0,
}


def physics(packet: int = 1, **over: object) -> dict[str, object]:
    base = {
        "packetId": packet, "gas": 0.8, "brake": 0.0, "fuel": 50.0, "gear": 4, "rpms": 7200,
        "steerAngle": -0.1, "speedKmh": 181.5, "accG": (0.5, 0.0, -0.2),
        "wheelsPressure": (27.5, 27.6, 27.7, 27.8), "tyreCoreTemperature": (80.0, 81.0, 82.0, 83.0),
        "brakeTemp": (400.0, 410.0, 300.0, 310.0), "slipRatio": (0.01, 0.02, 0.03, 0.04),
        "absInAction": 1, "waterTemp": 90.0, "airTemp": 21.5, "roadTemp": 33.25,
    }  # fmt: skip
    return {**base, **over}


def graphics(packet: int = 1, **over: object) -> dict[str, object]:
    base = {
        "packetId": packet, "status": 2, "session": 2, "completedLaps": 3, "iCurrentTime": 45_250,
        "iLastTime": 101_234, "iBestTime": 100_500, "distanceTraveled": 15_000.0,
        "currentSectorIndex": 1, "normalizedCarPosition": 0.25, "activeCars": 2,
        "carCoordinates0": (1.0, 2.0, 3.0), "carCoordinates1": (10.0, 20.0, 30.0),
        "carID0": 7, "carID1": 1001, "playerCarID": 1001, "flag": 1, "isValidLap": 1,
    }  # fmt: skip
    return {**base, **over}


def test_it_decodes_a_live_frame_in_channel_units() -> None:
    dec = AccDecoder()
    f = dec.feed(acc_pages(physics(), graphics(), STATIC), 100.0)
    assert f is not None
    assert f["t"] == 100.0
    assert f["lap"] == 4  # 3 completed: driving the 4th
    assert f["lap_time"] == pytest.approx(45.25)
    assert f["last_lap_time"] == pytest.approx(101.234)
    assert f["best_lap_time"] == pytest.approx(100.5)
    assert f["gear"] == 3  # ACC 4 = third gear
    assert f["speed"] == pytest.approx(181.5)
    assert f["rpm"] == 7200 and f["max_rpm"] == 9250
    assert f["tyre_press_fl"] == pytest.approx(27.5 * PSI_TO_KPA, rel=1e-5)
    assert f["tyre_temp_rr"] == pytest.approx(83.0)
    assert f["brake_temp_rl"] == pytest.approx(300.0)
    assert (f["pos_x"], f["pos_y"], f["pos_z"]) == (10.0, 20.0, 30.0)  # the player's slot, not slot 0
    assert f["sector"] == 1 and f["lap_valid"] == 1 and f["in_pit"] == 0
    assert f["flag"] == 1 and f["abs_active"] == 1 and f["tc_active"] == 0
    assert (f["air_temp"], f["track_temp"]) == (21.5, 33.25)
    info = dec.info()
    assert info is not None and info.track == "imola" and info.car == "porsche_991ii_gt3_r"
    assert info.kind == "race"


@pytest.mark.parametrize(("raw", "gear"), [(0, -1), (1, 0), (2, 1)])
def test_it_maps_reverse_and_neutral(raw: int, gear: int) -> None:
    f = AccDecoder().feed(acc_pages(physics(gear=raw), graphics(), STATIC), 1.0)
    assert f is not None and f["gear"] == gear


def test_it_reports_pit_and_invalid_lap_and_no_times() -> None:
    g = graphics(isInPitLane=1, isValidLap=0, iLastTime=2_147_483_647, iBestTime=0)
    f = AccDecoder().feed(acc_pages(physics(), g, STATIC), 1.0)
    assert f is not None
    assert f["in_pit"] == 1 and f["lap_valid"] == 0
    assert f["last_lap_time"] == -1 and f["best_lap_time"] == -1


@pytest.mark.parametrize("status", [0, 1, 3])
def test_it_skips_replay_pause_and_off(status: int) -> None:
    assert AccDecoder().feed(acc_pages(physics(), graphics(status=status), STATIC), 1.0) is None


def test_it_skips_an_unchanged_packet_id() -> None:
    dec = AccDecoder()
    assert dec.feed(acc_pages(physics(5), graphics(), STATIC), 1.0) is not None
    assert dec.feed(acc_pages(physics(5), graphics()), 2.0) is None
    assert dec.feed(acc_pages(physics(6), graphics()), 3.0) is not None


def test_it_returns_none_for_zeroed_pages() -> None:
    dec = AccDecoder()
    assert dec.feed([("static", bytes(820)), ("physics", bytes(800)), ("graphics", bytes(1588))], 1.0) is None
    assert dec.info() is None


def test_it_takes_the_track_length_from_the_track_table() -> None:
    dec = AccDecoder()
    f = dec.feed(acc_pages(physics(), graphics(normalizedCarPosition=0.5), {**STATIC, "track": "spa"}), 1.0)
    assert f is not None and f["lap_dist"] == pytest.approx(3502.0)  # Spa is 7 004 m in tracks.py


def test_it_learns_the_track_length_from_distance_travelled() -> None:
    dec = AccDecoder()
    static = {**STATIC, "track": "nowhere_ring"}  # not in the track table
    dec.feed(
        acc_pages(physics(1), graphics(normalizedCarPosition=0.10, distanceTraveled=1000.0), static), 1.0
    )
    f = dec.feed(acc_pages(physics(2), graphics(normalizedCarPosition=0.20, distanceTraveled=1490.0)), 2.0)
    assert f is not None
    assert f["lap_dist"] == pytest.approx(0.20 * 4900.0, rel=1e-4)  # 490 m per 10 % of the lap
    info = dec.info()
    assert info is not None and info.track_length_m == pytest.approx(4900.0, rel=1e-4)


# (completedLaps, iCurrentTime, iLastTime, currentSectorIndex, lastSectorTime): lap 4 driven in
# 23.913 / 25.536 / 27.412 s; the game publishes the lap time one tick before the last sector.
LAP = [
    (3, 1_000, 101_234, 0, 30_000),  # the previous lap's third sector, still showing
    (3, 23_933, 101_234, 1, 23_913),
    (3, 49_469, 101_234, 2, 25_536),
    (4, 10, 76_861, 0, 25_536),
    (4, 30, 76_861, 0, 27_412),
    (4, 24_020, 76_861, 1, 24_000),  # the next lap's first sector: the last lap's splits hold
]


def drive_lap() -> list[dict[str, float]]:
    dec = AccDecoder()
    frames = []
    for n, (done, now, last, sector, sector_ms) in enumerate(LAP, start=1):
        g = graphics(
            n, completedLaps=done, iCurrentTime=now, iLastTime=last, currentSectorIndex=sector,
            lastSectorTime=sector_ms, position=6,
        )  # fmt: skip
        f = dec.feed(acc_pages(physics(n), g, STATIC if n == 1 else None), 100.0 + n / 10)
        assert f is not None
        frames.append(f)
    return frames


def test_it_passes_the_games_splits_once_the_three_sectors_make_the_lap_time() -> None:
    frames = drive_lap()
    splits = [(f["last_split1"], f["last_split2"]) for f in frames]
    assert splits[:4] == [(-1, -1)] * 4  # 30.0 + 23.913 + 25.536 is not 101.234, nor 76.861
    assert splits[4:] == [(23.913, 49.449)] * 2
    assert all(f["position"] == 6 for f in frames)


def test_it_gives_no_splits_when_the_sectors_do_not_add_up() -> None:
    dec = AccDecoder()
    for n, (done, now, last, sector, sector_ms) in enumerate(LAP, start=1):
        g = graphics(n, completedLaps=done, iCurrentTime=now, iLastTime=last + 5, currentSectorIndex=sector,
                     lastSectorTime=sector_ms)  # fmt: skip
        f = dec.feed(acc_pages(physics(n), g, STATIC if n == 1 else None), 100.0 + n / 10)
        assert f is not None and (f["last_split1"], f["last_split2"]) == (-1, -1)
