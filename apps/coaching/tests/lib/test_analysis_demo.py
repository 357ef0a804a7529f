"""The proof: the analysis finds mistakes planted in the demo car, to the simulator's time.

Lap 3 is a clean reference lap. Lap 4 brakes 15 m earlier into La Source, lap 5 takes
Pouhon 8 km/h slower; nothing else differs (noise off, and laps 3-5 all start from the same
speed). The simulator's own lap times are the ground truth for the time lost.
"""

from __future__ import annotations

import numpy as np
import pytest

from apps.traces.lib.analysis import biggest_losses, corner_table, resample_by_distance, segment_table
from simcoach_agent.sources.demo import DemoCar
from simcoach_agent.tracks import SPA

REF, EARLY_BRAKE, SLOW_POUHON = 3, 4, 5


@pytest.fixture(scope="module")
def car() -> DemoCar:
    return DemoCar(
        0,
        start_t=1.7e9,
        realtime=False,
        laps=SLOW_POUHON,
        noise=False,
        per_lap={
            EARLY_BRAKE: {"brake_earlier_m": {"La Source": 15}},
            SLOW_POUHON: {"corner_speed_delta_kmh": {"Pouhon": -8}},
        },
    )


@pytest.fixture(scope="module")
def laps(car: DemoCar) -> dict[int, dict[str, np.ndarray]]:
    frames = list(car.frames())
    columns = {name: np.array([f[name] for f in frames], dtype=np.float64) for name in frames[0]}
    out = {}
    for number in (REF, EARLY_BRAKE, SLOW_POUHON):
        idx = np.flatnonzero(columns["lap"] == number)
        idx = np.append(idx, idx[-1] + 1)  # the next lap's first frame closes this one
        out[number] = resample_by_distance({k: v[idx] for k, v in columns.items()}, length_m=SPA.length_m)
    return out


def truth(car: DemoCar, lap: int) -> float:
    return car.lap_plan(lap).time_s - car.lap_plan(REF).time_s


def test_it_times_each_lap_like_the_simulator(car: DemoCar, laps: dict[int, dict[str, np.ndarray]]) -> None:
    for number, lap in laps.items():
        assert lap["t"][-1] == pytest.approx(car.lap_plan(number).time_s, abs=0.005)


def test_it_blames_la_source_for_braking_early(car: DemoCar, laps: dict[int, dict[str, np.ndarray]]) -> None:
    rows = corner_table(laps[REF], laps[EARLY_BRAKE], track=SPA)
    worst = biggest_losses(rows, 1)[0]
    assert worst.name == "La Source"
    assert worst.time_delta_s == pytest.approx(truth(car, EARLY_BRAKE), abs=0.05)
    assert worst.brake_delta_m == pytest.approx(-15.0, abs=2.0)
    assert worst.other_min_kmh == pytest.approx(worst.ref_min_kmh, abs=0.5)
    others = [r for r in rows if r.name != "La Source"]
    assert max(abs(r.time_delta_s) for r in others) < 0.01


def test_it_blames_pouhon_for_the_slow_corner(car: DemoCar, laps: dict[int, dict[str, np.ndarray]]) -> None:
    rows = corner_table(laps[REF], laps[SLOW_POUHON], track=SPA)
    worst = biggest_losses(rows, 1)[0]
    assert worst.name == "Pouhon"
    assert worst.time_delta_s == pytest.approx(truth(car, SLOW_POUHON), abs=0.05)
    assert worst.other_min_kmh == pytest.approx(worst.ref_min_kmh - 8.0, abs=1.5)
    assert worst.other_exit_kmh < worst.ref_exit_kmh
    assert worst.brake_delta_m is not None
    assert abs(worst.brake_delta_m) < 10.0


def test_it_leaves_nothing_on_the_straights(car: DemoCar, laps: dict[int, dict[str, np.ndarray]]) -> None:
    for lap in (EARLY_BRAKE, SLOW_POUHON):
        corners = corner_table(laps[REF], laps[lap], track=SPA)
        straights = segment_table(laps[REF], laps[lap], track=SPA)
        assert max(abs(s.time_delta_s) for s in straights) < 0.02
        assert sum(r.time_delta_s for r in [*corners, *straights]) == pytest.approx(
            truth(car, lap), abs=0.005
        )
