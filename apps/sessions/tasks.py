"""Periodic housekeeping for sessions (Celery beat in production, the demo loop locally)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def sessions_close_idle_task() -> int:
    from .services import sessions_close_idle

    return sessions_close_idle(silence_s=settings.SESSION_SILENCE_TIMEOUT_S)
