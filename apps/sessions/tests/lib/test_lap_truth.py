"""The one lap rule (apps.sessions.lib.laps.lap_truth) and the laps cut at line crossings."""

import pytest

from apps.sessions.lib.imports.result import MIN_LAP_S, laps_from_crossings
from apps.sessions.lib.laps import LAP_LENGTH_TOLERANCE, covers_track, lap_truth

TRACK = 2469.0  # Charlotte's legends road course, m


def _truth(**kw):  # type: ignore[no-untyped-def]
    return lap_truth(
        **({"given_s": None, "measured_s": 90.0, "distance_m": TRACK, "track_length_m": TRACK} | kw)
    )


def test_the_game_time_wins_over_the_measured_duration() -> None:
    truth = _truth(given_s=85.926, measured_s=95.935)
    assert (truth.timing, truth.time_s, truth.partial, truth.timed) == ("game", 85.926, False, True)


@pytest.mark.parametrize("given", [None, -1.0, 0.0])
def test_a_lap_the_game_did_not_time_is_untimed_with_its_duration(given: float | None) -> None:
    truth = _truth(given_s=given, measured_s=93.8)
    assert (truth.timing, truth.time_s, truth.timed) == ("untimed", 93.8, False)


def test_only_a_format_without_lap_times_measures_a_whole_lap() -> None:
    assert _truth(may_measure=True).timing == "measured"
    assert _truth(may_measure=False).timing == "untimed"
    short = _truth(may_measure=True, distance_m=TRACK * (1 - LAP_LENGTH_TOLERANCE) - 1)
    assert (short.timing, short.partial) == ("untimed", True)


def test_a_live_lap_seen_line_to_line_is_measured_without_a_distance() -> None:
    # Live frames from a source without lap times: the lap counter moved at both ends.
    unknown = {"distance_m": None, "track_length_m": None, "may_measure": True}
    assert _truth(**unknown, line_to_line=True).timing == "measured"
    assert _truth(**unknown, line_to_line=False).timing == "untimed"
    assert _truth(**unknown | {"may_measure": False, "given_s": -1.0}, line_to_line=True).timing == "untimed"


def test_a_lap_well_short_of_the_track_is_partial_even_when_timed() -> None:
    assert _truth(distance_m=67.0, measured_s=32.046).partial  # the 67 m "best lap"
    assert _truth(given_s=60.0, distance_m=809.0, track_length_m=1930.0).partial
    assert not _truth(distance_m=TRACK * 1.2).partial  # a longer lap (pit lane, off) is not partial
    assert not _truth(distance_m=None).partial and not _truth(track_length_m=None).partial


def test_covers_track_within_the_stated_tolerance() -> None:
    assert covers_track(TRACK * 0.951, TRACK) and covers_track(TRACK * 1.049, TRACK)
    assert covers_track(TRACK * 0.94, TRACK) is False and covers_track(TRACK * 1.06, TRACK) is False
    assert covers_track(None, TRACK) is None and covers_track(100.0, 0.0) is None


def test_beacons_time_the_laps_between_them_and_not_the_ends() -> None:
    laps = laps_from_crossings([120.0, 220.0], 300.0)
    assert [(lap.timing, lap.complete) for lap in laps] == [
        ("untimed", False),
        ("beacon", True),
        ("untimed", False),
    ]
    assert laps[1].time_s == pytest.approx(100.0)


def test_a_log_from_the_line_to_the_line_is_one_timed_lap_without_phantoms() -> None:
    # an exported lap: beacons at 0 and at the game's time, the log a few samples longer or shorter
    for t_end in (95.25 + 0.09, 95.25 + 0.002, 95.25 - 0.03):
        (lap,) = laps_from_crossings([0.0, 95.25], t_end)
        assert (lap.timing, lap.time_s, lap.complete, lap.start_t) == ("beacon", 95.25, True, 0.0)
        assert lap.end_t == min(95.25, t_end)


def test_a_crossing_right_after_the_start_makes_no_lap_of_its_own() -> None:
    laps = laps_from_crossings([MIN_LAP_S / 2, 100.0], 150.0)
    assert [(lap.timing, lap.start_t) for lap in laps] == [("beacon", MIN_LAP_S / 2), ("untimed", 100.0)]
    assert laps_from_crossings([0.0], 90.0)[0].timing == "untimed"  # a start beacon only
