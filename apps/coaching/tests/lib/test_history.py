"""Corner history from stored lap measures: medians, trends in words, weakest corners, sparks."""

from __future__ import annotations

import numpy as np
import pytest

from apps.coaching.lib.history import (
    CornerMeasure,
    SessionLaps,
    corner_history,
    corner_measures,
    history_facts,
    measure_of,
    spark,
    trend_words,
    weakest,
)
from apps.traces.lib.analysis import DetectedCorner


def lap(
    time_s: float, brake_m: float | None = 100.0, min_kmh: float = 80.0, exit_kmh: float = 120.0
) -> dict[str, CornerMeasure]:
    return {"T1": CornerMeasure(time_s, brake_m, min_kmh, exit_kmh)}


def sessions(*per_session: list[dict[str, CornerMeasure]]) -> list[SessionLaps]:
    return [SessionLaps(k + 1, f"2026-12-0{k + 1}", laps) for k, laps in enumerate(per_session)]


class TestCornerHistory:
    def test_it_takes_medians_best_and_sample_spread_per_session(self) -> None:
        (h,) = corner_history(sessions([lap(5.0), lap(5.2), lap(5.9)]), ["T1"], lap(4.9))
        s = h.sessions[0]
        assert (s.laps, s.best_s, s.median_s, s.lost_s) == (3, 5.0, 5.2, 0.3)
        assert s.sd_s == pytest.approx(0.473, abs=0.001)

    def test_it_says_the_trend_with_sign_and_size(self) -> None:
        (h,) = corner_history(
            sessions([lap(5.3, 100, 80)], [lap(5.2, 104, 82)], [lap(5.09, 109, 83.1, 121.5)]), ["T1"], {}
        )
        assert (
            trend_words(h)
            == "T1: −0.21 s over 3 sessions; braking 9 m later; minimum +3.1 km/h; exit +1.5 km/h"
        )

    def test_it_says_so_when_nothing_changed_or_one_session(self) -> None:
        (same,) = corner_history(sessions([lap(5.0)], [lap(5.01, 101)]), ["T1"], {})
        assert trend_words(same) == "T1: no change in time over 2 sessions"
        (one,) = corner_history(sessions([lap(5.0)]), ["T1"], {})
        assert trend_words(one) == "T1: one session so far"
        (none,) = corner_history(sessions([lap(5.0)]), ["T9"], {})
        assert trend_words(none) == "T9: no laps yet" and none.now is None

    def test_it_names_only_losing_corners_of_the_latest_session_as_weakest(self) -> None:
        laps = [{**lap(5.3), "T2": CornerMeasure(3.0, None, 90, 100), "T3": CornerMeasure(2.505, None, 1, 1)}]
        ref = {**lap(5.0), "T2": CornerMeasure(3.1, None, 90, 100), "T3": CornerMeasure(2.5, None, 1, 1)}
        history = corner_history(sessions(laps), ["T1", "T2", "T3"], ref)
        assert [h.name for h in weakest(history)] == ["T1"]  # T2 gains, T3 within 0.01 s
        facts = history_facts(history)
        assert facts["weakest"] == [{"corner": "T1", "lost_s": 0.3}] and facts["corners"] == []

    def test_it_reads_stored_measures_and_skips_what_is_not_a_measure(self) -> None:
        got = measure_of(
            {"T1": {"time_s": 5.0, "brake_m": 90.0, "exit_kmh": 99.0}, "bad": 3},
            [{"name": "T1", "min_speed_kmh": 70.0}],
        )
        assert got == {"T1": CornerMeasure(5.0, 90.0, 70.0, 99.0)}


def test_corner_measures_time_brake_and_exit_on_a_synthetic_lap() -> None:
    grid = np.arange(0.0, 1001.0)
    speed = np.where(grid < 400, 50.0, np.where(grid < 600, 20.0, 40.0))  # m/s... as km/h here
    brake = ((grid >= 350) & (grid < 420)).astype(float)
    t = np.cumsum(np.full(grid.size, 0.1)) - 0.1
    corner = DetectedCorner("T1", 300.0, 500.0, 700.0, 20.0, True)
    (m,) = corner_measures({"lap_dist": grid, "speed": speed, "brake": brake, "t": t}, [corner]).values()
    assert m["time_s"] == pytest.approx(40.0) and m["brake_m"] == 350.0 and m["exit_kmh"] == 40.0


def test_spark_scales_values_into_the_box_and_skips_gaps() -> None:
    s = spark("time", "s", [5.0, None, 4.0], w=100, h=20)
    assert s.dots == [(3.0, 3.0), (97.0, 17.0)] and (s.first, s.last) == (5.0, 4.0)
    assert spark("time", "s", [None]).points == ""
