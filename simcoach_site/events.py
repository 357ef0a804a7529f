"""Channel-layer events sent only once the database transaction that caused them commits."""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction


def session_group(session_id: int) -> str:
    """The group of everyone watching a session live (its viewers, on any server process)."""
    return f"session.{session_id}"


def rig_group(rig_id: int) -> str:
    """The group of a rig's socket and of those following the rig (share links, coaches)."""
    return f"rig.{rig_id}"


def broadcast(group: str, event: dict[str, Any]) -> None:
    if settings.DEBUG:
        # Events cross process boundaries in production: prove they survive JSON.
        event = json.loads(json.dumps(event))
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, event)


def broadcast_on_commit(group: str, event: dict[str, Any]) -> None:
    transaction.on_commit(lambda: broadcast(group, event))
