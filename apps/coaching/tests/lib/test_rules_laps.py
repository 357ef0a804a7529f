"""Live rules that need whole laps: fuel per lap, box call, live and sector deltas."""

from __future__ import annotations

import numpy as np
import pytest

from apps.coaching.lib.rules import LiveCoach

from .frames import HZ, batch

LENGTH_M = 1000.0
SECTOR_ENDS = (1000.0 / 3, 2000.0 / 3)


def lap(number: int, speed_ms: float, *, t0: float, extra_s: float = 0.0) -> dict[str, np.ndarray]:
    """One lap of a 1 km track at constant speed, plus `extra_s` of the next lap."""
    lap_s = LENGTH_M / speed_ms
    elapsed = np.arange(0.0, lap_s + extra_s, 1 / HZ)
    dist = elapsed * speed_ms
    next_lap = dist >= LENGTH_M
    dist = np.where(next_lap, dist - LENGTH_M, dist)
    return {
        "t": t0 + elapsed,
        "lap": np.where(next_lap, number + 1, number).astype(np.float64),
        "lap_dist": dist,
        "lap_time": np.where(next_lap, elapsed - lap_s, elapsed),
        "speed": np.full(elapsed.size, speed_ms * 3.6),
        "sector": np.searchsorted(SECTOR_ENDS, dist, side="right").astype(np.float64),
    }


def feed_in_batches(coach: LiveCoach, frames: dict[str, np.ndarray], size: int = 3) -> list:
    n = frames["t"].size
    return [m for i in range(0, n, size) for m in coach.feed({k: v[i : i + size] for k, v in frames.items()})]


def complete(coach: LiveCoach, number: int, time_s: float, **kwargs: object) -> list:
    args: dict = {"valid": True, "fuel_used_l": None, "in_or_out": False, "trace": None} | kwargs
    return coach.lap_completed(lap_number=number, time_s=time_s, **args)


def coach_with_reference() -> LiveCoach:
    coach = LiveCoach(track_length_m=LENGTH_M)
    reference = lap(1, 50.0, t0=1000.0)
    feed_in_batches(coach, reference)
    complete(coach, 1, 20.0, trace=reference)
    return coach


def test_it_averages_fuel_over_green_laps_only() -> None:
    coach = LiveCoach()
    coach.feed(batch(fuel=40.0))
    complete(coach, 1, 130.0, fuel_used_l=3.1)
    complete(coach, 2, 150.0, fuel_used_l=5.0, valid=False)
    complete(coach, 3, 150.0, fuel_used_l=1.0, in_or_out=True)
    messages = complete(coach, 4, 130.0, fuel_used_l=2.9)
    assert [m.text for m in messages] == ["Fuel: 3.00 l a lap, 13.3 laps left"]
    assert messages[0].data["litres_per_lap"] == pytest.approx(3.0)


def test_it_reads_fuel_used_from_the_trace_when_not_given() -> None:
    coach = LiveCoach()
    coach.feed(batch(fuel=30.0))
    messages = complete(coach, 1, 130.0, trace={"fuel": np.linspace(34.0, 31.5, 100)})
    assert messages[0].data["litres_per_lap"] == pytest.approx(2.5)


@pytest.mark.parametrize(("fuel_l", "box"), [(5.5, True), (6.2, True), (7.0, False), (30.0, False)])
def test_it_calls_the_driver_in_when_the_next_lap_cannot_be_finished(fuel_l: float, box: bool) -> None:
    coach = LiveCoach()
    complete(coach, 1, 130.0, fuel_used_l=3.0)
    coach.feed(batch(fuel=fuel_l))
    messages = complete(coach, 2, 130.0, fuel_used_l=3.0)
    boxes = [m for m in messages if m.rule == "fuel_box"]
    assert bool(boxes) is box
    if box:
        assert boxes[0].severity == "critical"
        assert boxes[0].text.startswith("Box this lap")


def test_it_says_nothing_about_fuel_before_a_green_lap() -> None:
    coach = LiveCoach()
    coach.feed(batch(fuel=20.0))
    assert complete(coach, 1, 150.0, fuel_used_l=3.0, in_or_out=True) == []


def test_it_gives_a_live_delta_to_the_best_lap() -> None:
    coach = coach_with_reference()
    slower = lap(2, 45.0, t0=1020.0)
    messages = feed_in_batches(coach, slower)
    deltas = [m for m in messages if m.rule == "live_delta"]
    assert len(deltas) == 1  # one per cool-down, not one per batch
    assert coach.state.delta_s == pytest.approx(LENGTH_M / 45 - LENGTH_M / 50, abs=0.02)
    assert deltas[0].data["delta_s"] > 0


def test_it_splits_sector_deltas_at_sector_changes_and_at_the_line() -> None:
    coach = coach_with_reference()
    messages = feed_in_batches(coach, lap(2, 45.0, t0=1020.0))
    messages += complete(coach, 2, LENGTH_M / 45)
    sectors = [m for m in messages if m.rule == "sector_delta"]
    assert [m.data["sector"] for m in sectors] == [1, 2, 3]
    per_sector = (LENGTH_M / 3) * (1 / 45 - 1 / 50)
    for message in sectors:
        assert message.data["delta_s"] == pytest.approx(per_sector, abs=0.01)
    assert sectors[0].text.startswith("Sector 1: +0.74")
    assert sum(m.data["delta_s"] for m in sectors) == pytest.approx(LENGTH_M / 45 - 20.0, abs=1e-6)


def test_it_closes_the_last_sector_when_the_next_lap_already_started() -> None:
    coach = coach_with_reference()
    feed_in_batches(coach, lap(2, 55.0, t0=1020.0, extra_s=2.0), size=30)
    messages = complete(coach, 2, LENGTH_M / 55)
    (last,) = [m for m in messages if m.rule == "sector_delta"]
    assert last.data["sector"] == 3
    assert last.data["delta_s"] == pytest.approx((LENGTH_M / 3) * (1 / 55 - 1 / 50), abs=0.01)
    assert last.text.startswith("Sector 3: \u22120.")


def test_it_keeps_the_best_lap_as_the_reference() -> None:
    coach = coach_with_reference()
    complete(coach, 2, 25.0, trace=lap(2, 40.0, t0=1020.0))
    complete(coach, 3, 18.0, trace=lap(3, 55.0, t0=1045.0), valid=False)
    assert coach.state.best_lap_s == 20.0
    complete(coach, 4, 1000 / 55, trace=lap(4, 55.0, t0=1065.0))
    assert coach.state.best_lap_s == pytest.approx(1000 / 55)
    assert coach.state.ref_time is not None
    assert coach.state.ref_time[-1] == pytest.approx(1000 / 55, abs=1e-3)


def test_it_gives_no_delta_without_a_reference() -> None:
    coach = LiveCoach()
    messages = feed_in_batches(coach, lap(1, 50.0, t0=1000.0))
    assert messages == []
    assert coach.state.delta_s is None
