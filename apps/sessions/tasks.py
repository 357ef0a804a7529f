"""Periodic housekeeping for sessions (Celery beat in production, the demo loop locally)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def sessions_close_idle_task() -> int:
    from .services import sessions_close_idle

    return sessions_close_idle(silence_s=settings.SESSION_SILENCE_TIMEOUT_S)


@shared_task(
    acks_late=True,
    soft_time_limit=settings.IMPORT_TASK_SOFT_TIME_LIMIT_S,
    time_limit=settings.IMPORT_TASK_TIME_LIMIT_S,
)
def session_import_run_task(import_id: int) -> bool:
    """Run one uploaded import (a second run of the same id is a no-op: see import_run)."""
    from .services_import_jobs import import_run

    return import_run(import_id=import_id)


@shared_task(acks_late=True)
def imports_sweep_task() -> int:
    """Remove upload files of abandoned imports and killed runs (hourly)."""
    from .services_import_jobs import imports_sweep

    return imports_sweep()
