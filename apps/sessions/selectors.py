from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from .models import Lap, Session

def session_get_for_user(*, user: AbstractBaseUser | AnonymousUser, session_id: int) -> Session:
    """The one access check for sessions: someone else's session is a 404, never a 403."""
    session = (
        Session.objects.select_related("track", "car", "rig").filter(pk=session_id, owner_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if session is None:
        raise Http404("No such session")
    return session

def session_live_for_user(*, user: AbstractBaseUser | AnonymousUser) -> Session | None:
    """The user's most recent live session, which the /live/ page follows."""
    if not user.is_authenticated:
        return None
    return (
        Session.objects.select_related("track", "car")
        .filter(owner_id=user.pk, state=Session.State.LIVE, source="live")
        .order_by("-started_at")
        .first()
    )

def lap_list(*, session: Session) -> QuerySet[Lap]:
    return Lap.objects.filter(session=session).order_by("number")

def lap_get_for_user(*, user: AbstractBaseUser | AnonymousUser, lap_id: int) -> Lap:
    lap = (
        Lap.objects.select_related("session", "session__track", "session__car")
        .filter(pk=lap_id, session__owner_id=user.pk)
        .first()
        if user.is_authenticated
        else None
    )
    if lap is None:
        raise Http404("No such lap")
    return lap

def session_live_snapshot(*, session: Session) -> dict[str, object]:
    """What a viewer needs on connect: the session's facts and its laps so far."""
    laps = list(lap_list(session=session))
    timed = [lap for lap in laps if lap.time_ms and lap.valid and not lap.is_out_lap and not lap.is_in_lap]
    best = min(timed, key=lambda lap: lap.time_ms or 0, default=None)
    return {
        "session_id": session.pk,
        "state": session.state,
        "game": session.game,
        "track": session.track.name,
        "track_length_m": session.track.length_m,
        "corners": session.track.corners,
        "car": session.car.name,
        "kind": session.kind,
        "best_lap_ms": best.time_ms if best else None,
        "laps": [lap_dict(lap) for lap in laps[-50:]],
    }

def lap_dict(lap: Lap) -> dict[str, object]:
    return {
        "number": lap.number,
        "time_ms": lap.time_ms,
        "sector_ms": lap.sector_ms,
        "valid": lap.valid,
        "in_lap": lap.is_in_lap,
        "out_lap": lap.is_out_lap,
        "fuel_used_l": lap.fuel_used_l,
    }
