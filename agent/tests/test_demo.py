"""The demo car: a simulated GT3 at Spa, checked against its own ground truth."""

from __future__ import annotations

import math
import statistics
import time

import pytest

from simcoach_agent.channels import BY_NAME, CHANNELS, Frame
from simcoach_agent.sources.base import SessionInfo
from simcoach_agent.sources.demo import HZ, DemoCar
from simcoach_agent.tracks import SPA
from simcoach_agent.wire import decode_batch, decode_message, encode_batch

START_T = 1_700_000_000.0


def _laps(frames: list[Frame]) -> dict[int, list[Frame]]:
    out: dict[int, list[Frame]] = {}
    for f in frames:
        out.setdefault(int(f["lap"]), []).append(f)
    return out


@pytest.fixture(scope="module")
def noisy() -> tuple[DemoCar, list[Frame]]:
    car = DemoCar(3, start_t=START_T, realtime=False, laps=3)
    return car, list(car.frames())


@pytest.fixture(scope="module")
def steady() -> tuple[DemoCar, list[Frame]]:
    # Laps 2 and 3 would be identical without noise; lap 3 brakes 15 m earlier into La Source.
    car = DemoCar(
        0,
        start_t=START_T,
        realtime=False,
        laps=3,
        noise=False,
        per_lap={3: {"brake_earlier_m": {"La Source": 15}}},
    )
    return car, list(car.frames())


def test_it_reproduces_a_lap_for_the_same_seed(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    again = DemoCar(3, start_t=START_T, realtime=False, laps=3)
    assert again.lap_times_s() == noisy[0].lap_times_s()
    assert list(again.frames()) == frames
    other = DemoCar(4, start_t=START_T, realtime=False, laps=3)
    assert other.lap_times_s() != noisy[0].lap_times_s()


def test_it_laps_spa_in_a_gt3_lap_time(noisy: tuple[DemoCar, list[Frame]]) -> None:
    car, frames = noisy
    out_lap, *flying = car.lap_times_s()
    assert all(137.0 <= t <= 140.0 for t in flying)  # 2:17-2:20
    assert out_lap > max(flying) + 5  # pit lane limiter and cold tyres
    top = max(f["speed"] for f in frames)
    assert 260 <= top <= 285


def test_it_samples_at_exactly_60_hz(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    assert frames[0]["t"] == START_T
    assert all(f["t"] == START_T + i / HZ for i, f in enumerate(frames))


def test_it_covers_the_lap_and_counts_laps_at_the_line(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    by_lap = _laps(frames)
    assert sorted(by_lap) == [1, 2, 3, 4]
    assert len(by_lap[4]) == 1  # the run ends on the frame that reports lap 3's time
    for lap in (2, 3):
        dists = [f["lap_dist"] for f in by_lap[lap]]
        assert dists[0] < 2.0 and dists[-1] > SPA.length_m - 2.0
        assert all(b > a for a, b in zip(dists, dists[1:], strict=False))
    for a, b in zip(frames, frames[1:], strict=False):
        wrapped = b["lap_dist"] < a["lap_dist"]
        assert (b["lap"] == a["lap"] + 1) == wrapped
        assert b["lap"] in (a["lap"], a["lap"] + 1)


def test_it_reports_the_simulated_lap_time_as_last_lap_time(noisy: tuple[DemoCar, list[Frame]]) -> None:
    car, frames = noisy
    truth = car.lap_times_s()
    by_lap = _laps(frames)
    assert by_lap[1][0]["last_lap_time"] == -1 and by_lap[1][0]["best_lap_time"] == -1
    for lap in (1, 2, 3):
        first_after = by_lap[lap + 1][0]
        assert first_after["last_lap_time"] == truth[lap - 1]
        assert 0 <= first_after["lap_time"] < 1 / HZ
        assert by_lap[lap][-1]["lap_time"] <= truth[lap - 1]
    valid_flying = [truth[k - 1] for k in (2, 3) if car.lap_plan(k).valid]
    assert by_lap[4][0]["best_lap_time"] == (min(valid_flying) if valid_flying else -1)


def test_it_closes_the_trajectory(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    lap = _laps(frames)[2]
    first, last = lap[0], lap[-1]
    gap = math.dist(
        (first["pos_x"], first["pos_y"], first["pos_z"]), (last["pos_x"], last["pos_y"], last["pos_z"])
    )
    assert gap < 5.0  # one frame apart across the line


def test_it_draws_a_closed_clockwise_loop_with_spa_climb() -> None:
    pts = SPA.centreline
    assert pts is not None
    assert math.dist(pts[0], pts[-1]) < 0.01
    xs, ys, zs = zip(*pts, strict=True)
    area = sum(x0 * z1 - x1 * z0 for x0, z0, x1, z1 in zip(xs, zs, xs[1:], zs[1:], strict=False)) / 2
    assert area < -0.8e6  # clockwise seen from above; about 0.9 km²
    assert 90 <= max(ys) - min(ys) <= 115
    # Raidillon climbs out of the Eau Rouge dip.
    step = SPA.centreline_step_m
    assert ys[int(1280 / step)] - ys[int(1000 / step)] > 25


def test_it_brakes_earlier_into_la_source_when_asked(steady: tuple[DemoCar, list[Frame]]) -> None:
    car, frames = steady
    normal, early = car.lap_times_s()[1:]
    assert early > normal + 0.2

    def brake_point(lap: list[Frame]) -> float:
        return next(f["lap_dist"] for f in lap if 100 < f["lap_dist"] < 396 and f["brake"] > 0.1)

    by_lap = _laps(frames)
    moved = brake_point(by_lap[2]) - brake_point(by_lap[3])
    assert 13.0 <= moved <= 17.0
    planned = [car.lap_plan(k).brake_point_m("La Source") for k in (2, 3)]
    assert planned[0] is not None and planned[1] is not None
    assert planned[0] - planned[1] == pytest.approx(15, abs=1)


def test_it_carries_less_speed_through_pouhon_when_asked() -> None:
    normal = DemoCar(0, realtime=False, noise=False)
    slow = DemoCar(0, realtime=False, noise=False, corner_speed_delta_kmh={"Pouhon": -8})
    before, after = normal.lap_plan(2), slow.lap_plan(2)
    assert after.min_speed_kmh("Pouhon") - before.min_speed_kmh("Pouhon") == pytest.approx(-8, abs=0.5)
    assert after.time_s > before.time_s + 0.2
    assert after.min_speed_kmh("La Source") == pytest.approx(before.min_speed_kmh("La Source"))


def test_it_drives_identical_laps_without_noise_and_varies_them_with_it(
    steady: tuple[DemoCar, list[Frame]], noisy: tuple[DemoCar, list[Frame]]
) -> None:
    plain = DemoCar(0, realtime=False, noise=False)
    times = plain.lap_times_s(4)[1:]
    assert max(times) - min(times) < 1e-6
    assert steady[0].lap_times_s()[1] == pytest.approx(times[0])
    varied = DemoCar(3, realtime=False).lap_times_s(6)[1:]
    assert statistics.stdev(varied) > 0.02


def test_it_keeps_every_channel_inside_its_range(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    names = {c.name for c in CHANNELS}
    for f in frames:
        assert set(f) == names
        for name, value in f.items():
            ch = BY_NAME[name]
            assert ch.lo <= value <= ch.hi, (name, value)


def test_it_looks_like_a_gt3_at_spa(noisy: tuple[DemoCar, list[Frame]]) -> None:
    car, frames = noisy
    plan = car.lap_plan(2)
    assert 60 <= plan.min_speed_kmh("La Source") <= 75
    assert 60 <= plan.min_speed_kmh("Bus Stop") <= 80
    assert 160 <= plan.min_speed_kmh("Pouhon") <= 185
    assert max(f["gear"] for f in frames) == 6 and max(f["rpm"] for f in frames) < frames[0]["max_rpm"]
    assert any(0.2 < f["throttle"] < 0.8 for f in frames)  # corner exits are not on/off
    assert any(f["abs_active"] for f in frames)
    assert max(f["brake_temp_fl"] for f in frames) >= 500


def test_it_warms_the_tyres_from_a_cold_out_lap(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    by_lap = _laps(frames)
    start = by_lap[1][0]
    assert start["in_pit"] == 1 and start["speed"] == 0
    assert 35 <= start["tyre_temp_fl"] <= 45 and 155 <= start["tyre_press_fl"] <= 170
    assert all(f["in_pit"] == (1 if f["lap_dist"] < 300 else 0) for f in by_lap[1])
    assert not any(f["in_pit"] for f in by_lap[2])
    hot = by_lap[3]
    for w in ("fl", "fr", "rl", "rr"):
        mean = statistics.fmean(f[f"tyre_temp_{w}"] for f in hot)
        assert 78 <= mean <= 96, (w, mean)
        assert 180 <= statistics.fmean(f[f"tyre_press_{w}"] for f in hot) <= 200
    # Spa runs clockwise: more right-handers load the left-hand tyres.
    left = statistics.fmean(f["tyre_temp_fl"] + f["tyre_temp_rl"] for f in hot)
    right = statistics.fmean(f["tyre_temp_fr"] + f["tyre_temp_rr"] for f in hot)
    assert left > right
    assert frames[-1]["fuel"] == pytest.approx(60 - 3 * 3.6, abs=1.5)
    assert 0 < frames[-1]["tyre_wear_fl"] < 2


def test_it_invalidates_a_lap_on_request() -> None:
    car = DemoCar(0, start_t=START_T, realtime=False, noise=False, per_lap={2: {"invalid": True}})
    plan = car.lap_plan(2)
    assert not plan.valid and car.lap_plan(3).valid
    assert plan.invalid_from_m == SPA.corner("Pouhon").apex_m  # type: ignore[union-attr]


def test_it_rejects_an_unknown_corner_name() -> None:
    with pytest.raises(KeyError, match="Eau Blanche"):
        DemoCar(brake_earlier_m={"Eau Blanche": 5})


def test_it_survives_the_wire_round_trip(noisy: tuple[DemoCar, list[Frame]]) -> None:
    _, frames = noisy
    batch = frames[8000:8600]
    seq, n, cols = decode_batch(decode_message(encode_batch(42, batch)))
    assert (seq, n) == (42, 600)
    for name, values in cols.items():
        res = BY_NAME[name].resolution
        for original, back in zip((f[name] for f in batch), values, strict=True):
            assert abs(original - back) <= res / 2 + 1e-6, name


def test_it_paces_read_by_the_wall_clock() -> None:
    later = DemoCar(realtime=True, start_t=time.time() + 3600)
    assert later.read() is None
    behind = DemoCar(realtime=True, start_t=time.time() - 0.5)
    got = []
    for _ in range(1000):
        frame = behind.read()
        if frame is None:
            break
        got.append(frame)
    assert len(got) >= 25  # the half second already due, handed out one frame per call
    assert all(b["t"] - a["t"] == pytest.approx(1 / HZ, abs=1e-5) for a, b in zip(got, got[1:], strict=False))


def test_it_reads_without_waiting_when_not_realtime_and_stops_after_its_laps() -> None:
    car = DemoCar(realtime=False, laps=1, start_t=START_T)
    count = 0
    while (frame := car.read()) is not None:
        count += 1
        last = frame
    assert car.finished and last["lap"] == 2
    assert count == len(list(DemoCar(realtime=False, laps=1, start_t=START_T).frames()))


def test_it_describes_its_session() -> None:
    info = DemoCar(kind="race", realtime=False).info()
    assert info == SessionInfo(
        game="demo",
        track="Spa-Francorchamps",
        car="Mercedes-AMG GT3",
        kind="race",
        car_class="GT3",
        track_length_m=7004.0,
    )
    assert DemoCar.game == "demo"
