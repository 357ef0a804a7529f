"""Reads of cues pinned to a place on track (services_cues.py writes them)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from apps.sessions.models import Session

from .models import Cue


def cue_list_for_session(*, session: Session) -> QuerySet[Cue]:
    """The active cues (not removed, "once" cues not yet said) of the session's driver on its
    track and car, whichever of their sessions they were pinned on: a cue belongs to a place on
    a track, so it carries to the next session there (a restarted game or agent) until removed."""
    return Cue.objects.filter(
        owner_id=session.owner_id,
        session__track_id=session.track_id,
        session__car_id=session.car_id,
        removed_at__isnull=True,
    )


def cue_get_for_session(*, session: Session, cue_id: int) -> Cue:
    """An active cue of this session; 404 for any other (another session's, a removed one)."""
    cue = cue_list_for_session(session=session).filter(pk=cue_id).first()
    if cue is None:
        raise Http404("No such cue")
    return cue


def cue_for_agent(*, session_id: int | None, cue_id: object) -> Cue | None:
    """An active cue of the session a rig streams (what its agent may ack or report), else None."""
    if not isinstance(cue_id, int) or isinstance(cue_id, bool) or not 0 < cue_id < 2**63:
        return None
    session = Session.objects.filter(pk=session_id or 0).first()
    return None if session is None else cue_list_for_session(session=session).filter(pk=cue_id).first()


def live_sessions_of_cue(cue: Cue) -> list[tuple[int, int | None]]:
    """(session id, rig id) of the driver's live sessions where the cue is active."""
    pinned_on = cue.session
    live = Session.objects.filter(
        owner_id=cue.owner_id,
        track_id=pinned_on.track_id,
        car_id=pinned_on.car_id,
        state=Session.State.LIVE,
    )
    return list(live.values_list("pk", "rig_id"))


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
