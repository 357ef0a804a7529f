"""report_generate and its task against a real `openai` client talking to a scripted server."""

from __future__ import annotations

import json

import pytest

from apps.coaching.lib.factref import render
from apps.coaching.lib.report_text import render_sections
from apps.coaching.models import Report
from apps.coaching.reports import ReportTransientError, report_generate
from apps.coaching.tasks import report_generate_task

from .fake_openai import MODEL_SNAPSHOT, FakeOpenAI, Reply
from .reportdata import FACTS, GOOD, GOOD_RENDERED, invented, report_with_facts

pytestmark = pytest.mark.django_db


def run_task(report: Report) -> Report:
    report_generate_task.apply(args=[report.pk])
    report.refresh_from_db()
    return report


class TestReportGenerate:
    def test_it_sends_the_facts_and_stores_the_models_report(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(GOOD)
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready" and report.source == "openai"
        assert report.model == MODEL_SNAPSHOT and report.prompt_version == "report-v2"
        assert (report.tokens_in, report.tokens_out, report.llm_calls) == (1200, 300, 1)
        assert report.cost_usd is not None and report.cost_usd > 0
        assert report.sections["opportunities"][0] == {
            **GOOD["opportunities"][0],
            "time_s": 0.18,  # from the facts: the model sends no numbers
            "time": "{corner:La Source.time_lost_s}",
        }
        assert report.flagged == []
        assert render_sections(report.sections, FACTS) | GOOD_RENDERED == render_sections(
            report.sections, FACTS
        )
        [request] = openai_server.requests
        body = request["body"]
        assert request["path"] == "/v1/chat/completions"
        assert request["headers"]["authorization"] == "Bearer sk-test-key"
        assert body["model"] == "gpt-4o-mini"
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["strict"] is True
        prompt = body["messages"][-1]["content"]
        assert json.loads(prompt.split("\n", 1)[1]) == FACTS

    def test_it_asks_again_when_the_model_invents_a_number(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(invented(), GOOD)
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready" and report.flagged == []
        assert report.sections["summary"] == GOOD["summary"].replace("{best_lap}", "{best_lap.time}").replace(
            "{theoretical_best}", "{theoretical_best.time}"
        )
        assert (report.tokens_in, report.llm_calls) == (2400, 2)
        correction = openai_server.requests[1]["body"]["messages"]
        assert correction[-2]["role"] == "assistant"
        assert "0.73" in correction[-1]["content"]

    def test_it_removes_and_flags_a_number_invented_twice(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(invented(), invented())
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready"
        assert report.flagged == ["0.73 s"]
        assert "0.73" not in report.sections["summary"] and "[?]" in report.sections["summary"]
        assert (
            render(report.sections["summary"], FACTS) == "Best lap 2:18.412; a tidy lap would gain you [?]."
        )

    def test_it_drops_an_opportunity_at_a_corner_not_in_the_facts(
        self, driver, openai_server: FakeOpenAI
    ) -> None:
        made_up = {
            **GOOD,
            "opportunities": [
                *GOOD["opportunities"][:2],
                {"corner": "Eau Rouge", "change": "Lift less."},
            ],
        }
        openai_server.answer(made_up, made_up)
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert [o["corner"] for o in report.sections["opportunities"]] == ["La Source", "Pouhon"]
        assert report.flagged == ["Eau Rouge"]

    def test_it_asks_again_after_a_malformed_answer(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer('{"summary": "cut off', GOOD)
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready" and report.llm_calls == 2

    def test_it_fails_readably_when_answers_stay_malformed(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer("not json at all", {"summary": "only a summary"})
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "failed"
        assert (
            "not a usable report" in report.error
            and "'opportunities'" in report.error
            or "'tyres'" in report.error
        )
        assert report.tokens_in == 2400  # what the failed attempt cost is still shown

    def test_it_puts_the_report_back_to_pending_on_a_rate_limit(
        self, driver, openai_server: FakeOpenAI
    ) -> None:
        openai_server.answer(Reply(status=429, content="slow down"))
        report = report_with_facts(driver)
        with pytest.raises(ReportTransientError):
            report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "pending" and "rate limited" in report.error

    def test_it_does_nothing_for_a_report_already_written(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(GOOD, GOOD)
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report_generate(report_id=report.pk)
        assert len(openai_server.requests) == 1
        assert Report.objects.count() == 1

    def test_it_leaves_a_report_claimed_by_another_run_alone(self, driver, openai_server: FakeOpenAI) -> None:
        report = report_with_facts(driver, status="running")
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "running" and openai_server.requests == []

    def test_it_writes_from_the_facts_without_a_key(
        self, driver, no_openai_key, openai_server: FakeOpenAI
    ) -> None:
        from django.conf import settings

        settings.OPENAI_API_KEY = ""
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "ready" and report.source == "facts-only"
        assert report.sections["notice"] == "Written from your data without AI: no OpenAI key configured."
        assert render_sections(report.sections, FACTS)["summary"] == (
            "Practice at Spa-Francorchamps in the Mercedes-AMG GT3: 4 laps, 3 green. Best lap 2:18.412 (lap 2). "
            "Your best sectors add up to 2:18.101, 0.31 s quicker."
        )
        assert render_sections(report.sections, FACTS)["tyres"] == (
            "Average temperatures FL 88.4 °C, FR 87.1 °C, RL 84.3 °C, RR 83.2 °C (window 80 °C–95 °C), "
            "all in the window."
        )
        assert report.sections["opportunities"][0]["change"] == "brake ~10 m later, as on your best lap"
        assert (report.tokens_in, report.cost_usd, openai_server.requests) == (0, None, [])


class TestReportGenerateTask:
    def test_it_retries_after_a_rate_limit(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(Reply(status=429, content="slow down"), GOOD)
        report = run_task(report_with_facts(driver))
        assert report.status == "ready" and report.attempts == 2
        assert len(openai_server.requests) == 2

    def test_it_retries_after_a_timeout(self, driver, openai_server: FakeOpenAI, settings) -> None:
        settings.OPENAI_TIMEOUT_S = 0.5
        openai_server.answer(Reply(stall=True), GOOD)
        report = run_task(report_with_facts(driver))
        assert report.status == "ready" and report.attempts == 2

    def test_it_fails_with_a_message_when_the_server_keeps_failing(
        self, driver, openai_server: FakeOpenAI
    ) -> None:
        openai_server.answer(*[Reply(status=500, content="boom")] * 5)
        report = run_task(report_with_facts(driver))
        assert report.status == "failed"
        assert (
            report.error
            == "The model could not write the report: the model's server answered server error 500 (5 tries)."
        )
        assert len(openai_server.requests) == 5

    def test_it_does_not_retry_a_refused_key(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(Reply(status=401, content="bad key"))
        report = run_task(report_with_facts(driver))
        assert report.status == "failed" and "key was refused" in report.error
        assert len(openai_server.requests) == 1

    def test_it_calls_the_model_once_when_the_task_runs_twice(
        self, driver, openai_server: FakeOpenAI
    ) -> None:
        openai_server.answer(GOOD, GOOD)
        report = report_with_facts(driver)
        run_task(report)
        run_task(report)
        assert len(openai_server.requests) == 1
        assert Report.objects.filter(session=report.session).count() == 1
