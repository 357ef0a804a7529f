"""Against a loopback model that plants each kind of misquote: none can reach the reader.

The report as a reader sees it is rendered from the facts (`render_sections`); a planted
number must be caught (the model is asked again) and, if planted again, be shown as [?] and
listed, while an honest number written in another format than the facts' is kept and shown
in the site's own format.
"""

from __future__ import annotations

import pytest

from apps.coaching.lib.report_text import render_sections
from apps.coaching.reports import report_generate

from .fake_openai import HONEST, PLANTS, FakeOpenAI, Reply
from .reportdata import FACTS, GOOD, GOOD_RENDERED, report_with_facts

pytestmark = pytest.mark.django_db

# What each planted sentence must not show, and what the reader sees instead.
CAUGHT: dict[str, tuple[str, str]] = {
    "invented": ("0.73", "A tidy lap would gain you [?]."),
    "in_words": ("two seconds", "A tidy lap would gain you [?]."),
    "tenths_in_words": ("five tenths", "Braking later is worth [?]."),
    "percent_of_a_lap_number": ("4%", "You improved [?] over the session."),
    "percent_in_words": ("four percent", "You improved [?] over the session."),
    "percent_of_a_fact_id": ("4%", "You improved [?] over the session."),
    "wrong_lap_time_as_best": ("2:18.655", "Your best was [?]."),
    "wrong_fact_id_as_best": ("2:18.655", "Your best was [?]."),
    "unknown_fact_id": ("Eau Rouge.time", "You lose [?] at Eau Rouge."),
}
# How each honest sentence reads once rendered: the number kept, in the site's format.
KEPT: dict[str, str] = {
    "minutes_and_seconds": "Lap 3 took 2:18.655.",
    "clock_rounded": "Your best was 2:18.412.",
    "seconds_only": "Your best sectors add up to 2:18.101.",
    "unit_in_words": "You use 3.59 l a lap.",
}


def test_every_planted_kind_is_covered() -> None:
    assert set(CAUGHT) == set(PLANTS) and set(KEPT) == set(HONEST)


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_a_planted_number_is_caught_and_never_shown(driver, openai_server: FakeOpenAI, kind: str) -> None:
    openai_server.answer(Reply(content=GOOD, plant=kind), Reply(content=GOOD, plant=kind))
    report = report_with_facts(driver)
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    planted, shown = CAUGHT[kind]
    assert report.status == "ready" and report.llm_calls == 2  # caught: asked again
    correction = openai_server.requests[1]["body"]["messages"][-1]["content"]
    assert "Your report has problems" in correction
    assert any(planted in f for f in report.flagged)  # planted again: removed and listed
    summary = render_sections(report.sections, FACTS)["summary"]
    assert summary == f"{GOOD_RENDERED['summary']} {shown}"
    assert planted not in summary


@pytest.mark.parametrize("kind", sorted(PLANTS))
def test_a_model_that_corrects_itself_leaves_nothing_flagged(
    driver, openai_server: FakeOpenAI, kind: str
) -> None:
    openai_server.answer(Reply(content=GOOD, plant=kind), GOOD)
    report = report_with_facts(driver)
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.llm_calls == 2 and report.flagged == []
    assert render_sections(report.sections, FACTS)["summary"] == GOOD_RENDERED["summary"]


@pytest.mark.parametrize("kind", sorted(HONEST))
def test_an_honest_number_in_another_format_is_kept(driver, openai_server: FakeOpenAI, kind: str) -> None:
    openai_server.answer(Reply(content=GOOD, plant=kind))
    report = report_with_facts(driver)
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "ready" and report.llm_calls == 1 and report.flagged == []
    assert "[?]" not in str(report.sections)
    # Stored as a fact id, rendered by the site: not the model's digits.
    assert HONEST[kind] not in report.sections["summary"]
    assert render_sections(report.sections, FACTS)["summary"] == f"{GOOD_RENDERED['summary']} {KEPT[kind]}"


def test_every_number_of_a_good_report_is_rendered_from_the_facts(driver, openai_server: FakeOpenAI) -> None:
    openai_server.answer(GOOD)
    report = report_with_facts(driver)
    report_generate(report_id=report.pk)
    report.refresh_from_db()
    rendered = render_sections(report.sections, FACTS)
    assert {k: rendered[k] for k in GOOD_RENDERED} == GOOD_RENDERED
    assert [o["time"] for o in rendered["opportunities"]] == ["0.18 s", "0.12 s", "0.05 s"]
    assert rendered["opportunities"][0]["change"] == "Brake about 10 m later."
