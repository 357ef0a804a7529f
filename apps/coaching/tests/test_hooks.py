"""Coaching reacts to sessions through simcoach_site.events, not through imports."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.coaching.models import Report
from apps.coaching.selectors import session_ids_report_ready
from apps.coaching.tasks import lap_stored_analyse, session_closed_report
from apps.sessions.models import Lap
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_site import events

pytestmark = pytest.mark.django_db


def test_coaching_listens_from_startup() -> None:
    assert lap_stored_analyse in events.lap_stored._receivers.values()
    assert session_closed_report in events.session_closed._receivers.values()
    assert events._ready_reports == [session_ids_report_ready]


def test_every_lap_stored_from_the_stream_is_analysed_once_it_commits(
    driver,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    settings,  # type: ignore[no-untyped-def]
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # run the analysis here, after commit, not on a broker
    with django_capture_on_commit_callbacks(execute=True):
        session = session_with_demo_laps(driver, laps=2, end=False, noise=False)
    laps = Lap.objects.filter(session=session)
    assert laps.count() >= 2
    assert all("analysis" in lap.stats for lap in laps)


def test_a_lap_is_not_analysed_before_its_transaction_commits(driver) -> None:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2, end=False, noise=False)  # never commits here
    assert not any("analysis" in lap.stats for lap in Lap.objects.filter(session=session))


def test_the_sessions_list_marks_the_sessions_whose_report_is_ready(driver) -> None:  # type: ignore[no-untyped-def]
    ready = session_with_demo_laps(driver, laps=1, noise=False)
    pending = session_with_demo_laps(driver, laps=1, noise=False)
    Report.objects.create(session=ready, status=Report.Status.READY)
    Report.objects.create(session=pending, status=Report.Status.PENDING)
    assert session_ids_report_ready([ready.pk, pending.pk]) == {ready.pk}
    client = Client()
    client.force_login(driver)
    page = client.get("/sessions/").content.decode()
    assert page.count("report ready") == 1
