"""Cue discipline: once a lap, a budget a lap with the most useful first, critical always,
late dropped, and every held-back message counted by reason."""

from __future__ import annotations

import numpy as np
import pytest

from apps.coaching.lib.discipline import RULE_RANK, Discipline, usefulness
from apps.coaching.lib.rules import RULES, LiveCoach, Message

from .frames import batch


def cue(rule: str, *, key: str = "", t: float = 100.0, lap: int | None = 1) -> Message:
    return Message(rule, RULES[rule][0], rule, t, {}, key, lap)


def spoken(d: Discipline, cues: list[Message], **kw: float) -> list[str]:
    verdicts = d.judge(cues, **kw)
    return [f"{c.rule}:{c.key}" for c, v in zip(cues, verdicts, strict=True) if v == "spoken"]


def test_the_same_rule_and_key_speaks_once_a_lap_and_again_the_next() -> None:
    d = Discipline()
    assert d.judge([cue("tyre_hot", key="fl")]) == ["spoken"]
    assert d.judge([cue("tyre_hot", key="fl", t=130)]) == ["repeat"]
    assert d.judge([cue("tyre_hot", key="fr", t=131)]) == ["spoken"]  # another wheel
    assert d.judge([cue("tyre_hot", key="fl", t=160, lap=2)]) == ["spoken"]
    assert d.counts()["repeat"] == 1 and d.counts()["spoken"] == 3


def test_a_repeat_within_one_batch_is_held_back_too() -> None:
    d = Discipline()
    assert d.judge([cue("lock_up", key="fl"), cue("lock_up", key="fl", t=101)]) == ["spoken", "repeat"]


def test_the_budget_keeps_the_most_useful_of_a_crowded_batch() -> None:
    d = Discipline(budget=3)
    crowd = [cue(r) for r in ("g_peak", "tyre_cold", "coasting", "lock_up", "tyre_hot", "sector_delta")]
    assert spoken(d, crowd) == ["lock_up:", "tyre_hot:", "sector_delta:"]
    assert d.counts()["budget"] == 3 and d.counts()["held"] == 3
    assert d.judge([cue("wheel_spin", t=120)]) == ["budget"]  # the lap's budget is spent
    assert d.judge([cue("wheel_spin", t=140, lap=2)]) == ["spoken"]  # a new lap, a new budget


def test_severity_comes_before_the_rank() -> None:
    # live_delta ranks above coasting, but both are info; a warn beats either
    assert sorted(["live_delta", "over_rev", "coasting"], key=lambda r: usefulness(cue(r))) == [
        "over_rev",
        "live_delta",
        "coasting",
    ]


def test_every_rule_has_a_rank_and_an_unknown_rule_comes_last() -> None:
    assert sorted(RULE_RANK) == sorted(RULES)
    unknown = Message("brake_marker", "info", "", 100.0)
    assert usefulness(unknown) > usefulness(cue("g_peak"))


def test_critical_passes_a_spent_budget_without_using_it() -> None:
    d = Discipline(budget=1)
    assert d.judge([cue("coasting"), cue("overlap")]) == ["spoken", "budget"]
    assert d.judge([cue("tyre_critical", key="fl", t=101)]) == ["spoken"]
    assert d.judge([cue("fuel_box", t=102)]) == ["spoken"]
    d2 = Discipline(budget=1)
    assert spoken(d2, [cue("tyre_critical", key="fl"), cue("overlap")]) == ["tyre_critical:fl", "overlap:"]
    # ...but it is still said only once a lap
    assert d.judge([cue("tyre_critical", key="fl", t=120)]) == ["repeat"]


def test_a_zero_budget_says_only_critical_messages() -> None:
    d = Discipline(budget=0)
    assert d.judge([cue("fuel_box"), cue("tyre_hot", key="fl")]) == ["spoken", "budget"]


def test_late_messages_are_dropped_and_counted_but_use_nothing() -> None:
    d = Discipline(budget=1, fresh_s=2.0)
    verdicts = d.judge([cue("lock_up", key="fl", t=90.0), cue("fuel_box", t=97.9)], newest_t=100.0)
    assert verdicts == ["late", "late"]  # critical or not, a late message is not said
    assert d.judge([cue("lock_up", key="fl", t=98.5)], newest_t=100.0) == ["spoken"]
    assert d.judge([cue("tyre_hot", key="fl", t=98.0)], newest_t=100.0) == ["budget"]  # 2.0 s behind: in time
    assert d.counts() == {
        "spoken": 1,
        "repeat": 0,
        "budget": 1,
        "late": 2,
        "held": 1,
        "lap": 1,
        # the late ones came before lap 1 was being coached: the session's, not the lap's
        "this_lap": {"spoken": 1, "repeat": 0, "budget": 1, "late": 0, "held": 1},
    }


def test_a_batch_across_the_line_closes_one_lap_before_it_opens_the_next() -> None:
    d = Discipline(budget=1)
    # given out of order: the lap-2 cue must not reset lap 1's record of what was said
    verdicts = d.judge([cue("coasting", lap=2, t=105), cue("coasting", lap=1), cue("overlap", lap=1, t=101)])
    assert verdicts == ["spoken", "spoken", "budget"]
    assert d.lap == 2 and d.counts()["this_lap"] == {
        "spoken": 1,
        "repeat": 0,
        "budget": 0,
        "late": 0,
        "held": 0,
    }
    assert d.counts()["spoken"] == 2


def test_a_late_message_from_a_lap_long_gone_moves_nothing() -> None:
    d = Discipline(budget=1)
    assert d.judge([cue("overlap", lap=7, t=500.0)], newest_t=500.0) == ["spoken"]
    assert d.judge([cue("coasting", lap=3, t=100.0)], newest_t=500.0) == ["late"]
    assert d.lap == 7 and d.judge([cue("coasting", lap=7, t=501.0)], newest_t=501.0) == ["budget"]


def test_a_lap_count_that_starts_again_starts_a_new_lap() -> None:
    d = Discipline(budget=1)
    d.judge([cue("overlap", lap=7)])
    assert d.judge([cue("overlap", lap=1, t=101.0)]) == ["spoken"]  # the game restarted its session


def test_a_message_without_a_lap_belongs_to_the_lap_being_coached() -> None:
    d = Discipline(budget=5)
    d.judge([cue("tyre_hot", key="fl", lap=4)])
    assert d.judge([cue("tyre_hot", key="fl", lap=None, t=101)]) == ["repeat"]
    assert d.lap == 4


def test_a_new_socket_carries_on_the_session_totals() -> None:
    d = Discipline()
    d.resume({"spoken": 7, "repeat": 2, "budget": "lots", "late": -1, "held": 9})
    assert d.judge([cue("overlap")]) == ["spoken"]  # the lap's budget starts afresh
    assert d.total.as_dict() == {"spoken": 8, "repeat": 2, "budget": 0, "late": 0, "held": 2}
    d.resume(None)
    assert d.total.spoken == 8


@pytest.mark.parametrize(("kw", "error"), [({"budget": -1}, "budget"), ({"fresh_s": 0.0}, "freshness")])
def test_bad_settings_are_refused(kw: dict[str, float], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Discipline(**kw)  # type: ignore[arg-type]


# ---- what the rules give the discipline: keys, laps, places ahead


def test_the_rules_stamp_each_message_with_its_key_and_the_lap_of_its_frame() -> None:
    lap = np.where(np.arange(90) < 45, 3.0, 4.0)
    hot = np.where(np.arange(90) < 45, 80.0, 104.0)  # the tyre crosses the line hot
    messages = LiveCoach().feed(batch(lap=lap, brake_temp_fr=np.where(hot > 100, 800.0, 400.0)))
    (fade,) = [m for m in messages if m.rule == "brake_fade"]
    assert fade.key == "fr" and fade.lap == 4
    (first,) = LiveCoach().feed(batch(tyre_temp_fl=104.0))
    assert (first.rule, first.key, first.lap) == ("tyre_hot", "fl", 3)


def test_a_laps_summary_is_said_on_the_next_lap_and_box_refers_to_its_end() -> None:
    coach = LiveCoach(track_length_m=5000.0)
    coach.feed(batch(fuel=3.0))
    said = coach.lap_completed(
        lap_number=2, time_s=100.0, valid=True, fuel_used_l=2.5, in_or_out=False, trace=None
    )
    box = next(m for m in said if m.rule == "fuel_box")
    assert box.lap == 3 and box.until_m == 5000.0 and box.severity == "critical"
    assert all(m.lap == 3 for m in said) and all(m.until_m is None for m in said if m is not box)
