"""Celery tasks of the coaching app: ids in, the service does the work, safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, max_retries=5, default_retry_delay=5, acks_late=True)
def lap_analyse_task(self, lap_id: int) -> None:  # type: ignore[no-untyped-def]
    from .services import lap_analyse

    lap_analyse(lap_id=lap_id)
