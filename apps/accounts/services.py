from __future__ import annotations

import datetime as dt

from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from simcoach_site.events import broadcast_on_commit, rig_group
from simcoach_site.lib.units import Units

from .lib.tokens import INVITE_TOKEN_PREFIX, RIG_TOKEN_PREFIX, token_hash, token_new
from .models import Rig, SignupInvite, UnitPreference

INVITE_DEFAULT_DAYS = 7


class InviteRefused(Exception):
    """A sign-up whose invite is unknown, expired or already used; the message says which."""


def signup_invite_create(
    *,
    created_by: User | None,
    expires_in: dt.timedelta = dt.timedelta(days=INVITE_DEFAULT_DAYS),
    note: str = "",
) -> tuple[SignupInvite, str]:
    """An invite for one sign-up; returns it with its token, the only time the token exists."""
    if expires_in <= dt.timedelta(0):
        raise ValueError("an invite must expire in the future")
    token = token_new(INVITE_TOKEN_PREFIX)
    invite = SignupInvite.objects.create(
        token_hash=token_hash(token),
        token_hint=token[-4:],
        note=note.strip()[:80],
        created_by=created_by,
        expires_at=timezone.now() + expires_in,
    )
    return invite, token


@transaction.atomic
def user_signup(*, form: UserCreationForm[User], invite_token: str | None) -> User:
    """Create the account of a valid sign-up form; with an invite token, use the invite up.

    The invite is claimed by a conditional update in the same transaction as the user: two
    sign-ups racing on one invite both run the update, and only one sees a row change.
    """
    user = form.save()
    if invite_token is None:
        return user
    claimed = SignupInvite.objects.filter(
        token_hash=token_hash(invite_token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now(), used_by=user)
    if claimed != 1:  # the exception rolls the new user back with the transaction
        raise InviteRefused("That invite is unknown, expired or already used. Ask for a new one.")
    return user


def rig_create(*, owner: User, name: str) -> tuple[Rig, str]:
    """Create a rig and return it with its token: the only time the token exists in clear."""
    token = token_new(RIG_TOKEN_PREFIX)
    rig = Rig.objects.create(
        owner=owner, name=name[:80] or "Rig", token_hash=token_hash(token), token_hint=token[-4:]
    )
    return rig, token


def rig_rename(*, rig: Rig, name: str) -> Rig:
    rig.name = name.strip()[:80] or rig.name
    rig.save(update_fields=["name"])
    return rig


@transaction.atomic
def rig_revoke(*, rig: Rig) -> Rig:
    """Revoke the token; the rig's open socket is told to close once this commits."""
    rig.revoked_at = timezone.now()
    rig.save(update_fields=["revoked_at"])
    broadcast_on_commit(rig_group(rig.pk), {"type": "rig.revoked", "rig_id": rig.pk})
    return rig


def rig_seen(*, rig_id: int, game: str, agent_version: str) -> None:
    Rig.objects.filter(pk=rig_id).update(
        last_seen_at=timezone.now(), last_game=game, agent_version=agent_version
    )


def unit_preference_set(*, user: User, units: Units) -> UnitPreference:
    """Store the units `user` reads speeds, pressures and temperatures in (one row per user)."""
    pref, _ = UnitPreference.objects.update_or_create(
        user=user, defaults={**units.as_dict(), "updated_at": timezone.now()}
    )
    return pref
