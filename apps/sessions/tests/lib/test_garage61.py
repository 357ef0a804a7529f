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
