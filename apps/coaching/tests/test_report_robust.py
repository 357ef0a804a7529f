"""The model call under a misbehaving server, and report retries on the in-process runner."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from apps.coaching.lib import llm
from apps.coaching.lib.report_text import SCHEMA
from apps.coaching.models import Report
from apps.coaching.reports import ReportTransientError, report_generate
from apps.coaching.tasks import report_generate_task
from simcoach_site import jobs

from .fake_openai import FakeOpenAI, Reply
from .reportdata import GOOD, report_with_facts

NOT_A_COMPLETION = "the model's server sent a reply that is not a chat completion"
SLACK_S = 1.0  # thread start-up and a loaded machine; far below one trickled read's worth


def poll(predicate: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


@pytest.mark.django_db
class TestNotJson:
    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
            (b'{"choices": [{"message": ', "application/json"),  # cut off mid-body
            (b"[1, 2, 3]", "application/json"),  # JSON, but not a completion
        ],
    )
    def test_a_200_that_is_not_a_completion_is_transient(
        self, driver, openai_server: FakeOpenAI, body: bytes, content_type: str
    ) -> None:
        openai_server.answer(Reply(raw=body, raw_type=content_type))
        report = report_with_facts(driver)
        with pytest.raises(ReportTransientError, match=NOT_A_COMPLETION):
            report_generate(report_id=report.pk)
        report.refresh_from_db()
        assert report.status == "pending" and report.error == NOT_A_COMPLETION

    def test_the_task_retries_it_and_writes_the_report(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(Reply(raw=b"<html>oops</html>"), GOOD)
        report = report_with_facts(driver)
        report_generate_task.apply(args=[report.pk])
        report.refresh_from_db()
        assert report.status == "ready" and report.attempts == 2
        assert len(openai_server.requests) == 2


class TestWholeCallDeadline:
    def test_a_trickling_server_is_cut_at_the_deadline(self, openai_server: FakeOpenAI, settings) -> None:
        # A byte every 0.2 s: every read is well within the client's per-read timeout, so only
        # a deadline on the whole call can stop it (the body would take minutes).
        settings.OPENAI_TIMEOUT_S = 1.5
        openai_server.answer(Reply(content=GOOD, trickle_s=0.2))
        started = time.monotonic()
        with pytest.raises(llm.LlmTransientError, match="did not answer within 1.5 s"):
            llm.chat_json(messages=[{"role": "user", "content": "hi"}], schema=SCHEMA, schema_name="r")
        took = time.monotonic() - started
        assert took < settings.OPENAI_TIMEOUT_S + SLACK_S, took
        assert openai_server.trickled >= 3  # the server was still sending: no read timed out
        # The abandoned call does not read on: its connection is dropped.
        poll(lambda: not any(t.name == "simcoach-llm-call" for t in threading.enumerate()), seconds=10)

    def test_a_server_that_answers_in_time_is_not_cut(self, openai_server: FakeOpenAI, settings) -> None:
        settings.OPENAI_TIMEOUT_S = 5.0
        openai_server.answer(Reply(content={"summary": "ok"}, trickle_s=0.001))
        done = llm.chat_json(messages=[{"role": "user", "content": "hi"}], schema=SCHEMA, schema_name="r")
        assert done.content == '{"summary": "ok"}'


class _Probe:
    """An unrelated job: records how many model calls the report had made when it ran."""

    name = "probe"

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        self.seen: list[int] = []

    def apply(self, args: Any, throw: bool) -> None:
        self.seen.append(len(self.fake.requests))


@pytest.mark.django_db(transaction=True)
def test_a_report_retry_does_not_hold_up_other_jobs(
    driver, embedded_jobs, openai_server: FakeOpenAI, settings
) -> None:
    settings.JOBS_INLINE = False  # the in-process runner: one worker thread
    settings.REPORT_RETRY_BASE_S = 3.0
    openai_server.answer(Reply(status=429, content="slow down"), GOOD)
    report = report_with_facts(driver)
    jobs.enqueue(report_generate_task, report.pk)
    poll(lambda: Report.objects.get(pk=report.pk).error != "")  # first try done, retry due in 3 s
    probe = _Probe(openai_server)
    jobs.enqueue(probe)
    poll(lambda: probe.seen != [])
    # The probe ran before the retry: with the backoff slept on the worker it would have
    # waited behind it and seen the second call.
    assert probe.seen == [1]
    assert Report.objects.get(pk=report.pk).status == "pending"
    jobs.wait_idle(timeout=60)  # the retry is queued work too
    report.refresh_from_db()
    assert report.status == "ready" and report.attempts == 2 and len(openai_server.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_wait_idle_waits_for_retries_queued_by_retries(
    driver, embedded_jobs, openai_server: FakeOpenAI, settings
) -> None:
    settings.JOBS_INLINE = False
    settings.REPORT_RETRY_BASE_S = 0.2  # 0.2 s, then 0.4 s: each try queues the next
    openai_server.answer(Reply(status=429, content="slow down"), Reply(status=503, content="busy"), GOOD)
    report = report_with_facts(driver)
    jobs.enqueue(report_generate_task, report.pk)
    jobs.wait_idle(timeout=60)
    report.refresh_from_db()
    assert report.status == "ready" and report.attempts == 3 and len(openai_server.requests) == 3
