from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.lib.tokens import SHARE_TOKEN_PREFIX, token_hash
from apps.sessions.models import Session

from .models import CoachedDriver, ShareLink

ShareRefusal = Literal["unknown", "expired", "revoked"]


@dataclass(frozen=True)
class ShareAccess:
    """What a share token (or a coach's saved copy of it) grants: a link, or why not."""

    link: ShareLink | None
    refusal: ShareRefusal | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def share_link_resolve(
    *,
    token: str | None = None,
    coach: User | AnonymousUser | None = None,
    coached_driver_id: int | None = None,
) -> ShareAccess:
    """The one access check for share links, by token or through a coach's saved driver.

    Every share page, socket and re-check calls this, so a revoked or expired link is refused
    the same way everywhere.
    """
    if token is not None:
        link = _share_link_by_token(token)
    else:
        link = _share_link_by_coached_driver(coach, coached_driver_id)
    if link is None or not link.owner.is_active:
        return ShareAccess(None, "unknown")
    if link.is_revoked or (link.rig is not None and link.rig.is_revoked):
        return ShareAccess(link, "revoked")
    if link.is_expired():
        return ShareAccess(link, "expired")
    return ShareAccess(link)


def _share_links() -> QuerySet[ShareLink]:
    return ShareLink.objects.select_related("owner", "rig", "session", "session__track", "session__car")


def _share_link_by_token(token: str) -> ShareLink | None:
    if not token.startswith(SHARE_TOKEN_PREFIX) or len(token) > 200:
        return None
    return _share_links().filter(token_hash=token_hash(token)).first()


def _share_link_by_coached_driver(
    coach: User | AnonymousUser | None, coached_id: int | None
) -> ShareLink | None:
    if coach is None or not coach.is_authenticated or coached_id is None:
        return None
    return _share_links().filter(coaches__pk=coached_id, coaches__coach_id=coach.pk).first()


def share_link_session(*, link: ShareLink, session_id: int | None = None) -> Session | None:
    """The session a link shows now (or `session_id`, only if the link covers it).

    A live-rig link covers the rig's live session only: it never opens the rig's archive.
    """
    if link.kind == ShareLink.Kind.SESSION:
        return link.session if session_id in (None, link.session_id) else None
    sessions = Session.objects.select_related("track", "car").filter(
        rig_id=link.rig_id or 0, owner_id=link.owner_id, state=Session.State.LIVE, source="live"
    )
    if session_id is not None:
        sessions = sessions.filter(pk=session_id)
    return sessions.order_by("-started_at").first()


def share_link_list(*, owner: User | AnonymousUser) -> QuerySet[ShareLink]:
    """The owner's links still usable: not revoked, not expired."""
    alive = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    return _share_links().filter(alive, owner_id=owner.pk, revoked_at__isnull=True)


def share_link_get_for_user(*, user: User | AnonymousUser, link_id: int) -> ShareLink:
    """The owner's access check for managing a link: anyone else's link is a 404."""
    link = ShareLink.objects.filter(pk=link_id, owner_id=user.pk).first()
    if link is None:
        raise Http404("No such share link")
    return link


def coached_driver_get_for_user(*, user: User | AnonymousUser, coached_driver_id: int) -> CoachedDriver:
    coached = CoachedDriver.objects.filter(pk=coached_driver_id, coach_id=user.pk).first()
    if coached is None:
        raise Http404("No such driver")
    return coached
