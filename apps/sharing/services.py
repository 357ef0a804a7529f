from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.lib.tokens import SHARE_TOKEN_PREFIX, token_hash, token_new
from apps.accounts.models import Rig
from apps.sessions.models import Session
from simcoach_site.events import CoachingNote, broadcast_on_commit, rig_group, session_group, share_group
from simcoach_site.lib.ratelimit import attempt
from simcoach_site.lib.words import one_printable_line

from .access import Grant
from .models import CoachedDriver, CoachNote, ShareLink

SHARE_EXPIRIES: dict[str, dt.timedelta | None] = {
    "1h": dt.timedelta(hours=1),
    "1d": dt.timedelta(days=1),
    "7d": dt.timedelta(days=7),
    "never": None,
}


def share_link_create(
    *,
    owner: User,
    rig: Rig | None = None,
    session: Session | None = None,
    expires_in: dt.timedelta | None,
    label: str = "",
) -> tuple[ShareLink, str]:
    """Share one rig's live view or one session; returns the link and its token, shown once."""
    if (rig is None) == (session is None):
        raise ValueError("share either a rig or a session")
    target_owner = rig.owner_id if rig is not None else session.owner_id  # type: ignore[union-attr]
    if target_owner != owner.pk:
        raise PermissionDenied("you can only share your own rigs and sessions")
    token = token_new(SHARE_TOKEN_PREFIX)
    link = ShareLink.objects.create(
        owner=owner,
        kind=ShareLink.Kind.LIVE_RIG if rig is not None else ShareLink.Kind.SESSION,
        rig=rig,
        session=session,
        token_hash=token_hash(token),
        token_hint=token[-4:],
        label=label.strip()[:80],
        expires_at=timezone.now() + expires_in if expires_in is not None else None,
    )
    return link, token


@transaction.atomic
def share_link_revoke(*, link: ShareLink) -> ShareLink:
    """Revoke once; every open viewer socket of the link closes when this commits."""
    updated = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    link.refresh_from_db(fields=["revoked_at"])
    if updated:
        broadcast_on_commit(share_group(link.pk), {"type": "share.revoked", "share_id": link.pk})
    return link


def share_link_touch(*, link: ShareLink) -> None:
    # F() so concurrent viewers opening the link never lose a count.
    ShareLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now(), use_count=F("use_count") + 1)


def coached_driver_save(*, coach: User, link: ShareLink, nickname: str = "") -> CoachedDriver:
    """Save a link the coach holds; saving it again only renames it."""
    nickname = nickname.strip()[:80] or link.label or link.owner.get_username()
    coached, created = CoachedDriver.objects.get_or_create(
        coach=coach, share_link=link, defaults={"nickname": nickname}
    )
    if not created and coached.nickname != nickname:
        coached.nickname = nickname
        coached.save(update_fields=["nickname"])
    return coached


def coached_driver_remove(*, coached: CoachedDriver) -> None:
    coached.delete()


NOTE_MAX_CHARS = 280


NOTE_MIN_INTERVAL_S = 3  # one note per link every 3 s ...


NOTE_WINDOW_S = 600  # ... and at most NOTE_WINDOW_LIMIT per 10 minutes


NOTE_WINDOW_LIMIT = 20


class NoteRefused(Exception):
    """A note that is not sent; the message says why, for the coach to read."""


def note_clean(text: object) -> str:
    """Printable text on one line: notes reach a terminal and a speech engine on the rig."""
    if not isinstance(text, str):
        raise NoteRefused("a note is text")
    clean = one_printable_line(text)
    if not clean:
        raise NoteRefused("the note is empty")
    if len(clean) > NOTE_MAX_CHARS:
        raise NoteRefused(f"notes are at most {NOTE_MAX_CHARS} characters")
    return clean


def _note_rate_check(key: str) -> None:
    # Per link (by token hash, not row id: ids can be reused) or per team coach (Grant.note_key).
    # Counted as they are checked (atomic), so two sockets of one link cannot both slip in.
    burst, window = f"note-burst:{key}", f"note-window:{key}"
    if not attempt(burst, limit=1, window_s=NOTE_MIN_INTERVAL_S):
        raise NoteRefused(f"one note every {NOTE_MIN_INTERVAL_S} seconds")
    if not attempt(window, limit=NOTE_WINDOW_LIMIT, window_s=NOTE_WINDOW_S):
        raise NoteRefused(f"at most {NOTE_WINDOW_LIMIT} notes per {NOTE_WINDOW_S // 60} minutes")


@transaction.atomic
def coach_note_send(
    *, session: Session, text: object, grant: Grant | None = None, link: ShareLink | None = None
) -> CoachNote:
    """Store a coach's note and deliver it to the driver's live page and to the rig's agent.

    `grant`: the access decision's note grant (`access.note_grant`); `link`: a share link's,
    for callers holding the link itself."""
    if grant is None:
        if link is None:
            raise ValueError("a note goes out under a grant or a link")
        grant = Grant("share link", link.owner_id, live=True, notes=True, link=link)
    if not grant.notes or session.owner_id != grant.driver_id:
        raise NoteRefused("you may not send this driver notes")
    clean = note_clean(text)
    if session.state != Session.State.LIVE:
        raise NoteRefused("the session is not live; notes reach the driver only while driving")
    _note_rate_check(grant.note_key)
    author = grant.author
    note = CoachNote.objects.create(
        share_link=grant.link,
        team=grant.team,
        sent_by_id=grant.viewer_id,
        session=session,
        author=author,
        text=clean,
    )
    event: CoachingNote = {"type": "coaching.note", "author": author, "text": clean}
    # The session id tells share viewers (who also hear the rig group) which copy to show.
    broadcast_on_commit(session_group(session.pk), {**event, "session_id": session.pk})
    if session.rig_id is not None:
        broadcast_on_commit(rig_group(session.rig_id), {**event, "rig_id": session.rig_id})
    return note
