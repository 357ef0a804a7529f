from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.sessions.models import Session
from apps.sessions.services import session_open, sessions_close_idle
from apps.sessions.tasks import sessions_close_idle_task

pytestmark = pytest.mark.django_db


def test_it_ends_only_sessions_silent_past_the_timeout(driver) -> None:
    quiet = session_open(owner=driver, rig_id=None, agent_uid="a", game="demo", track="Spa", car="GT3")
    busy = session_open(owner=driver, rig_id=None, agent_uid="b", game="demo", track="Spa", car="GT3")
    Session.objects.filter(pk=quiet.pk).update(last_frame_at=timezone.now() - dt.timedelta(minutes=11))
    Session.objects.filter(pk=busy.pk).update(last_frame_at=timezone.now() - dt.timedelta(seconds=30))
    assert sessions_close_idle(silence_s=600) == 1
    assert Session.objects.get(pk=quiet.pk).state == "ended"
    assert Session.objects.get(pk=busy.pk).state == "live"
    assert sessions_close_idle(silence_s=600) == 0  # a second sweep finds nothing more


def test_it_runs_as_a_task_with_the_configured_timeout(driver, settings) -> None:
    settings.SESSION_SILENCE_TIMEOUT_S = 5
    s = session_open(owner=driver, rig_id=None, agent_uid="c", game="demo", track="Spa", car="GT3")
    Session.objects.filter(pk=s.pk).update(started_at=timezone.now() - dt.timedelta(seconds=10))
    assert sessions_close_idle_task() == 1
