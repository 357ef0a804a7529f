import gzip
from pathlib import Path

import numpy as np
import pytest

from apps.sessions.lib.imports import ImportFormatError, import_garage61, import_session


@pytest.fixture(scope="module")
def lap(fixtures_dir: Path):
    with (fixtures_dir / "garage61" / "sample_lap.csv.gz").open("rb") as f:
        return import_session(f)


def test_it_imports_the_road_atlanta_lap(lap) -> None:
    assert (lap.source_format, lap.game, lap.track, lap.kind, lap.started_at) == (
        "garage61_csv",
        "iracing",
        None,
        None,
        None,
    )
    assert lap.track_length_m == pytest.approx(4090, rel=0.02)
    assert len(lap.laps) == 1 and lap.laps[0].complete
    assert lap.laps[0].time_s == pytest.approx(4727 / 60, abs=0.1)  # 60 Hz rows, ≈ 1:18.8
    assert any("60 Hz" in w for w in lap.warnings)


def test_it_converts_columns_to_our_units(lap) -> None:
    ch = lap.channels
    assert 80 < ch["speed"].min() and ch["speed"].max() < 300  # km/h from 24..73 m/s
    assert 0 <= ch["throttle"].min() and ch["throttle"].max() <= 1
    assert set(np.unique(ch["gear"])) <= set(range(0, 7))
    assert 1.0 < np.percentile(np.abs(ch["g_lat"]), 99) < 3.0  # kerb strikes spike to ≈ 4 g
    assert ch["lap_dist"][-1] == pytest.approx(lap.track_length_m, rel=0.001)
    assert lap.extra_units["steeringwheelangle"] == "rad"


def test_it_projects_lat_lon_onto_a_closed_loop_in_metres(lap) -> None:
    x, z = lap.channels["pos_x"], lap.channels["pos_z"]
    path = np.hypot(np.diff(x), np.diff(z)).sum()
    assert path == pytest.approx(lap.track_length_m, rel=0.01)
    assert np.hypot(x[-1] - x[0], z[-1] - z[0]) < 10  # the lap ends where it began
    assert 500 < np.ptp(x) < 2000 and 500 < np.ptp(z) < 2000


def test_it_names_a_missing_header(fixtures_dir: Path) -> None:
    text = gzip.decompress((fixtures_dir / "garage61" / "sample_lap.csv.gz").read_bytes()).decode()
    without_header = text.split("\n", 1)[1]
    with pytest.raises(ImportFormatError, match="Garage 61 CSV: header lacks Speed, LapDistPct"):
        import_garage61(without_header)


def test_it_names_a_ragged_row_and_a_partial_lap() -> None:
    with pytest.raises(ImportFormatError, match="row 3 has 1 cells"):
        import_garage61("Speed,LapDistPct\n10,0.1\n11\n")
    with pytest.raises(ImportFormatError, match="covers 0.10 of a lap"):
        import_garage61("Speed,LapDistPct\n10,0.1\n11,0.2\n")


LIME_ROCK = "Garage 61 - Master Lonn - Ray FF1600 - Lime Rock Park (Grand Prix) - 00.57.444 - 01KDQZM87N38QEV1M09J43APE5.csv"
WINTON = "Garage 61 - Lonn Ponn - Ray FF1600 - Winton Motor Raceway (National Circuit) - 01.26.439 - 01KDAWVAEK79DMWXX8A1H9NYN4.csv"


@pytest.mark.parametrize(("name", "rows", "seconds"), [(LIME_ROCK, 3447, 57.444), (WINTON, 5186, 86.439)])
def test_it_times_the_lap_like_garage61_names_it(
    name: str, rows: int, seconds: float, fixtures_dir: Path
) -> None:
    with (fixtures_dir / "garage61" / name).open("rb") as f:
        s = import_session(f)
    (lap,) = s.laps
    assert len(s.channels["t"]) == rows
    assert (lap.timing, lap.partial, lap.complete) == ("measured", False, True)
    assert lap.time_s == pytest.approx(seconds, abs=0.005)  # the time in Garage 61's file name


def test_it_ends_a_lap_whose_last_row_is_past_the_line_at_the_line(fixtures_dir: Path) -> None:
    with (fixtures_dir / "garage61" / LIME_ROCK).open("rb") as f:
        s = import_session(f)
    t, pct = s.channels["t"], s.extra["lapdistpct"]
    assert pct[-2] > 0.999 and pct[-1] < 0.001  # the last row has crossed
    assert t[-2] < s.laps[0].end_t < t[-1]
    assert s.channels["lap_dist"][-1] < 1.0 and s.channels["lap_dist"][-2] > 0.99 * s.track_length_m


def test_it_maps_the_steering_wheel_angle_to_our_steering(lap) -> None:
    angle, steering = lap.extra["steeringwheelangle"], lap.channels["steering"]
    # iRacing turns left positive; ours is -1 left .. 1 right, as a share of the assumed 270° lock
    assert np.allclose(steering, -angle / np.radians(270.0))
    assert 0.25 < np.abs(steering).max() < 1.0
    assert any("270° lock" in w for w in lap.warnings)


def test_it_marks_a_lap_short_of_the_line_partial_and_untimed() -> None:
    rows = "".join(f"50,{p:.3f}\n" for p in np.linspace(0.0, 0.7, 200))
    s = import_garage61("Speed,LapDistPct\n" + rows)
    (lap,) = s.laps
    assert (lap.timing, lap.partial, lap.complete) == ("untimed", True, False)
    assert lap.time_s == pytest.approx(199 / 60)  # what the rows span, no lap time


def test_it_refuses_a_file_that_crosses_the_line_twice() -> None:
    rows = "".join(f"50,{p % 1:.3f}\n" for p in np.linspace(0.5, 2.2, 300))
    with pytest.raises(ImportFormatError, match="crosses the line 2 times"):
        import_garage61("Speed,LapDistPct\n" + rows)
