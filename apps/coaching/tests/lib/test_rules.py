"""Live rules: each fires when it should, stays quiet when it should not, and cools down."""

from __future__ import annotations

import json

import numpy as np
import pytest

from apps.coaching.lib.rules import RULES, LiveCoach, Message
from apps.traces.lib.columns import MatrixColumns

from .frames import HZ, batch, steps

N = round(1.5 * HZ)  # frames in a default batch
UPSHIFTS = {"gear": steps(N, 2, 3, 4, 5, 6), "throttle": 1.0, "max_rpm": 8000.0}

# rule -> channels of a 1.5 s batch that must trigger it
TRIGGERS: dict[str, dict[str, float | np.ndarray]] = {
    "tyre_cold": {"tyre_temp_fl": 60.0},
    "tyre_hot": {"tyre_temp_fl": 104.0},
    "tyre_critical": {"tyre_temp_fl": 115.0},
    "tyre_camber": {"tyre_temp_in_fl": 100.0, "tyre_temp_mid_fl": 92.0, "tyre_temp_out_fl": 85.0},
    "tyre_pressure_high": {"tyre_press_fl": 195.0, "tyre_temp_fl": 90.0},
    "tyre_pressure_low": {"tyre_press_fl": 170.0, "tyre_temp_fl": 90.0},
    "brake_fade": {"brake_temp_fl": 800.0},
    "brake_cold": {"brake_temp_fl": 120.0, "brake": 0.8},
    "overlap": {"throttle": 0.5, "brake": 0.5},
    "coasting": {"throttle": 0.0, "brake": 0.0},
    "over_rev": {"rpm": 7950.0, "max_rpm": 8000.0},
    "early_shift": {**UPSHIFTS, "rpm": 6000.0},
    "lock_up": {"brake": 0.8, "wheel_slip_fl": -0.5},
    "wheel_spin": {"throttle": 1.0, "wheel_slip_rl": 0.5},
}

# rule -> channels that come close but must not trigger it
NEAR_MISSES: dict[str, list[dict[str, float | np.ndarray]]] = {
    "tyre_cold": [{"tyre_temp_fl": 75.0}],
    "tyre_hot": [{"tyre_temp_fl": 97.0}, {"tyre_temp_fl": 88.0}],
    "tyre_critical": [{"tyre_temp_fl": 108.0}],
    "tyre_camber": [{"tyre_temp_in_fl": 92.0, "tyre_temp_out_fl": 84.0}],
    "tyre_pressure_high": [{"tyre_press_fl": 188.0, "tyre_temp_fl": 90.0}],
    "tyre_pressure_low": [
        {"tyre_press_fl": 181.0, "tyre_temp_fl": 90.0},
        {"tyre_press_fl": 160.0, "tyre_temp_fl": 50.0},
    ],
    "brake_fade": [{"brake_temp_fl": 700.0}],
    "brake_cold": [{"brake_temp_fl": 120.0, "brake": 0.0}, {"brake_temp_fl": 400.0, "brake": 0.8}],
    "overlap": [{"throttle": 0.5, "brake": 0.05}],
    "coasting": [
        {"throttle": 0.0, "brake": 0.0, "speed": 30.0},
        {"throttle": 0.0, "brake": 0.0, "in_pit": 1.0},
    ],
    "over_rev": [{"rpm": 7700.0, "max_rpm": 8000.0}, {"rpm": 7950.0}],
    "early_shift": [{**UPSHIFTS, "rpm": 7700.0}, {**UPSHIFTS, "rpm": 6000.0, "throttle": 0.5}],
    "lock_up": [{"brake": 0.0, "wheel_slip_fl": -0.5}, {"brake": 0.8, "wheel_slip_fl": -0.1}],
    "wheel_spin": [{"throttle": 1.0, "wheel_slip_rl": 0.1}, {"throttle": 0.0, "wheel_slip_rl": 0.5}],
}


def rules_of(messages: list[Message]) -> list[str]:
    return [m.rule for m in messages]


def as_decoded(columns: dict[str, np.ndarray]) -> MatrixColumns:
    """The same batch as the live path hands it over: one matrix under its channel names."""
    return MatrixColumns(tuple(columns), np.vstack(list(columns.values())))


@pytest.mark.parametrize("form", [dict, as_decoded])
@pytest.mark.parametrize("rule", sorted(TRIGGERS))
def test_it_fires_each_rule_once_with_its_severity(rule: str, form) -> None:  # type: ignore[no-untyped-def]
    messages = LiveCoach().feed(form(batch(**TRIGGERS[rule])))
    fired = [m for m in messages if m.rule == rule]
    assert len(fired) == 1
    assert fired[0].severity == RULES[rule][0]
    assert fired[0].text
    assert 1000.0 <= fired[0].t <= 1001.5
    assert json.loads(json.dumps(fired[0].to_dict()))["rule"] == rule


@pytest.mark.parametrize("form", [dict, as_decoded])
@pytest.mark.parametrize(("rule", "channels"), [(r, c) for r, cases in NEAR_MISSES.items() for c in cases])
def test_it_stays_quiet_on_near_misses(rule: str, channels: dict[str, float | np.ndarray], form) -> None:  # type: ignore[no-untyped-def]
    assert rule not in rules_of(LiveCoach().feed(form(batch(**channels))))


@pytest.mark.parametrize("rule", sorted(TRIGGERS))
def test_it_respects_the_cooldown(rule: str) -> None:
    coach = LiveCoach(cooldowns={rule: 20.0})
    assert rule in rules_of(coach.feed(batch(t0=1000.0, **TRIGGERS[rule])))
    assert rule not in rules_of(coach.feed(batch(t0=1010.0, **TRIGGERS[rule])))
    assert rule in rules_of(coach.feed(batch(t0=1025.0, **TRIGGERS[rule])))


def test_it_uses_default_cooldowns_shorter_for_critical() -> None:
    coach = LiveCoach()
    hot, critical = TRIGGERS["tyre_hot"], TRIGGERS["tyre_critical"]
    coach.feed(batch(t0=1000.0, **hot))
    coach.feed(batch(t0=1000.0, **critical))
    assert "tyre_critical" in rules_of(coach.feed(batch(t0=1012.0, **critical)))
    assert "tyre_hot" not in rules_of(coach.feed(batch(t0=1020.0, **hot)))
    assert "tyre_hot" in rules_of(coach.feed(batch(t0=1031.0, **hot)))


def test_it_cools_down_each_wheel_separately() -> None:
    coach = LiveCoach()
    first = coach.feed(batch(t0=1000.0, tyre_temp_fl=104.0))
    second = coach.feed(batch(t0=1002.0, tyre_temp_fl=104.0, tyre_temp_rr=105.0))
    assert [m.data["wheel"] for m in first] == ["fl"]
    assert [m.data["wheel"] for m in second] == ["rr"]


def test_it_words_messages_like_a_race_engineer() -> None:
    messages = LiveCoach().feed(batch(tyre_temp_fl=104.0, tyre_press_rr=195.0, tyre_temp_rr=90.0))
    texts = [m.text for m in messages]
    assert "Front left tyre hot: 104 °C" in texts
    assert "Rear right pressure high: 28.3 psi (195 kPa)" in texts


def test_it_uses_the_car_class_window() -> None:
    assert rules_of(LiveCoach(car_class="GT3").feed(batch(tyre_temp_fl=104.0))) == ["tyre_hot"]
    assert rules_of(LiveCoach(car_class="Formula").feed(batch(tyre_temp_fl=104.0))) == []
    assert rules_of(LiveCoach(compound="wet").feed(batch(tyre_temp_fl=92.0))) == ["tyre_hot"]
    assert rules_of(LiveCoach(car_class="LMP2").feed(batch(brake_temp_fl=800.0))) == []


def test_it_averages_inner_middle_outer_when_there_is_no_single_temperature() -> None:
    messages = LiveCoach().feed(batch(tyre_temp_in_fl=110.0, tyre_temp_mid_fl=106.0, tyre_temp_out_fl=102.0))
    assert rules_of(messages) == ["tyre_hot"]
    assert messages[0].data["temp_c"] == pytest.approx(106.0)


def test_it_needs_the_condition_to_last() -> None:
    short = np.where(np.arange(N) < 6, 0.5, 0.0)  # 0.1 s of both pedals, then full throttle
    assert rules_of(LiveCoach().feed(batch(throttle=np.maximum(short, 1.0 - short), brake=short))) == []
    assert "coasting" not in rules_of(LiveCoach().feed(batch(0.8, throttle=0.0, brake=0.0)))
    assert rules_of(LiveCoach().feed(batch(0.2, rpm=7950.0, max_rpm=8000.0))) == []


def test_it_sees_a_condition_that_spans_two_batches() -> None:
    coach = LiveCoach()
    first = coach.feed(batch(0.15, t0=1000.0, throttle=0.5, brake=0.5))
    second = coach.feed(batch(0.15, t0=1000.15, throttle=0.5, brake=0.5))
    assert first == []
    assert rules_of(second) == ["overlap"]
    assert second[0].t == pytest.approx(1000.2, abs=1 / HZ)


def test_it_does_not_join_a_condition_across_a_gap() -> None:
    coach = LiveCoach()
    coach.feed(batch(0.15, t0=1000.0, throttle=0.5, brake=0.5))
    assert coach.feed(batch(0.15, t0=1005.0, throttle=0.5, brake=0.5)) == []


def test_it_reports_a_long_condition_once_per_stretch() -> None:
    coach = LiveCoach(cooldowns={"coasting": 0.0})
    messages = [m for k in range(4) for m in coach.feed(batch(t0=1000.0 + 1.5 * k, throttle=0.0, brake=0.0))]
    assert rules_of(messages) == ["coasting"]


def test_it_takes_the_limiter_from_the_constructor() -> None:
    assert rules_of(LiveCoach(max_rpm=8000.0).feed(batch(rpm=7950.0))) == ["over_rev"]
    assert rules_of(LiveCoach(max_rpm=9000.0).feed(batch(rpm=7950.0, max_rpm=8000.0))) == []


def test_it_locks_up_only_the_wheel_that_slips() -> None:
    messages = LiveCoach().feed(batch(brake=0.8, wheel_slip_fl=-0.5, wheel_slip_fr=-0.05))
    assert [(m.rule, m.data["wheel"]) for m in messages] == [("lock_up", "fl")]
    assert messages[0].text == "Front left locking under braking"


@pytest.mark.parametrize(
    "channels",
    [
        {},
        {"tyre_temp_fl": np.full(N, np.nan), "brake_temp_rr": np.full(N, np.nan)},
        {"throttle": 0.5},
        {"wheel_slip_fl": -0.8},
        {"rpm": 9000.0, "gear": 3.0},
    ],
)
def test_it_skips_rules_whose_channels_are_missing(channels: dict[str, float | np.ndarray]) -> None:
    assert LiveCoach().feed(batch(**channels)) == []


def test_it_ignores_a_batch_without_time() -> None:
    assert LiveCoach().feed({"speed": np.array([100.0])}) == []
    assert LiveCoach().feed({}) == []


def test_it_reports_peak_combined_g_at_the_end_of_the_lap() -> None:
    coach = LiveCoach()
    coach.feed(batch(g_lat=steps(N, 0.5, 1.6, 0.2), g_lon=steps(N, -1.2, -1.2, 0.3)))
    lap = coach.lap_completed(
        lap_number=3, time_s=140.0, valid=True, fuel_used_l=None, in_or_out=False, trace=None
    )
    assert rules_of(lap) == ["g_peak"]
    assert lap[0].data["peak_g"] == pytest.approx(2.0)
    assert coach.state.lap_peak_g == 0.0
