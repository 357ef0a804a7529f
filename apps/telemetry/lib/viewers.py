"""The browser sockets' rules, kept apart from the socket: what a share viewer may send and
when its link is checked again, and the close each refusal gets."""

from __future__ import annotations

import datetime as dt
import json
from typing import Final

from simcoach_agent.wire import CLOSE_GONE, CLOSE_NOT_FOUND, CLOSE_REVOKED, CLOSE_UNAUTHORIZED, WireError

SHARE_CLOSE: Final = {
    "unknown": (CLOSE_NOT_FOUND, "unknown share link"),
    "expired": (CLOSE_GONE, "share link expired"),
    "revoked": (CLOSE_GONE, "share link revoked"),
}


# A team coach's socket: outside the team (never in it, left, removed, team deleted) is
# unknown, like a page's 404; a member who does not coach is refused; an unshared session gone.
TEAM_CLOSE: Final = {
    "unknown": (CLOSE_NOT_FOUND, "not a driver of a team you are in"),
    "login": (CLOSE_UNAUTHORIZED, "log in to watch your team's drivers"),
    "forbidden": (CLOSE_REVOKED, "only the team's coaches, managers and owner watch its drivers live"),
    "unshared": (CLOSE_GONE, "the driver no longer shares this session with the team"),
}


def share_close(refusal: str) -> tuple[int, str]:
    """The close code and reason for a share link refused as ``refusal``."""
    return SHARE_CLOSE.get(refusal, SHARE_CLOSE["unknown"])


def team_close(refusal: str) -> tuple[int, str]:
    """The close code and reason for a team coach's socket refused as ``refusal``."""
    return TEAM_CLOSE.get(refusal, TEAM_CLOSE["unknown"])


def share_recheck_in(*, now: dt.datetime, expires_at: dt.datetime | None, every_s: float) -> float:
    """Seconds until a share link is checked again.

    Expiry sends no event, and a layer may drop a revoke event (Redis is at-most-once), so a
    link is re-checked at its expiry time, and every ``every_s`` seconds anyway.
    """
    if expires_at is None:
        return every_s
    left = (expires_at - now).total_seconds()
    return min(every_s, max(left, 0.0) + 0.05)


def share_note_text(text_data: str | None) -> object:
    """The text of a share viewer's ``{"type": "note", "text": ...}``, the one message it may
    send; WireError for anything else (the text itself is cleaned by the note service)."""
    try:
        content = json.loads(text_data) if text_data is not None else None
    except ValueError:
        content = None
    if not isinstance(content, dict) or content.get("type") != "note" or set(content) != {"type", "text"}:
        raise WireError('share viewers may only send {"type": "note", "text": ...}')
    return content["text"]


CUE_REQUESTS: Final = ("cue_pin", "cue_remove")


def cue_request_of(text_data: str | None) -> dict[str, object] | None:
    """A viewer's ``{"type": "cue_pin" | "cue_remove", ...}``, or None for anything else (which
    the socket then treats as it always did: a note, or a refusal)."""
    try:
        content = json.loads(text_data) if text_data is not None else None
    except ValueError:
        return None
    if isinstance(content, dict) and content.get("type") in CUE_REQUESTS:
        return content
    return None
