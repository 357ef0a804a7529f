"""Reads of cues pinned to a place on track (services_cues.py writes them)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.sessions.models import Session

from .models import Cue


def cue_list_for_session(*, session: Session) -> QuerySet[Cue]:
    """The session's active cues (not removed, "once" cues not yet said), by distance."""
    return Cue.objects.filter(session=session, removed_at__isnull=True)


def cue_get_for_session(*, session: Session, cue_id: int) -> Cue:
    """An active cue of this session; 404 for any other (another session's, a removed one)."""
    cue = cue_list_for_session(session=session).filter(pk=cue_id).first()
    if cue is None:
        raise Http404("No such cue")
    return cue


def cue_for_rig(*, rig_id: int, cue_id: object) -> Cue | None:
    """A cue of a session streamed by this rig (what its agent may ack or report), else None."""
    if not isinstance(cue_id, int) or isinstance(cue_id, bool) or not 0 < cue_id < 2**63:
        return None
    return Cue.objects.filter(pk=cue_id, session__rig_id=rig_id).first()


def cue_wire(cue: Cue) -> dict[str, object]:
    """The agent's `cue` message (docs/protocol.md), without `sent_at` (stamped when sent)."""
    return {
        "type": "cue",
        "id": cue.pk,
        "at_m": cue.at_m,
        "label": cue.label,
        "text": cue.text,
        "lead_s": cue.lead_s,
        "repeat": cue.repeat,
    }


def cue_dict(cue: Cue) -> dict[str, object]:
    """A cue for the pages and the API, with its delivery facts (None until known)."""
    return {
        "id": cue.pk,
        "session_id": cue.session_id,
        "at_m": cue.at_m,
        "label": cue.label,
        "text": cue.text,
        "lead_s": cue.lead_s,
        "repeat": cue.repeat,
        "author": cue.author,
        "via": cue.via,
        "created_at": cue.created_at.isoformat(),
        "removed": cue.removed_at is not None,
        "sent_at": cue.sent_at.isoformat() if cue.sent_at else None,
        "delivery_ms": round(cue.delivery_ms, 1) if cue.delivery_ms is not None else None,
        "spoken_lap": cue.spoken_lap,
        "spoken_before_m": cue.spoken_before_m,
        "spoken_speed_kmh": cue.spoken_speed_kmh,
    }
