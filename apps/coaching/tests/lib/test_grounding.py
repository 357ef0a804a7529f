"""The grounding check: numbers in a report must round from numbers in the facts."""

from __future__ import annotations

from apps.coaching.lib.grounding import fact_numbers, numbers_in, strip_ungrounded, ungrounded_in

FACTS = {"best": {"time": "2:18.412", "lap": 3}, "loss_s": -0.183, "brake_m": -10, "corner": "T1", "ok": True}


def test_it_accepts_numbers_rounded_to_the_precision_shown() -> None:
    known = fact_numbers(FACTS)
    assert ungrounded_in("Lose 0.18 s (0.2 s) braking ~10 m early on lap 3.", known) == []


def test_it_reads_lap_times_in_both_forms() -> None:
    known = fact_numbers(FACTS)
    assert ungrounded_in("Best 2:18.41, that is 138.4 s.", known) == []
    assert [q.value for q in numbers_in("2:18.412")] == [138.412]


def test_it_ignores_digits_inside_names() -> None:
    assert numbers_in("T1 and S2 in the GT3") == []


def test_it_catches_and_removes_an_invented_number() -> None:
    known = fact_numbers(FACTS)
    assert ungrounded_in("You could gain 0.73 s.", known) == ["0.73"]
    assert strip_ungrounded("You could gain 0.73 s on lap 3.", known) == (
        "You could gain [?] s on lap 3.",
        ["0.73"],
    )
