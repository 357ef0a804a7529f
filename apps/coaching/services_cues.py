"""Writes of cues pinned to a place on track: pin, remove, and what the rig's agent reports.

Callers authorise: the session's owner (live page, API), or a viewer whose access grant
(apps.sharing.access: share link, saved driver, team coach) allows notes, re-resolved per request
by the viewer's socket; these functions check the cue itself. Every change is told, after the
commit, to the rig's socket (which tells the agent) and to the session's viewers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Final

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.sessions.models import Session
from simcoach_site.events import (
    CueChanged,
    CueDeliver,
    CueWithdraw,
    broadcast_on_commit,
    rig_group,
    session_group,
)
from simcoach_site.lib.ratelimit import attempt
from simcoach_site.lib.words import one_printable_line

from .models import Cue
from .selectors_cues import cue_dict, cue_list_for_session, cue_wire, live_sessions_of_cue

TEXT_MAX: Final = 80
LABEL_MAX: Final = 40
LEAD_RANGE_S: Final = (1.0, 15.0)
MAX_DISTANCE_M: Final = 50_000.0  # the lap_dist channel's own limit, for tracks of unknown length
ACTIVE_MAX: Final = 30  # active cues per session: more is noise, not coaching
PIN_LIMIT: Final = 12  # pins per author and session ...
PIN_WINDOW_S: Final = 60  # ... a minute


class CueRefused(Exception):
    """A cue that cannot be pinned, removed or recorded; the message says why."""


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise CueRefused(f"{what} must be a number")
    return float(value)


def cue_clean_text(text: object) -> str:
    """One printable line (it reaches a terminal and a speech engine), 1..80 characters."""
    if not isinstance(text, str):
        raise CueRefused("the cue's text must be text")
    clean = one_printable_line(text)
    if not clean:
        raise CueRefused("the cue's text is empty")
    if len(clean) > TEXT_MAX:
        raise CueRefused(f"a cue is at most {TEXT_MAX} characters")
    return clean


def cue_clean_at(session: Session, at_m: object) -> float:
    at = _number(at_m, "the distance (at_m)")
    length = session.track.length_m or MAX_DISTANCE_M
    if not 0 <= at <= length:
        raise CueRefused(f"the distance must be 0..{length:.0f} m (the lap), got {at:g}")
    return round(at, 1)


def cue_clean_lead(lead_s: object) -> float:
    lead = _number(lead_s, "the lead time (lead_s)")
    lo, hi = LEAD_RANGE_S
    if not lo <= lead <= hi:
        raise CueRefused(f"the lead time must be {lo:g}..{hi:g} s, got {lead:g}")
    return round(lead, 1)


def cue_clean_label(label: object) -> str:
    if label is None:
        return ""
    if not isinstance(label, str) or len(label.strip()) > LABEL_MAX:
        raise CueRefused(f"the label is a corner name of at most {LABEL_MAX} characters")
    return " ".join(label.split())


@transaction.atomic
def cue_pin(
    *,
    session: Session,
    author: str,
    via: str,
    at_m: object,
    text: object,
    lead_s: object = 3.0,
    repeat: object = Cue.Repeat.EVERY_LAP,
    label: object = "",
    author_user: User | None = None,
) -> Cue:
    """Pin a cue on a live session and send it to the rig's agent (on commit)."""
    if session.state != Session.State.LIVE:
        raise CueRefused("the session is not live; cues reach the driver only while driving")
    if repeat not in Cue.Repeat.values:
        raise CueRefused(f"repeat must be one of {', '.join(Cue.Repeat.values)}")
    cue = Cue(
        owner_id=session.owner_id,
        session=session,
        author=(author or "Coach")[:80],
        author_user=author_user,
        via=via,
        at_m=cue_clean_at(session, at_m),
        label=cue_clean_label(label),
        text=cue_clean_text(text),
        lead_s=cue_clean_lead(lead_s),
        repeat=str(repeat),
    )
    # a safe cache key: the author's name (a share link's label) may hold anything
    who = (
        f"u{author_user.pk}"
        if author_user is not None
        else f"{via}:{hashlib.sha256(author.encode()).hexdigest()[:16]}"
    )
    if not attempt(f"cue-pin:{session.pk}:{who}", limit=PIN_LIMIT, window_s=PIN_WINDOW_S):
        raise CueRefused(f"at most {PIN_LIMIT} cues a minute; try again shortly")
    if cue_list_for_session(session=session).count() >= ACTIVE_MAX:
        raise CueRefused(f"a session holds at most {ACTIVE_MAX} active cues; remove one first")
    cue.save()
    if session.rig_id is not None:
        deliver: CueDeliver = {"type": "cue.deliver", "session_id": session.pk, "cue": cue_wire(cue)}
        broadcast_on_commit(rig_group(session.rig_id), deliver)
    _tell_viewers(cue)
    return cue


@transaction.atomic
def cue_remove(*, cue: Cue) -> Cue:
    """Take a cue off the board (idempotent); the agent stops saying it."""
    if cue.removed_at is not None:
        return cue
    cue.removed_at = timezone.now()
    cue.save(update_fields=["removed_at"])
    for session_id, rig_id in live_sessions_of_cue(cue):  # wherever it is active now
        if rig_id is not None:
            withdraw: CueWithdraw = {"type": "cue.withdraw", "session_id": session_id, "cue_id": cue.pk}
            broadcast_on_commit(rig_group(rig_id), withdraw)
    _tell_viewers(cue)
    return cue


def cue_sent(*, cue_id: int, sent_at: dt.datetime) -> None:
    """The rig socket sent the cue to the agent now: a fresh delivery to time."""
    Cue.objects.filter(pk=cue_id).update(sent_at=sent_at, delivered_at=None)


@transaction.atomic
def cue_delivered(*, cue: Cue, sent_at: dt.datetime | None, delivered_at: dt.datetime) -> Cue:
    """The agent acked the cue; `sent_at` is when this socket sent it (its own record)."""
    cue.sent_at = sent_at or cue.sent_at
    cue.delivered_at = delivered_at
    cue.save(update_fields=["sent_at", "delivered_at"])
    _tell_viewers(cue)
    return cue


@transaction.atomic
def cue_spoken(*, cue: Cue, lap: object, before_m: object, speed_kmh: object) -> Cue:
    """The agent said the cue `before_m` metres before its point on `lap`; a "once" cue retires."""
    if isinstance(lap, bool) or not isinstance(lap, int) or not 0 <= lap <= 100_000:
        raise CueRefused("lap must be a lap number")
    before = _number(before_m, "before_m")
    speed = _number(speed_kmh, "speed_kmh")
    if not 0 <= before <= MAX_DISTANCE_M or not 0 <= speed <= 1000:
        raise CueRefused("before_m and speed_kmh are out of range")
    cue.spoken_at = timezone.now()
    cue.spoken_lap, cue.spoken_before_m, cue.spoken_speed_kmh = lap, round(before, 1), round(speed, 1)
    fields = ["spoken_at", "spoken_lap", "spoken_before_m", "spoken_speed_kmh"]
    if cue.repeat == Cue.Repeat.ONCE and cue.removed_at is None:
        cue.removed_at = cue.spoken_at
        fields.append("removed_at")
    cue.save(update_fields=fields)
    _tell_viewers(cue, spoken=True)
    return cue


def _tell_viewers(cue: Cue, *, spoken: bool = False) -> None:
    # The viewers of every live session where the cue is active (a carried cue was pinned on an
    # earlier session), and of the session it was pinned on.
    sessions = {cue.session_id, *(session_id for session_id, _ in live_sessions_of_cue(cue))}
    for session_id in sessions:
        event: CueChanged = {
            "type": "cue.changed",
            "session_id": session_id,
            "cue": cue_dict(cue),
            "spoken": spoken,
        }
        broadcast_on_commit(session_group(session_id), event)
