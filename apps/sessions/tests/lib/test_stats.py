"""The one set of lap statistics: which laps count, and what each number is."""

from __future__ import annotations

import statistics
from types import SimpleNamespace

import pytest

from apps.sessions.lib.stats import (
    LapValue,
    best_lap,
    best_sectors,
    consistency_ms,
    is_green,
    lap_value,
    sector_layout,
    session_stats,
    theoretical_best_ms,
)


def lap(number: int, time_ms: int | None, sectors: tuple[int, ...] = (), **flags: object) -> LapValue:
    return LapValue(number=number, time_ms=time_ms, sector_ms=sectors, **flags)  # type: ignore[arg-type]


class TestGreen:
    def test_it_counts_a_timed_valid_whole_flying_lap(self) -> None:
        assert is_green(lap(2, 90_000))

    @pytest.mark.parametrize(
        "flags",
        [
            {"valid": False},
            {"in_lap": True},
            {"out_lap": True},
            {"timing": "untimed"},
            {"partial": True},
            {"complete": False},
        ],
        ids=["invalid", "in-lap", "out-lap", "untimed", "partial", "incomplete"],
    )
    def test_it_never_counts_a_lap_flagged(self, flags: dict[str, object]) -> None:
        assert not is_green(lap(2, 90_000, **flags))

    @pytest.mark.parametrize("time_ms", [None, 0])
    def test_it_never_counts_a_lap_without_a_time(self, time_ms: int | None) -> None:
        assert not is_green(lap(2, time_ms))

    def test_it_reads_the_flags_of_a_stored_lap(self) -> None:
        stored = SimpleNamespace(
            pk=7,
            number=3,
            time_ms=91_000,
            sector_ms=[30_000, 31_000, 30_000],
            valid=True,
            is_in_lap=False,
            is_out_lap=False,
            stats={"timing": "untimed", "partial": False},
            fuel_used_l=2.5,
        )
        value = lap_value(stored)  # type: ignore[arg-type]
        assert (value.key, value.timing, value.sector_ms, value.green) == (
            7,
            "untimed",
            (30_000, 31_000, 30_000),
            False,
        )

    def test_it_treats_laps_stored_before_the_flags_as_game_timed(self) -> None:
        old = SimpleNamespace(
            pk=1, number=2, time_ms=90_000, sector_ms=[], valid=True, is_in_lap=False, is_out_lap=False,
            stats={}, fuel_used_l=None,
        )  # fmt: skip
        assert lap_value(old).green  # type: ignore[arg-type]


class TestBestAndTheoretical:
    def test_it_ignores_a_faster_untimed_or_partial_lap(self) -> None:
        laps = [
            lap(1, 60_000, partial=True),
            lap(2, 61_000, timing="untimed"),
            lap(3, 92_000),
            lap(4, 91_000),
        ]
        best = best_lap(laps)
        assert best is not None and best.number == 4

    def test_it_sums_best_sectors_of_green_laps_only(self) -> None:
        laps = [
            lap(1, 120_000, (20_000, 50_000, 50_000), out_lap=True),  # fastest S1, but the out-lap
            lap(2, 92_000, (30_000, 31_000, 31_000)),
            lap(3, 91_000, (31_000, 30_000, 30_000)),
            lap(4, 89_000, (29_000, 29_000, 31_000), valid=False),
        ]
        assert best_sectors(laps) == [30_000, 30_000, 30_000]
        assert theoretical_best_ms(best_sectors(laps)) == 90_000

    def test_it_leaves_out_a_lap_split_into_another_layout(self) -> None:
        # A resumed stream once split a Spa lap in four with an empty S2 (issue "Lap truth"):
        # summing per index across layouts gave a theoretical best 38 s under the real best.
        laps = [
            lap(2, 139_000, (42_000, 62_000, 35_000)),
            lap(3, 138_900, (42_100, 61_800, 35_000)),
            lap(4, 139_500, (42_000, 0, 62_500, 35_000)),
        ]
        assert sector_layout(laps) == 3
        assert best_sectors(laps) == [42_000, 61_800, 35_000]
        assert theoretical_best_ms(best_sectors(laps)) == 138_800

    def test_it_says_nothing_when_no_green_lap_is_split(self) -> None:
        laps = [lap(2, 90_000), lap(3, 91_000, (30_000, 61_000), valid=False)]
        assert (sector_layout(laps), best_sectors(laps), theoretical_best_ms(best_sectors(laps))) == (
            0,
            [],
            None,
        )

    def test_it_refuses_a_sum_with_an_unknown_sector(self) -> None:
        assert theoretical_best_ms([30_000, None, 30_000]) is None
        assert theoretical_best_ms([]) is None

    def test_it_refuses_to_pick_between_two_equally_common_layouts(self) -> None:
        assert (
            sector_layout([lap(2, 90_000, (45_000, 45_000)), lap(3, 90_000, (30_000, 30_000, 30_000))]) == 0
        )


class TestConsistency:
    def test_it_is_the_sample_standard_deviation_of_green_laps(self) -> None:
        laps = [
            lap(1, 130_000, out_lap=True),
            lap(2, 90_000),
            lap(3, 91_000),
            lap(4, 95_000),
            lap(5, 80_000, partial=True),
        ]
        assert consistency_ms(laps) == pytest.approx(statistics.stdev([90_000, 91_000, 95_000]))

    def test_it_needs_two_green_laps(self) -> None:
        assert consistency_ms([lap(2, 90_000), lap(3, 91_000, timing="untimed")]) is None

    def test_it_gives_every_number_of_an_empty_session_as_none(self) -> None:
        stats = session_stats([])
        assert (stats.best, stats.theoretical_best_ms, stats.consistency_ms, stats.average_ms) == (None,) * 4
