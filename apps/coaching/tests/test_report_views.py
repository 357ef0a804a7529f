"""The report panel, its POST to ask for a report, and the JSON the panel polls."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from apps.coaching.models import Report
from apps.coaching.reports import report_generate

from .fake_openai import FakeOpenAI, Reply
from .reportdata import GOOD, GOOD_RENDERED, ended_session, report_with_facts

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


class TestReportRequest:
    def test_it_creates_one_report_per_request_id(self, driver, no_openai_key) -> None:
        session = ended_session(driver)
        url = reverse("session-report", args=[session.pk])
        rid = str(uuid.uuid4())
        client = client_for(driver)
        first = client.post(url, {"request_id": rid, "next": f"/sessions/{session.pk}/"})
        client.post(url, {"request_id": rid})
        assert first.status_code == 302 and first["Location"] == f"/sessions/{session.pk}/"
        report = Report.objects.get(session=session)
        assert (str(report.request_id), report.trigger, report.status) == (rid, "manual", "pending")

    def test_it_does_not_redirect_off_site(self, driver) -> None:
        session = ended_session(driver)
        url = reverse("session-report", args=[session.pk])
        response = client_for(driver).post(url, {"next": "https://evil.example/"})
        assert response["Location"] == url

    def test_it_hides_other_drivers_sessions(self, driver, stranger) -> None:
        session = ended_session(driver)
        client = client_for(stranger)
        assert client.post(reverse("session-report", args=[session.pk])).status_code == 404
        assert client.get(reverse("session-report", args=[session.pk])).status_code == 404
        assert client.get(reverse("api-session-report", args=[session.pk])).status_code == 404
        assert not Report.objects.exists()

    def test_it_asks_anonymous_users_to_log_in(self, driver) -> None:
        session = ended_session(driver)
        assert Client().post(reverse("session-report", args=[session.pk])).status_code == 302
        assert Client().get(reverse("api-session-report", args=[session.pk])).status_code in (401, 403)

    def test_it_retries_a_failed_report_from_the_panel(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(Reply(status=401, content="bad key"), GOOD)
        failed = report_with_facts(driver)
        report_generate(report_id=failed.pk)
        client = client_for(driver)
        page = client.get(reverse("session-report", args=[failed.session_id]))
        assert b"the OpenAI key was refused" in page.content and b">Retry</button>" in page.content
        client.post(reverse("session-report", args=[failed.session_id]), {"request_id": str(uuid.uuid4())})
        retry = Report.objects.exclude(pk=failed.pk).get()
        report_generate(report_id=retry.pk)
        retry.refresh_from_db()
        assert retry.status == "ready"


class TestReportLatestApi:
    def test_it_returns_null_before_the_first_report(self, driver) -> None:
        session = ended_session(driver)
        data = client_for(driver).get(reverse("api-session-report", args=[session.pk])).json()
        assert data == {"session_id": session.pk, "report": None}

    def test_it_returns_the_newest_report(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer(GOOD)
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        data = (
            client_for(driver).get(reverse("api-session-report", args=[report.session_id])).json()["report"]
        )
        assert data["status"] == "ready" and data["active"] is False
        assert data["model"] == "gpt-4o-mini-2024-07-18" and data["tokens_in"] == 1200
        assert data["sections"]["summary"] == GOOD_RENDERED["summary"] and data["cost_usd"] > 0


class TestReportPanel:
    def test_it_escapes_the_models_text(self, driver, openai_server: FakeOpenAI) -> None:
        openai_server.answer({**GOOD, "summary": "<script>alert(1)</script> Best lap 2:18.412."})
        report = report_with_facts(driver)
        report_generate(report_id=report.pk)
        page = client_for(driver).get(reverse("session-report", args=[report.session_id])).content.decode()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
        assert "Written by gpt-4o-mini-2024-07-18" in page and "prompt report-v2" in page
        assert "tokens 1200 in / 300 out" in page and "New report</button>" in page

    def test_it_polls_while_a_report_is_pending(self, driver) -> None:
        report = report_with_facts(driver)
        page = client_for(driver).get(reverse("session-report", args=[report.session_id]) + "?partial=1")
        html = page.content.decode()
        assert 'data-active="1"' in html and "Waiting for a worker" in html
        assert "<button" not in html  # no second request while one is in flight
