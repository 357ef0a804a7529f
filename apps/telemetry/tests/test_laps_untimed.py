"""Lap segmentation when the game says a lap has no time (iRacing posts -1 after the line)."""

from __future__ import annotations

import numpy as np

from apps.telemetry.lib.laps import LapTracker


def _cols(last_after: float, *, before: float = 61.5) -> dict[str, np.ndarray]:
    # 10 Hz: lap 5 from the pits for 3 s, lap 6 for 3 s; the game posts lap 5's time 0.5 s late
    t = np.arange(60) / 10
    lap = np.where(t < 3.0, 5, 6)
    last = np.where(t < 3.5, before, last_after)
    return {
        "t": t,
        "lap": lap.astype(float),
        "lap_dist": (t % 3.0) * 100,
        "lap_time": t % 3.0,
        "last_lap_time": last,
        "in_pit": (t < 1.0).astype(float),
    }


def test_it_marks_a_lap_the_game_posts_minus_one_for_untimed_and_never_valid() -> None:
    (lap,) = LapTracker().feed(_cols(-1.0))
    assert (lap.number, lap.timing, lap.valid, lap.is_out_lap) == (5, "untimed", False, True)
    assert lap.time_s == 3.0  # it keeps its duration


def test_it_still_takes_a_posted_time_as_the_games() -> None:
    (lap,) = LapTracker().feed(_cols(62.25))
    assert (lap.timing, lap.time_s) == ("game", 62.25)


def test_it_waits_for_the_post_across_batches() -> None:
    cols = _cols(-1.0)
    tracker = LapTracker()
    first = {k: v[:33] for k, v in cols.items()}  # ends 0.2 s after the line, before the post
    assert tracker.feed(first) == []
    rest = {k: v[33:] for k, v in cols.items()}
    (lap,) = LapTracker(tracker.state()).feed(rest)
    assert lap.timing == "untimed"


def test_a_lap_the_game_never_posts_a_time_for_is_untimed_not_measured() -> None:
    # The game publishes lap times but left lap 5's unchanged past the grace: it did not time it.
    cols = _cols(61.5)
    (lap,) = LapTracker().feed(cols)
    assert (lap.timing, lap.valid, lap.time_s) == ("untimed", False, 3.0)


def test_a_source_without_lap_times_is_timed_by_the_measured_duration() -> None:
    cols = {k: v for k, v in _cols(61.5).items() if k != "last_lap_time"}
    (lap,) = LapTracker().feed(cols)
    assert (lap.timing, lap.time_s) == ("measured", 3.0)
