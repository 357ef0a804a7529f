from __future__ import annotations

import uuid

from django import template

from apps.coaching.models import Report
from apps.coaching.selectors import report_latest_for_session
from apps.sessions.models import Session

register = template.Library()


@register.simple_tag
def report_latest(session: Session) -> Report | None:
    """The panel's report; the page including the panel has already checked access."""
    return report_latest_for_session(session=session)


@register.simple_tag
def new_request_id() -> str:
    # Each rendered form carries its own id: a double click asks for one report, not two.
    return str(uuid.uuid4())
