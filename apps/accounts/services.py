from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from simcoach_site.events import broadcast_on_commit, rig_group

from .lib.tokens import RIG_TOKEN_PREFIX, token_hash, token_new
from .models import Rig


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
