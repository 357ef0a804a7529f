from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from simcoach_site.lib.units import Units, units_for_locale, units_make

from .lib.tokens import INVITE_TOKEN_PREFIX, RIG_TOKEN_PREFIX, token_hash
from .models import DeviceAuthorization, Rig, SignupInvite, UnitPreference


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


def units_for_user(*, user: User | AnonymousUser) -> Units | None:
    """The units a user chose, or None when they have not (or are not logged in)."""
    if not user.is_authenticated:
        return None
    pref = UnitPreference.objects.filter(user_id=user.pk).first()
    if pref is None:
        return None
    return units_make(speed=pref.speed, pressure=pref.pressure, temperature=pref.temperature)


def units_for_viewer(
    *, user: User | AnonymousUser, accept_language: str | None, owner: User | None = None
) -> Units:
    """The units a page, the API or an export shows to `user`.

    A logged-in viewer reads their own units: their choice, else their browser's locale
    (en-US → mph, °F, psi; otherwise km/h, °C, bar), which the units page offers until they
    save. Someone logged out looking at `owner`'s data (a share link) reads the owner's
    choice, else their own browser's locale."""
    whose = user if user.is_authenticated else owner
    chosen = units_for_user(user=whose) if whose is not None else None
    return chosen or units_for_locale(accept_language)


def units_for_request(request: HttpRequest, *, owner: User | None = None) -> Units:
    """`units_for_viewer` for a Django request."""
    return units_for_viewer(
        user=request.user, accept_language=request.headers.get("Accept-Language"), owner=owner
    )
