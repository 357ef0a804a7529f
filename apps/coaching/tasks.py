"""Celery tasks of the coaching app: ids in, the service does the work, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from simcoach_site.events import LapStored, SessionClosed
from simcoach_site.jobs import enqueue, enqueue_later


@shared_task(bind=True, max_retries=5, default_retry_delay=5, acks_late=True)
def lap_analyse_task(self, lap_id: int) -> None:  # type: ignore[no-untyped-def]
    from .services import lap_analyse

    lap_analyse(lap_id=lap_id)


@shared_task(acks_late=True)
def session_report_create_task(session_id: int) -> None:
    """Create the automatic report of a session that just ended (once) and queue its writing."""
    from .reports import session_report_create

    session_report_create(session_id=session_id)


@shared_task(bind=True, max_retries=4, acks_late=True, soft_time_limit=240, time_limit=300)
def report_generate_task(self, report_id: int) -> None:  # type: ignore[no-untyped-def]
    """Write a report; transient model errors are retried with exponential backoff, then fail."""
    from django.conf import settings

    from .reports import ReportTransientError, report_fail, report_generate

    try:
        report_generate(report_id=report_id)
    except ReportTransientError as exc:
        tries = self.request.retries + 1
        if self.request.retries >= self.max_retries:
            report_fail(
                report_id=report_id, error=f"The model could not write the report: {exc} ({tries} tries)."
            )
            return
        # 1, 2, 4, 8 x the base: a rate limit usually clears within a minute.
        countdown = settings.REPORT_RETRY_BASE_S * 2**self.request.retries
        if self.request.is_eager:
            # Embedded mode (no broker, simcoach_site.jobs): apply() cannot schedule a retry and
            # would raise it. With no wait, the next try runs here; otherwise it is queued again
            # after the countdown, never slept on the one jobs thread other jobs wait for.
            if countdown <= 0:
                report_generate_task.apply(args=[report_id], retries=self.request.retries + 1, throw=True)
            else:
                enqueue_later(countdown, report_generate_task, report_id, retries=self.request.retries + 1)
            return
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True)
def laps_analyse_missing_task() -> int:
    """Re-enqueue laps whose analysis never ran (its enqueue failed, e.g. broker down)."""
    from .selectors import lap_ids_unanalysed

    ids = lap_ids_unanalysed(older_than_s=120)
    for lap_id in ids:
        lap_analyse_task.delay(lap_id)
    return len(ids)


def lap_stored_analyse(event: LapStored) -> None:
    """Every stored lap, live or imported, is analysed once its transaction commits."""
    enqueue(lap_analyse_task, event.lap_id)


def session_closed_report(event: SessionClosed) -> None:
    """An ended session gets its automatic report (once: the service checks)."""
    enqueue(session_report_create_task, event.session_id)
