from __future__ import annotations

import uuid
from typing import Any

from django import template

from apps.coaching.lib.focus_words import target_words
from apps.coaching.lib.history import change_words
from apps.coaching.lib.report_text import render_sections
from apps.coaching.models import FocusCorner, Report
from apps.coaching.selectors import report_latest_for_session
from apps.sessions.models import Session
from simcoach_site.lib.units import Units

register = template.Library()


@register.simple_tag
def report_latest(session: Session) -> Report | None:
    """The panel's report; the page including the panel has already checked access."""
    return report_latest_for_session(session=session)


@register.simple_tag
def new_request_id() -> str:
    # Each rendered form carries its own id: a double click asks for one report, not two.
    return str(uuid.uuid4())


@register.simple_tag
def report_sections(report: Report) -> dict[str, Any]:
    """The report's sections with every fact id rendered from its facts (never from the model)."""
    return render_sections(report.sections or {}, report.facts or {})


@register.filter
def history_trend(row: dict[str, Any], units: Units) -> str:
    """`{{ h|history_trend:units }}`: a report's corner-history row as its trend sentence, in
    the reader's units (the row keeps stored numbers; its "trend" text is the model's copy)."""
    changes = {
        "median_s": row.get("time_change_s"),
        "brake_m": row.get("brake_change_m"),
        "min_kmh": row.get("min_speed_change_kmh"),
        "exit_kmh": row.get("exit_speed_change_kmh"),
    }
    return change_words(str(row.get("corner", "")), int(row.get("sessions") or 0), changes, units)


@register.filter
def focus_target(focus: FocusCorner, units: Units) -> str:
    """`{{ f|focus_target:units }}` → "brake at 7385 ft or later", "carry at least 88.4 mph"."""
    return target_words(focus.kind, focus.target, units)
