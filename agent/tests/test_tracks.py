"""Track tables: lookup by the names games use, and a consistent Spa table."""

from __future__ import annotations

import pytest

from simcoach_agent.tracks import SPA, TRACKS, bend_extent, track_lookup

SPA_CORNERS = (
    "La Source",
    "Eau Rouge",
    "Raidillon",
    "Kemmel",
    "Les Combes",
    "Bruxelles",
    "Pouhon",
    "Campus",
    "Stavelot",
    "Blanchimont",
    "Bus Stop",
)


@pytest.mark.parametrize(
    "name", ["spa", "Spa-Francorchamps", "spa_francorchamps", "SPA", " Spa  Francorchamps "]
)
def test_it_finds_spa_by_its_aliases(name: str) -> None:
    assert track_lookup(name) is SPA


def test_it_returns_none_for_an_unknown_track() -> None:
    assert track_lookup("Nordschleife") is None
    assert TRACKS == {"spa": SPA}


def test_it_lists_spa_corners_in_lap_order() -> None:
    assert SPA.length_m == 7004
    assert tuple(c.name for c in SPA.corners) == SPA_CORNERS
    for c in SPA.corners:
        assert 0 <= c.start_m < c.apex_m < c.end_m <= SPA.length_m
    for a, b in zip(SPA.corners, SPA.corners[1:], strict=False):
        assert a.end_m <= b.start_m


def test_it_puts_each_named_bend_inside_its_corner() -> None:
    for bend in SPA.bends:
        if bend.name:
            corner = SPA.corner(bend.name)
            assert corner is not None
            assert corner.start_m <= bend.centre_m <= corner.end_m


def test_it_keeps_bends_apart() -> None:
    ends = [(s, s + full + 2 * ramp) for s, full, ramp in map(bend_extent, SPA.bends)]
    assert all(a_end <= b_start + 2.0 for (_, a_end), (b_start, _) in zip(ends, ends[1:], strict=False))


def test_it_splits_spa_into_three_sectors() -> None:
    assert SPA.sectors[-1] == SPA.length_m and len(SPA.sectors) == 3
    assert [SPA.sector_at(d) for d in (0, 2229, 2231, 5299, 5301, 7003.9)] == [0, 0, 1, 1, 2, 2]


def test_it_finds_corners_by_name_case_insensitively() -> None:
    assert SPA.corner("pouhon") is SPA.corners[6]
    assert SPA.corner("Nope") is None
