from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from apps.sessions.models import Lap, Session

from .lib.report_text import render_sections
from .models import Report


def report_latest_for_session(*, session: Session) -> Report | None:
    """The newest report of a session (the caller has already checked the session's owner)."""
    return Report.objects.filter(session=session).first()


def report_dict(report: Report | None) -> dict[str, Any] | None:
    """A report as the polling panel and the API see it."""
    if report is None:
        return None
    return {
        "id": report.pk,
        "request_id": str(report.request_id),
        "status": report.status,
        "active": report.is_active,
        "trigger": report.trigger,
        "source": report.source,
        "model": report.model,
        "prompt_version": report.prompt_version,
        "tokens_in": report.tokens_in,
        "tokens_out": report.tokens_out,
        "cost_usd": float(report.cost_usd) if report.cost_usd is not None else None,
        # Numbers are rendered from the facts here, in the reader's units: the stored text
        # holds fact ids ({best_lap}), never a number the model wrote.
        "sections": render_sections(report.sections, report.facts or {}),
        "flagged": report.flagged,
        "error": report.error,
        "created_at": report.created_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }


def lap_ids_unanalysed(*, older_than_s: int) -> list[int]:
    """Laps that finished a while ago and still have no stored analysis."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    return list(
        Lap.objects.filter(ended_at__lt=cutoff)
        .exclude(stats__has_key="analysis")
        .values_list("pk", flat=True)[:500]
    )


def session_ids_report_ready(session_ids: list[int]) -> set[int]:
    """Ids among `session_ids` with a ready report (sessions' list asks through events.ready_reports)."""
    ready = Report.objects.filter(session_id__in=session_ids, status=Report.Status.READY)
    return set(ready.values_list("session_id", flat=True))
