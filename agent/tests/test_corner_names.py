"""Curated corner names: found by the games' track names, given to the corner whose apex is near."""

from __future__ import annotations

from simcoach_agent.corner_names import CORNER_NAMES, NAME_NEAR_M, name_corner, names_for


def test_it_finds_a_track_by_any_of_its_game_names() -> None:
    assert names_for("magnycours gp") is names_for("Magny-Cours_GP") is CORNER_NAMES[0]
    assert names_for("Nowhere Raceway") is None


def test_it_names_only_a_corner_near_an_apex() -> None:
    names = CORNER_NAMES[0]
    assert name_corner(names, 1800.0) == "Adélaïde"
    assert name_corner(names, 1835.0 + NAME_NEAR_M + 1) is None


def test_every_entry_is_in_lap_order_with_its_sources() -> None:
    for track in CORNER_NAMES:
        apexes = [c.apex_m for c in track.corners]
        assert apexes == sorted(apexes) and apexes[-1] < track.length_m
        assert track.sources and all(s.startswith("https://") for s in track.sources)
        assert len({c.name for c in track.corners}) == len(track.corners)
