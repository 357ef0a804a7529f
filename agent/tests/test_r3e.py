import math

import pytest
from gamebytes import r3e_page

from simcoach_agent.sources.layout import LayoutError
from simcoach_agent.sources.r3e import R3eDecoder


def values(ticks: int = 400, **over: object) -> dict[str, object]:
    base = {
        "version_major": 3, "version_minor": 5, "game_simulation_ticks": ticks,
        "player.position": (100.0, 5.0, -200.0), "player.local_g_force": (-1.2, 0.0, 0.5),
        "track_name": "Nordschleife", "layout_name": "GP", "layout_length": 5137.0, "session_type": 1,
        "completed_laps": 2, "current_lap_valid": 1, "track_sector": 2, "lap_distance": 1234.5,
        "lap_time_best_self": 111.1, "lap_time_previous_self": 112.2, "lap_time_current_self": 33.3,
        "vehicle_info.name": "Porsche 911 GT3 R", "car_speed": 50.0, "engine_rps": 800.0,
        "max_engine_rps": 900.0, "gear": 3, "fuel_left": 40.0, "fuel_capacity": 100.0,
        "engine_temp": 95.0, "throttle": 1.0, "brake": 0.0, "clutch": 0.0, "steer_input_raw": 0.25,
        "tire_wear": (0.9, 0.9, 1.0, 1.0), "tire_pressure": (180.0, 181.0, 182.0, 183.0),
        "tire_temp.fl": (70.0, 75.0, 80.0), "tire_temp.rr": (60.0, 65.0, 68.0),
        "brake_temp.fl": 450.0, "brake_temp.rr": 350.0,
    }  # fmt: skip
    return {**base, **over}


def feed(dec: R3eDecoder, v: dict[str, object]) -> dict[str, float] | None:
    return dec.feed([("r3e", r3e_page(v))], 5.0)


def test_it_decodes_the_player_in_channel_units() -> None:
    dec = R3eDecoder()
    f = feed(dec, values())
    assert f is not None
    assert f["speed"] == pytest.approx(180.0)  # 50 m/s
    assert f["rpm"] == pytest.approx(800.0 * 60 / (2 * math.pi), rel=1e-5)
    assert f["lap"] == 3 and f["sector"] == 1  # R3E sectors are 1-based
    assert f["lap_dist"] == pytest.approx(1234.5)
    assert f["last_lap_time"] == pytest.approx(112.2, rel=1e-6)
    assert f["tyre_temp_fl"] == 75.0 and f["tyre_temp_in_fl"] == 80.0 and f["tyre_temp_out_fl"] == 70.0
    assert f["tyre_temp_in_rr"] == 60.0  # right wheel: inner edge is the left one
    assert f["tyre_press_rl"] == pytest.approx(182.0)
    assert f["tyre_wear_fl"] == pytest.approx(10.0, abs=1e-4)
    assert f["g_lat"] == pytest.approx(1.2)  # +X is left in R3E
    assert f["pos_z"] == -200.0
    info = dec.info()
    assert info is not None and info.kind == "qualifying" and info.track == "Nordschleife - GP"
    assert info.track_length_m == 5137.0 and info.car == "Porsche 911 GT3 R"


@pytest.mark.parametrize(("raw", "present", "gear"), [(-1, True, -1), (0, True, 0), (-2, False, None)])
def test_it_maps_reverse_neutral_and_na(raw: int, present: bool, gear: int | None) -> None:
    f = feed(R3eDecoder(), values(gear=raw))
    assert f is not None and ("gear" in f) is present and f.get("gear") == gear


def test_it_reports_pit_and_invalid_lap() -> None:
    f = feed(R3eDecoder(), values(in_pitlane=1, current_lap_valid=0, lap_time_previous_self=-1.0))
    assert f is not None and f["in_pit"] == 1 and f["lap_valid"] == 0 and f["last_lap_time"] == -1


@pytest.mark.parametrize("flag", ["game_paused", "game_in_menus", "game_in_replay"])
def test_it_skips_pause_menus_and_replay(flag: str) -> None:
    assert feed(R3eDecoder(), values(**{flag: 1})) is None


def test_it_needs_the_ticks_to_advance() -> None:
    dec = R3eDecoder()
    assert feed(dec, values(ticks=10)) is not None
    assert feed(dec, values(ticks=10)) is None
    assert feed(dec, values(ticks=11)) is not None


def test_it_refuses_another_major_version() -> None:
    with pytest.raises(LayoutError, match="version 2.16"):
        feed(R3eDecoder(), values(version_major=2, version_minor=16))


def test_it_returns_none_for_a_zeroed_page() -> None:
    assert R3eDecoder().feed([("r3e", bytes(43_996))], 1.0) is None


@pytest.mark.parametrize(
    "previous",
    [(23.913, 49.449, 76.861), (23.913, 25.536, 27.412)],
    ids=["cumulative", "per-sector"],
)
def test_it_passes_the_games_splits_of_the_last_lap(previous: tuple[float, float, float]) -> None:
    v = values(lap_time_previous_self=76.861, sector_time_previous_self=previous)
    f = feed(R3eDecoder(), v)
    assert f is not None
    assert (f["last_split1"], f["last_split2"]) == (pytest.approx(23.913), pytest.approx(49.449))


@pytest.mark.parametrize(
    ("previous", "last"),
    [((-1.0, -1.0, -1.0), 76.861), ((23.9, 49.4, 80.0), 76.861), ((23.913, 49.449, 76.861), -1.0)],
    ids=["none", "another-laps", "no-lap-time"],
)
def test_it_gives_no_splits_that_do_not_make_the_last_lap(previous: tuple[float, ...], last: float) -> None:
    f = feed(R3eDecoder(), values(lap_time_previous_self=last, sector_time_previous_self=previous))
    assert f is not None and (f["last_split1"], f["last_split2"]) == (-1, -1)


def test_it_reports_position_and_the_gap_ahead() -> None:
    f = feed(R3eDecoder(), values(position=5, time_delta_front=1.5))
    assert f is not None and (f["position"], f["gap_ahead"]) == (5, 1.5)
    f = feed(R3eDecoder(), values(ticks=401, position=1, time_delta_front=-1.0))
    assert f is not None and (f["position"], f["gap_ahead"]) == (1, -1)
