"""Post-lap analysis on synthetic laps: resampling, delta, corners, tables, summary."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apps.traces.lib.analysis import (
    biggest_losses,
    corner_table,
    cumulative_delta,
    detect_corners,
    lap_summary,
    resample_by_distance,
    segment_table,
)
from simcoach_agent.tracks import Corner, TrackInfo

from .laps import lap_time, profile, sample

LENGTH_M = 1000.0
SYN_LENGTH_M = 1600.0  # long enough to reach top speed between the corners
CORNERS = [(300.0, 80.0), (1000.0, 140.0)]
TRACK = TrackInfo(
    key="test",
    name="Test Ring",
    length_m=3000.0,
    corners=(Corner("Hairpin", 850.0, 1000.0, 1080.0), Corner("Sweeper", 1950.0, 2000.0, 2100.0)),
    sectors=(1500.0, 3000.0),
)


def steady(speed_ms: float = 50.0, *, length_m: float = LENGTH_M, t0: float = 1e9) -> dict[str, np.ndarray]:
    dist = np.array([0.0, length_m])
    return sample(dist, np.full(2, speed_ms * 3.6), t0=t0)


def test_it_turns_epoch_time_into_elapsed_time_on_a_distance_grid() -> None:
    out = resample_by_distance(steady(), length_m=LENGTH_M)
    assert out["lap_dist"][0] == 0.0
    assert out["lap_dist"][-1] == LENGTH_M
    assert np.allclose(np.diff(out["lap_dist"]), 1.0)
    assert out["t"][0] == 0.0
    assert out["t"][500] == pytest.approx(10.0, abs=1e-6)
    assert out["t"][-1] == pytest.approx(20.0, abs=1e-6)


def test_it_honours_the_step() -> None:
    out = resample_by_distance(steady(), length_m=LENGTH_M, step_m=5.0)
    assert out["lap_dist"].size == 201
    assert out["speed"] == pytest.approx(np.full(201, 180.0))


def test_it_unwraps_lap_distance_at_the_line() -> None:
    dist = np.array([-6.0, LENGTH_M + 6.0])
    frames = sample(dist, np.full(2, 180.0))
    frames["lap_dist"] = np.mod(frames["lap_dist"], LENGTH_M)  # 994..999 first, 0..6 last
    out = resample_by_distance(frames, length_m=LENGTH_M)
    assert np.all(np.diff(out["t"]) > 0)
    assert out["t"][-1] == pytest.approx(20.0, abs=1e-6)


def test_it_survives_duplicates_backward_noise_and_a_lone_glitch() -> None:
    frames = steady()
    n = frames["t"].size
    order = np.concatenate((np.arange(n), [100, 200, 200, 300]))  # repeated frames
    noisy = {k: v[np.sort(order)] for k, v in frames.items()}
    noisy["lap_dist"][150] -= 0.4  # steps back by 0.4 m
    noisy["lap_dist"][400] = 5000.0  # a corrupt sample
    out = resample_by_distance(noisy, length_m=LENGTH_M)
    assert np.all(np.diff(out["t"]) >= 0)
    assert out["t"][-1] == pytest.approx(20.0, abs=0.02)
    assert out["t"][500] == pytest.approx(10.0, abs=0.02)


def test_it_keeps_a_pit_stop_as_time_spent_at_one_distance() -> None:
    before, after = steady(length_m=500.0), steady(length_m=500.0, t0=1e9 + 35.0)
    stop_t = 1e9 + 10.0 + np.arange(0.0, 25.0, 1 / 60)
    frames = {
        "t": np.concatenate((before["t"], stop_t, after["t"])),
        "lap_dist": np.concatenate(
            (before["lap_dist"], np.full(stop_t.size, 500.0), after["lap_dist"] + 500.0)
        ),
        "speed": np.concatenate((before["speed"], np.zeros(stop_t.size), after["speed"])),
    }
    out = resample_by_distance(frames, length_m=LENGTH_M)
    assert out["t"][499] == pytest.approx(9.98, abs=0.01)
    assert out["t"][502] == pytest.approx(35.04, abs=0.02)
    assert out["t"][-1] == pytest.approx(45.0, abs=0.02)


def test_it_holds_integer_channels_instead_of_blending_them() -> None:
    frames = steady()
    frames["gear"] = np.where(frames["lap_dist"] < 600.0, 3, 4)
    frames["sector"] = np.where(frames["lap_dist"] < 500.0, 0.0, 1.0)
    out = resample_by_distance(frames, length_m=LENGTH_M)
    assert set(np.unique(out["gear"])) == {3, 4}
    assert set(np.unique(out["sector"])) == {0.0, 1.0}
    assert out["gear"][599] == 3
    assert out["gear"][601] == 4


def test_it_refuses_a_trace_of_one_frame() -> None:
    with pytest.raises(ValueError, match="two frames"):
        resample_by_distance({"t": np.array([1.0]), "lap_dist": np.array([3.0])}, length_m=LENGTH_M)


def test_it_signs_the_delta_positive_when_the_other_lap_is_slower() -> None:
    ref = resample_by_distance(steady(50.0), length_m=LENGTH_M)
    slow = resample_by_distance(steady(40.0), length_m=LENGTH_M, step_m=2.0)
    delta = cumulative_delta(ref, slow)
    assert delta.shape == ref["lap_dist"].shape
    assert np.all(np.diff(delta) >= -1e-9)
    assert delta[-1] == pytest.approx(25.0 - 20.0, abs=1e-6)
    assert cumulative_delta(slow, ref)[-1] == pytest.approx(-5.0, abs=1e-6)


def synthetic(
    length_m: float = SYN_LENGTH_M, corners: list[tuple[float, float]] = CORNERS, **kw: float
) -> dict[str, np.ndarray]:
    dist, speed, brake = profile(length_m, corners, **kw)
    return resample_by_distance(sample(dist, speed, brake=brake), length_m=length_m)


def test_it_finds_corners_at_speed_minima_and_ignores_small_dips() -> None:
    lap = synthetic(corners=[*CORNERS, (1400.0, 243.0)])
    corners = detect_corners(lap, track=None)
    assert [c.name for c in corners] == ["T1", "T2"]
    assert [c.apex_m for c in corners] == pytest.approx([300.0, 1000.0], abs=2.0)
    assert [c.min_speed_kmh for c in corners] == pytest.approx([80.0, 140.0], abs=2.0)
    for c in corners:
        assert c.start_m < c.apex_m < c.end_m


def test_it_names_corners_from_the_track_table() -> None:
    lap = synthetic(3000.0, [(1000.0, 70.0), (1500.0, 160.0), (2000.0, 150.0), (2070.0, 145.0)])
    corners = detect_corners(lap, track=TRACK)
    assert [c.name for c in corners] == ["Hairpin", "T2", "Sweeper"]
    hairpin = corners[0]
    assert (hairpin.start_m, hairpin.end_m) == (850.0, 1080.0)
    assert corners[2].min_speed_kmh == pytest.approx(145.0, abs=2.0)  # two minima, one corner


def test_it_charges_early_braking_to_the_corner() -> None:
    ref, other = synthetic(), synthetic(brake_earlier_m=20.0)
    rows = corner_table(ref, other, track=None)
    total = cumulative_delta(ref, other)[-1]
    assert total > 0.05
    for row in rows:
        assert row.brake_delta_m == pytest.approx(-20.0, abs=2.0)
        assert row.ref_min_kmh == pytest.approx(row.other_min_kmh, abs=0.5)
    assert sum(r.time_delta_s for r in rows) == pytest.approx(total, abs=0.005)


def test_it_charges_a_slow_exit_to_the_corner_and_tiles_the_lap() -> None:
    ref = synthetic()
    slower = [CORNERS[0], (1000.0, 130.0)]
    other = synthetic(corners=slower)
    total = lap_time(*profile(SYN_LENGTH_M, slower)[:2]) - lap_time(*profile(SYN_LENGTH_M, CORNERS)[:2])
    rows = corner_table(ref, other, track=None)
    straights = segment_table(ref, other, track=None)
    worst = biggest_losses(rows, 1)[0]
    assert worst.name == "T2"
    assert worst.other_min_kmh == pytest.approx(130.0, abs=1.0)
    assert worst.exit_delta_s > 0
    assert worst.time_delta_s == pytest.approx(total, abs=0.01)
    assert sum(r.time_delta_s for r in [*rows, *straights]) == pytest.approx(
        cumulative_delta(ref, other)[-1], abs=1e-9
    )
    bounds = sorted([(r.from_m, r.to_m) for r in rows] + [(s.start_m, s.end_m) for s in straights])
    assert bounds[0][0] == 0.0 and bounds[-1][1] == SYN_LENGTH_M
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(bounds, bounds[1:], strict=False))


def test_it_stores_tables_as_json() -> None:
    ref, other = synthetic(), synthetic(brake_earlier_m=10.0)
    rows = [*corner_table(ref, other, track=None), *segment_table(ref, other, track=None)]
    data = json.loads(json.dumps([r.to_dict() for r in rows]))
    assert data[0]["name"] == "T1"
    assert data[0]["brake_delta_m"] == pytest.approx(-10.0, abs=2.0)


def test_it_summarises_a_lap() -> None:
    n = 600
    t = 1e9 + np.arange(n) / 60
    brake = np.zeros(n)
    brake[100:130] = 0.8
    brake[130:140] = 0.07  # trembles between the thresholds: still the same press
    brake[140:160] = 0.6
    brake[400:430] = 0.9
    fuel = np.linspace(50.0, 47.0, n)
    fuel[300:] += 20.0  # refuelled half way
    trace = {
        "t": t,
        "speed": np.linspace(100.0, 250.0, n),
        "throttle": np.where(np.arange(n) < 300, 1.0, 0.5),
        "brake": brake,
        "fuel": fuel,
        "g_lat": np.full(n, 1.2),
        "g_lon": np.full(n, -1.6),
        "tyre_temp_fl": np.full(n, 85.0),
        "brake_temp_rr": np.linspace(300.0, 500.0, n),
    }
    summary = lap_summary(trace)
    assert summary.max_speed_kmh == 250.0
    assert summary.avg_throttle == pytest.approx(0.75, abs=0.01)
    assert summary.full_throttle_pct == pytest.approx(50.0, abs=0.5)
    assert summary.brake_count == 2
    assert summary.fuel_used_l == pytest.approx(3.0, abs=0.01)
    assert summary.peak_g == pytest.approx(2.0)
    assert summary.tyre_temp_avg == {"fl": 85.0}
    assert summary.brake_temp_max == {"rr": 500.0}
    assert json.loads(json.dumps(summary.to_dict()))["brake_count"] == 2


def test_it_summarises_what_a_lap_has() -> None:
    summary = lap_summary({"t": np.array([0.0, 1.0]), "speed": np.array([10.0, 20.0])})
    assert summary.duration_s == 1.0
    assert summary.avg_throttle is None
    assert summary.brake_count is None
    assert summary.tyre_temp_avg == {}
