"""The facts of a real (demo) session streamed through the ingest path, and the automatic report."""

from __future__ import annotations

import pytest

from apps.coaching.lib.report_text import render_sections
from apps.coaching.models import Report
from apps.coaching.reports import report_facts, report_generate, session_report_create
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_site import jobs

from .fake_openai import FakeOpenAI
from .reportdata import FREE_NUMBERS


@pytest.fixture
def demo_session(driver):  # type: ignore[no-untyped-def]
    # Lap 1 is the out-lap; lap 4 brakes 15 m early into La Source, the only planted mistake.
    return session_with_demo_laps(
        driver, laps=4, noise=False, per_lap={4: {"brake_earlier_m": {"La Source": 15}}}
    )


@pytest.mark.django_db
class TestReportFacts:
    def test_it_finds_the_planted_mistake_and_writes_it_up(self, demo_session, no_openai_key) -> None:
        facts = report_facts(session=demo_session)
        assert facts["laps"]["total"] == 4 and facts["laps"]["green"] == 3
        assert facts["best_lap"]["lap"] in (2, 3)
        top = facts["opportunities"][0]
        assert top["corner"] == "La Source"
        assert top["brake_point_vs_best_m"] <= -5 and top["change"].startswith("brake ~")
        assert facts["consistency"]["laps"] == 3
        assert set(facts["tyres"]["avg_temp_c"]) == {"fl", "fr", "rl", "rr"}
        assert facts["fuel"]["per_lap_l"] > 0
        report = session_report_create(session_id=demo_session.pk)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready" and report.source == "facts-only"
        assert report.facts == facts
        shown = render_sections(report.sections, facts)
        assert facts["best_lap"]["time"] in shown["summary"]
        # Every number of the template is a fact id that resolves: nothing unrendered or dead.
        texts = [v for v in shown.values() if isinstance(v, str)]
        texts += [v for o in shown["opportunities"] for v in o.values() if isinstance(v, str)]
        assert not [t for t in texts if "{" in t or "[?]" in t]
        assert f"{facts['fuel']['per_lap_l']:g} l a lap" in shown["fuel"]
        assert report.sections["opportunities"][0]["corner"] == "La Source"

    def test_it_grounds_a_model_report_on_the_streamed_facts(
        self, demo_session, openai_server: FakeOpenAI
    ) -> None:
        openai_server.answer(FREE_NUMBERS, FREE_NUMBERS)  # another session's numbers: they fit nothing here
        report = session_report_create(session_id=demo_session.pk)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready" and report.llm_calls == 2
        assert "2 min 18.412 s" in report.flagged and "[?]" in report.sections["summary"]
        assert "La Source" in openai_server.requests[0]["body"]["messages"][1]["content"]


@pytest.mark.django_db
class TestSessionReportCreate:
    def test_it_creates_one_automatic_report_however_often_it_runs(self, driver) -> None:
        session = session_with_demo_laps(driver, laps=1, noise=False)
        first = session_report_create(session_id=session.pk)
        second = session_report_create(session_id=session.pk)
        assert first is not None and first == second
        assert Report.objects.filter(session=session).count() == 1

    def test_it_skips_a_live_session(self, driver) -> None:
        live = session_with_demo_laps(driver, laps=1, end=False, noise=False)
        assert session_report_create(session_id=live.pk) is None


@pytest.mark.django_db(transaction=True)
def test_it_writes_a_report_when_a_session_ends(driver, embedded_jobs, no_openai_key) -> None:
    session = session_with_demo_laps(driver, laps=2, noise=False)  # ends it: session_end
    for _ in range(3):  # the create task queues the generate task: wait for the chain
        jobs.wait_idle(timeout=60)
    report = Report.objects.get(session=session)
    assert report.trigger == "auto" and report.status == "ready" and report.source == "facts-only"
