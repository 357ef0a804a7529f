from __future__ import annotations

from typing import Any

from apps.sessions.models import Session

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
        "sections": report.sections,
        "flagged": report.flagged,
        "error": report.error,
        "created_at": report.created_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }
