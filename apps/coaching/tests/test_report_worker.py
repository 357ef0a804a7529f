"""The report tasks through a real Celery worker on the real Redis broker (both CI passes)."""

from __future__ import annotations

import time

import pytest

from apps.coaching.models import Report
from apps.sessions.services import session_end
from apps.sessions.tests.factories import session_with_demo_laps

from .fake_openai import FakeOpenAI
from .reportdata import FREE_NUMBERS


def wait_for(report_filter: dict[str, object], seconds: float = 90) -> Report:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        report = Report.objects.filter(**report_filter).first()
        if report is not None and report.status in ("ready", "failed"):
            return report
        time.sleep(0.2)
    raise AssertionError(
        f"no finished report for {report_filter}: {Report.objects.filter(**report_filter).first()}"
    )


@pytest.mark.django_db(transaction=True)
def test_it_writes_the_report_of_an_ended_session_on_a_worker(
    driver, worker_queue: str, openai_server: FakeOpenAI
) -> None:
    openai_server.answer(FREE_NUMBERS, FREE_NUMBERS)
    session = session_with_demo_laps(driver, laps=2, noise=False, end=False)
    session_end(session=session)  # enqueues session_report_create_task -> report_generate_task
    report = wait_for({"session": session})
    assert report.trigger == "auto" and report.status == "ready" and report.source == "openai"
    assert report.llm_calls == 2  # those numbers are not this session's: asked again, then flagged
    assert Report.objects.filter(session=session).count() == 1
