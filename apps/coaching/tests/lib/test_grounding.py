"""Fact ids and the grounding check: a report can show no number the facts do not hold."""

from __future__ import annotations

from typing import Any

import pytest

from apps.coaching.lib.factref import Fact, FactRefError, format_fact, render, resolve
from apps.coaching.lib.grounding import check

FACTS: dict[str, Any] = {
    "laps": {
        "total": 17,
        "green": 14,
        "list": [
            {"lap": 8, "time": "1:48.229", "green": True},
            {"lap": 12, "time": "1:44.800", "green": True},
            {"lap": 16, "time": "1:45.220", "green": True},
        ],
    },
    "best_lap": {"lap": 12, "time": "1:44.800"},
    "theoretical_best": {"time": "1:44.310", "gain_s": 0.49},
    "consistency": {"std_dev_s": 0.41, "average": "1:46.020"},
    "corners": [
        {"corner": "T3", "time_lost_s": 0.18, "brake_point_vs_best_m": -10, "min_speed_vs_best_kmh": -4.1},
        {
            "corner": "St. Devote",
            "time_lost_s": 0.07,
            "brake_point_vs_best_m": 3,
            "min_speed_vs_best_kmh": 0.0,
        },
        {"corner": "Turn 10", "time_lost_s": 0.02, "brake_point_vs_best_m": 0, "min_speed_vs_best_kmh": 0.0},
    ],
    "tyres": {"avg_temp_c": {"fl": 88.4}, "window_c": [80.0, 95.0]},
    "fuel": {"per_lap_l": 3.59},
    "history": {"focus": {"improved_pct": 2.5, "sessions": 4}},  # another helper's facts: any path works
    "ok": True,
}


class TestResolve:
    def test_it_follows_any_key_path(self) -> None:
        assert resolve(FACTS, "theoretical_best.gain_s").value == 0.49
        assert resolve(FACTS, "history.focus.improved_pct").value == 2.5
        assert resolve(FACTS, "tyres.window_c.1").value == 95.0

    def test_it_picks_list_items_by_name_and_drops_unit_suffixes(self) -> None:
        fact = resolve(FACTS, "corner:T3.time_lost")
        assert (fact.path, fact.value, fact.unit) == ("corner:T3.time_lost_s", 0.18, "s")
        assert resolve(FACTS, "lap:16.time").value == "1:45.220"
        assert resolve(FACTS, "corner:St. Devote.time_lost_s").value == 0.07  # a name with a dot

    def test_a_group_with_a_time_stands_for_that_time(self) -> None:
        assert resolve(FACTS, "best_lap").path == "best_lap.time"

    @pytest.mark.parametrize(
        ("ref", "says"),
        [
            ("corner:Eau Rouge.time_lost_s", "no corner 'Eau Rouge'"),
            ("tyres", "a group of facts"),
            ("best_lap.nope", "no 'nope'"),
            ("ok", "a group of facts"),  # a yes/no is not a number
            ("laps..total", "not a fact id"),
            ("lap:99.time", "no lap '99'"),
        ],
    )
    def test_it_refuses_a_reference_to_no_single_number(self, ref: str, says: str) -> None:
        with pytest.raises(FactRefError, match=says):
            resolve(FACTS, ref)


class TestRender:
    def test_it_renders_every_number_through_one_function_with_units(self) -> None:
        text = (
            "Best {best_lap}; lose {corner:T3.time_lost_s}, brake {corner:T3.brake_point_vs_best_m} later, "
        )
        text += "carry {corner:T3.min_speed_vs_best_kmh}, {tyres.avg_temp_c.fl}, {fuel.per_lap_l}, "
        text += "{history.focus.improved_pct}"
        assert render(text, FACTS) == (
            "Best 1:44.800; lose 0.18 s, brake 10 m later, carry 4.1 km/h, 88.4 °C, 3.59 l, 2.5%"
        )
        assert format_fact(resolve(FACTS, "laps.total")) == "17"
        assert format_fact(Fact("x", ("odometer_m",), 1234567.5)) == "1234567.5 m"  # no digit lost

    def test_a_dead_reference_shows_a_placeholder(self) -> None:
        assert render("at {corner:Nowhere.time_lost_s}", FACTS) == "at [?]"


def problems(text: str) -> list[str]:
    return check(text, FACTS).problems


class TestCheck:
    def test_it_binds_an_honest_number_in_any_format_to_its_fact(self) -> None:
        for honest, ref in [
            ("1 min 48.229 s", "{lap:8.time}"),
            ("1m48.229s", "{lap:8.time}"),
            ("1:48.23", "{lap:8.time}"),
            ("108.229 s", "{lap:8.time}"),
            ("0.49 seconds", "{theoretical_best.gain_s}"),
            ("0.5 s", "{theoretical_best.gain_s}"),
            ("half a second", "{theoretical_best.gain_s}"),
            ("10 metres", "{corner:T3.brake_point_vs_best_m}"),
            ("-10 m", "{corner:T3.brake_point_vs_best_m}"),
            ("2.5%", "{history.focus.improved_pct}"),
        ]:
            checked = check(f"You did {honest} there.", FACTS)
            assert (checked.text, checked.problems) == (f"You did {ref} there.", []), honest
        assert render(check("an honest 1 min 48.229 s", FACTS).stripped, FACTS) == "an honest 1:48.229"

    def test_a_unit_written_after_a_reference_is_not_rendered_twice(self) -> None:
        checked = check(
            "Gain {theoretical_best.gain_s} s, brake {corner:T3.brake_point_vs_best_m}m later.", FACTS
        )
        assert render(checked.stripped, FACTS) == "Gain 0.49 s, brake 10 m later."
        assert render(check("{best_lap} s, {laps.total} laps", FACTS).stripped, FACTS) == "1:44.800, 17 laps"

    def test_it_leaves_digits_inside_names_alone(self) -> None:
        assert check("T3 and S2 in the GT3", FACTS).text == "T3 and S2 in the GT3"
        # A corner of the facts named with a space: "10" is not the 10 m of T3's braking.
        checked = check("Turn 10 costs little; brake 10 m later at T3.", FACTS)
        assert checked.text == "Turn 10 costs little; brake {corner:T3.brake_point_vs_best_m} later at T3."
        assert check("Turn 100 is not a corner here.", FACTS).problems == [
            "the number '100' is not in the facts"
        ]

    def test_it_catches_an_invented_number_and_strips_it(self) -> None:
        checked = check("You could gain 0.73 s at T3.", FACTS)
        assert checked.problems == ["the number '0.73 s' is not in the facts"]
        assert (checked.stripped, checked.removed) == ("You could gain [?] at T3.", ["0.73 s"])

    def test_it_catches_an_invented_number_in_words(self) -> None:
        assert problems("You could gain two seconds at T3.") == [
            "the number 'two seconds' is not in the facts"
        ]
        assert problems("Three tenths are there.") == ["the number 'Three tenths' is not in the facts"]
        assert problems("Twenty-one metres too early.") == [
            "the number 'Twenty-one metres' is not in the facts"
        ]

    def test_it_catches_a_percentage_that_equals_a_lap_number(self) -> None:
        assert problems("You improved 8% today.") == ["the number '8%' is not in the facts"]
        assert problems("You improved eight percent today.") == [
            "the number 'eight percent' is not in the facts"
        ]
        assert problems("You improved {lap:8.lap}% today.") == ["{lap:8.lap} is not a percentage"]
        checked = check("You improved {lap:8.lap}% today.", FACTS)
        assert (checked.stripped, checked.removed) == ("You improved [?] today.", ["8%"])
        assert problems("You improved {lap:8.lap} percent today.") == ["{lap:8.lap} is not a percentage"]

    def test_a_lap_number_grounds_no_count_and_a_count_no_lap_number(self) -> None:
        assert problems("You drove 8 green laps.") == ["the number '8' is not in the facts"]
        assert check("You drove 14 green laps, 17 laps in all.", FACTS).text == (
            "You drove {laps.green} green laps, {laps.total} laps in all."
        )
        assert check("Lap 8 was clean.", FACTS).text == "Lap {lap:8.lap} was clean."
        assert problems("Lap 14 was clean.") == ["the number '14' is not in the facts"]

    def test_it_catches_a_real_lap_time_called_the_best(self) -> None:
        wrong = "{lap:16.time} (1:45.220) is not the best lap"
        assert problems("Your best was 1:45.220.") == [wrong]
        assert problems("Your best was {lap:16.time}.") == [wrong]
        assert check("Your best was {lap:16.time}.", FACTS).removed == ["1:45.220"]  # as a reader sees it
        assert problems("Your fastest lap, {lap:16.time}.") == [wrong]
        assert problems("Your theoretical best is {best_lap}.") == [
            "{best_lap.time} (1:44.800) is not the theoretical best"
        ]
        assert problems("Your average was {lap:8.time}.")[0].endswith("is not the average")

    def test_it_accepts_the_best_lap_however_it_is_cited(self) -> None:
        assert problems("Your best was {best_lap}, on lap 12 ({lap:12.time}).") == []
        assert problems("Your best was 1:44.800, then {lap:16.time} on lap 16.") == []
        assert problems("Best {best_lap}, average {consistency.average}, ideal {theoretical_best}.") == []

    def test_it_flags_a_reference_to_no_fact(self) -> None:
        checked = check("Lose {corner:Eau Rouge.time_lost_s} there.", FACTS)
        assert checked.problems == [
            "{corner:Eau Rouge.time_lost_s}: there is no corner 'Eau Rouge' in the facts"
        ]
        assert checked.stripped == "Lose [?] there."
        assert checked.removed == ["{corner:Eau Rouge.time_lost_s}"]


def test_a_fact_renders_in_the_units_its_document_names() -> None:
    tyre = Fact("tyres.avg_temp_c.fl", ("tyres", "avg_temp_c", "fl"), 185.0)
    assert format_fact(tyre) == "185 °C"  # a document from before units: the suffix's unit
    assert format_fact(tyre, {"temperature": "°F", "pressure": "psi", "speed": "mph"}) == "185 °F"
    lost = Fact("corners.0.time_lost_s", ("corners", "time_lost_s"), 0.31)
    assert format_fact(lost, {"temperature": "°F"}) == "0.31 s"  # seconds are nobody's preference
