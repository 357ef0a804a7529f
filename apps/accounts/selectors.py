from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from .lib.tokens import INVITE_TOKEN_PREFIX, RIG_TOKEN_PREFIX, token_hash
from .models import DeviceAuthorization, Rig, SignupInvite


def rig_get_by_token(*, token: str) -> Rig | None:
    """The active rig a bearer token belongs to, or None (unknown or revoked)."""
    if not token.startswith(RIG_TOKEN_PREFIX) or len(token) > 200:
        return None
    rig = Rig.objects.select_related("owner").filter(token_hash=token_hash(token)).first()
    if rig is None or rig.is_revoked or not rig.owner.is_active:
        return None
    return rig


def signup_invite_get_usable(*, token: str) -> SignupInvite | None:
    """The unused, unexpired invite a token belongs to, or None."""
    if not token.startswith(INVITE_TOKEN_PREFIX) or len(token) > 200:
        return None
    invite = SignupInvite.objects.filter(token_hash=token_hash(token)).first()
    return invite if invite is not None and invite.is_usable() else None


def rig_pairings_waiting(*, user: User | AnonymousUser) -> int:
    """Pairings the user approved whose agent has not collected its token (so no rig row) yet."""
    if not user.is_authenticated:
        return 0
    return DeviceAuthorization.objects.filter(
        user_id=user.pk, status=DeviceAuthorization.Status.APPROVED, expires_at__gt=timezone.now()
    ).count()


def rig_list(*, user: User | AnonymousUser) -> QuerySet[Rig]:
    return Rig.objects.filter(owner_id=user.pk, revoked_at__isnull=True)


def rig_get_for_user(*, user: User | AnonymousUser, rig_id: int) -> Rig:
    """The one access check for rigs: another user's rig is a 404, never a 403."""
    rig = Rig.objects.filter(pk=rig_id, owner_id=user.pk).first()
    if rig is None:
        raise Http404("No such rig")
    return rig
