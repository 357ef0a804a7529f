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
        assert track.length_m > 0 and track.corners, track.names
        assert apexes == sorted(apexes) and 0 < apexes[0] and apexes[-1] < track.length_m, track.names
        assert len(set(apexes)) == len(apexes), track.names
        assert track.sources and all(s.startswith(("https://", "http://")) for s in track.sources)
        assert len({c.name for c in track.corners}) == len(track.corners)
        assert all(c.name.strip() == c.name and 0 < len(c.name) <= 60 for c in track.corners)


def test_every_game_name_is_stored_as_lookups_see_it_and_means_one_layout() -> None:
    aliases = [alias for track in CORNER_NAMES for alias in track.names]
    assert len(aliases) == len(set(aliases))
    for track in CORNER_NAMES:
        for alias in track.names:
            assert names_for(alias) is track, alias


def test_it_finds_the_names_the_importers_and_import_forms_produce() -> None:
    # Printed from the real recordings (tools/corner_apexes.py) and Garage 61's file names
    for game_name, first in (
        ("Road_America:Road_America_RC", "Turn 1"),
        ("rt_lime_rock_park:chicane", "Big Bend"),
        ("Lime Rock Park (Grand Prix)", "Big Bend"),
        ("Road Atlanta", "Turn 1"),
        ("Bristol Motor Speedway - Dual Pit Road", "Turns 1-2"),
    ):
        names = names_for(game_name)
        assert names is not None and names.corners[0].name == first, game_name


def test_it_scales_an_apex_by_the_games_own_lap_length() -> None:
    names = names_for("road america")
    assert names is not None
    # Canada Corner at 5 102 m of the game's 6 440 m is 5 161 m of a 6 515 m lap
    assert name_corner(names, 5161.0, lap_length_m=6515.0) == "Canada Corner"
    assert name_corner(names, 5161.0 + 150, lap_length_m=6515.0) is None
