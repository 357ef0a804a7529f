"""The report in the driver's units: the same session's facts and facts-only text in psi and
°F, and in bar and °C, every number still grounded in the facts the text came from."""

from __future__ import annotations

import re

import pytest

from apps.accounts.services import unit_preference_set
from apps.coaching.lib.facts import facts_in_units
from apps.coaching.lib.report_text import facts_only_report, grounding_problems, render_sections
from apps.coaching.reports import report_facts
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_agent.channels import PSI_TO_KPA
from simcoach_site.lib.units import STORED, Units

PSI_F = Units(speed="mph", pressure="psi", temperature="°F")
BAR_C = Units(speed="km/h", pressure="bar", temperature="°C")


@pytest.fixture
def slow_apex(driver):  # type: ignore[no-untyped-def]
    # Lap 4 is slower through Pouhon: there is an opportunity to write up.
    return session_with_demo_laps(
        driver, laps=4, noise=False, per_lap={4: {"corner_speed_delta_kmh": {"Pouhon": -12}}}
    )


@pytest.mark.django_db
def test_the_report_is_written_in_the_drivers_units(driver, slow_apex) -> None:  # type: ignore[no-untyped-def]
    stored = report_facts(session=slow_apex)  # no choice saved: the channel model's units
    assert stored["units"] == STORED.as_dict()
    kpa = stored["tyres"]["avg_pressure_kpa"]["fl"]

    unit_preference_set(user=driver, units=PSI_F)
    psi = report_facts(session=slow_apex)
    unit_preference_set(user=driver, units=BAR_C)
    bar = report_facts(session=slow_apex)

    assert psi["tyres"]["avg_pressure_kpa"]["fl"] == pytest.approx(kpa / PSI_TO_KPA, abs=0.06)
    assert bar["tyres"]["avg_pressure_kpa"]["fl"] == pytest.approx(kpa / 100, abs=0.006)
    c = stored["tyres"]["avg_temp_c"]["fl"]
    assert psi["tyres"]["avg_temp_c"]["fl"] == pytest.approx(c * 9 / 5 + 32, abs=0.06)
    for facts, press, deg in ((psi, "psi", "°F"), (bar, "bar", "°C")):
        text = facts_only_report(facts)  # stored with fact ids; the reader sees them rendered
        shown = render_sections(text, facts)
        assert re.search(rf"Pressures FL [\d.]+ {press}", shown["tyres"]), shown["tyres"]
        assert f"{deg})" in shown["tyres"] and deg in shown["brakes"]
        assert "kPa" not in shown["tyres"]
        assert grounding_problems(text, facts) == []  # the text quotes the converted numbers

    assert psi["opportunities"] and grounding_problems(facts_only_report(psi), psi) == []


def test_a_temperature_window_in_stored_units_keeps_its_whole_numbers() -> None:
    facts = {
        "corners": [],
        "opportunities": [],
        "tyres": {"avg_temp_c": {"fl": 85.4}, "window_c": [70, 100], "state": {"fl": "in window"}},
        "brakes": {"max_temp_c": {"fl": 640.0}, "fade_above_c": 800, "cold_below_c": 150, "state": {}},
    }
    same = facts_in_units(facts, STORED)
    assert same["tyres"]["window_c"] == [70, 100] and same["brakes"]["fade_above_c"] == 800
    hot = facts_in_units(facts, PSI_F)
    assert hot["tyres"]["window_c"] == [158, 212] and hot["brakes"]["fade_above_c"] == 1472
    assert hot["tyres"]["avg_temp_c"]["fl"] == pytest.approx(185.7)
    assert facts["tyres"]["window_c"] == [70, 100]  # the input is left alone


def test_the_advice_names_speeds_in_the_drivers_unit() -> None:
    corner = {
        "corner": "Pouhon",
        "time_lost_s": 0.31,
        "brake_point_vs_best_m": 0,
        "min_speed_vs_best_kmh": -8.0,
        "exit_speed_vs_best_kmh": -2.0,
        "best_lap_min_speed_kmh": 180.2,
    }
    opportunity = {
        "corner": "Pouhon",
        "time_s": 0.31,
        "change": "carry 8.0 km/h more minimum speed, as on your best lap",
    }
    opportunity |= {
        k: corner[k] for k in ("brake_point_vs_best_m", "min_speed_vs_best_kmh", "exit_speed_vs_best_kmh")
    }
    facts = {"corners": [corner], "opportunities": [opportunity]}
    mph = facts_in_units(facts, PSI_F)
    assert mph["opportunities"][0]["change"] == "carry 5.0 mph more minimum speed, as on your best lap"
    assert (
        mph["corners"][0]["min_speed_vs_best_kmh"] == -5.0
        and mph["corners"][0]["best_lap_min_speed_kmh"] == 112.0
    )
    assert facts_in_units(facts, BAR_C)["opportunities"][0]["change"] == opportunity["change"]
