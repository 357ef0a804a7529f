"""A small facts document and model answers that quote it (or do not), for report tests."""

from __future__ import annotations

import copy
from typing import Any

from apps.coaching.models import Report
from apps.sessions.models import Session
from apps.sessions.services import session_end, session_open

FACTS: dict[str, Any] = {
    "session": {
        "track": "Spa-Francorchamps",
        "car": "Mercedes-AMG GT3",
        "car_class": "GT3",
        "kind": "practice",
        "game": "demo",
        "date": "2026-11-25",
    },
    "laps": {
        "total": 4,
        "green": 3,
        "invalid": 0,
        "list": [
            {"lap": 1, "time": "2:31.207", "green": False},
            {"lap": 2, "time": "2:18.412", "green": True},
            {"lap": 3, "time": "2:18.655", "green": True},
            {"lap": 4, "time": "2:19.034", "green": True},
        ],
    },
    "best_lap": {"lap": 2, "time": "2:18.412"},
    "theoretical_best": {"time": "2:18.101", "gain_s": 0.31, "best_sectors": ["0:41.220", "0:58.640", "0:38.241"]},
    "consistency": {"laps": 3, "std_dev_s": 0.31, "spread_s": 0.62, "average": "2:18.700", "within_half_second_of_best": 2},
    "corners": [
        {"corner": "La Source", "laps_compared": 2, "time_lost_s": 0.18, "worst_lost_s": 0.27,
         "brake_point_vs_best_m": -10, "min_speed_vs_best_kmh": -1.2, "exit_speed_vs_best_kmh": -0.8,
         "best_lap_min_speed_kmh": 68.5},
        {"corner": "Pouhon", "laps_compared": 2, "time_lost_s": 0.12, "worst_lost_s": 0.2,
         "brake_point_vs_best_m": 0, "min_speed_vs_best_kmh": -4.1, "exit_speed_vs_best_kmh": -2.0,
         "best_lap_min_speed_kmh": 175.0},
        {"corner": "Bus Stop", "laps_compared": 2, "time_lost_s": 0.05, "worst_lost_s": 0.09,
         "brake_point_vs_best_m": -4, "min_speed_vs_best_kmh": 0.4, "exit_speed_vs_best_kmh": 0.1,
         "best_lap_min_speed_kmh": 61.9},
    ],
    "opportunities": [
        {"corner": "La Source", "time_s": 0.18, "change": "brake ~10 m later, as on your best lap",
         "brake_point_vs_best_m": -10, "min_speed_vs_best_kmh": -1.2, "exit_speed_vs_best_kmh": -0.8},
        {"corner": "Pouhon", "time_s": 0.12, "change": "carry 4.1 km/h more minimum speed, as on your best lap",
         "brake_point_vs_best_m": 0, "min_speed_vs_best_kmh": -4.1, "exit_speed_vs_best_kmh": -2.0},
        {"corner": "Bus Stop", "time_s": 0.05, "change": "brake ~4 m later, as on your best lap",
         "brake_point_vs_best_m": -4, "min_speed_vs_best_kmh": 0.4, "exit_speed_vs_best_kmh": 0.1},
    ],
    "tyres": {"avg_temp_c": {"fl": 88.4, "fr": 87.1, "rl": 84.3, "rr": 83.2}, "window_c": [80.0, 95.0],
              "state": {"fl": "in window", "fr": "in window", "rl": "in window", "rr": "in window"}},
    "brakes": {"max_temp_c": {"fl": 664.9, "fr": 664.9, "rl": 514.5, "rr": 514.5}, "fade_above_c": 750.0,
               "cold_below_c": 150.0, "state": {"fl": "in window", "fr": "in window", "rl": "in window",
                                                "rr": "in window"}},
    "fuel": {"per_lap_l": 3.59, "left_l": 45.8, "laps_left": 12.8},
}  # fmt: skip

GOOD: dict[str, Any] = {
    "summary": "Best lap {best_lap} on lap {best_lap.lap}; your best sectors add up to {theoretical_best}, "
    "{theoretical_best.gain_s} quicker.",
    "opportunities": [
        {"corner": "La Source", "change": "Brake about {corner:La Source.brake_point_vs_best_m} later."},
        {"corner": "Pouhon", "change": "Carry {corner:Pouhon.min_speed_vs_best_kmh} more through the apex."},
        {"corner": "Bus Stop", "change": "Brake ~{corner:Bus Stop.brake_point_vs_best_m} later."},
    ],
    "tyres": "Fronts at {tyres.avg_temp_c.fl} and {tyres.avg_temp_c.fr}, all inside the window.",
    "brakes": "Peaks of {brakes.max_temp_c.fl} stay below the {brakes.fade_above_c} fade point.",
    "fuel": "{fuel.per_lap_l} a lap: {fuel.laps_left} laps left.",
    "consistency": "Lap times spread {consistency.spread_s} (standard deviation {consistency.std_dev_s}).",
    "plan": "Brake later into La Source, carry speed through Pouhon, then string together clean laps.",
}
# GOOD as a reader sees it: every id rendered from FACTS.
GOOD_RENDERED: dict[str, str] = {
    "summary": "Best lap 2:18.412 on lap 2; your best sectors add up to 2:18.101, 0.31 s quicker.",
    "tyres": "Fronts at 88.4 °C and 87.1 °C, all inside the window.",
    "brakes": "Peaks of 664.9 °C stay below the 750 °C fade point.",
    "fuel": "3.59 l a lap: 12.8 laps left.",
    "consistency": "Lap times spread 0.62 s (standard deviation 0.31 s).",
}
# The same report with its numbers written out, in other formats than the facts' own.
FREE_NUMBERS: dict[str, Any] = {
    **GOOD,
    "summary": "Best lap 2 min 18.412 s on lap 2; your best sectors add up to 2:18.10, 0.31 seconds quicker.",
    "fuel": "3.59 litres a lap: 12.8 laps left.",
}


def invented() -> dict[str, Any]:
    """GOOD, but its summary cites a gain of 0.73 s that no fact supports."""
    answer = copy.deepcopy(GOOD)
    answer["summary"] = "Best lap {best_lap}; a tidy lap would gain you 0.73 s."
    return answer


def ended_session(owner: Any) -> Session:
    session = session_open(
        owner=owner, rig_id=None, agent_uid="", game="demo", track="Spa-Francorchamps",
        car="Mercedes-AMG GT3", car_class="GT3",
    )  # fmt: skip
    session_end(session=session)
    return session


def report_with_facts(owner: Any, **fields: Any) -> Report:
    """A pending report whose facts are already gathered (report_generate reuses them)."""
    return Report.objects.create(session=ended_session(owner), requested_by=owner, facts=FACTS, **fields)
