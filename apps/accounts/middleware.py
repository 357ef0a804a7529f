"""Bearer-token authentication for the rig socket: sets scope["rig"] (or None)."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from .selectors import rig_get_by_token


class RigTokenAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = _bearer(scope)
        rig = await database_sync_to_async(rig_get_by_token)(token=token) if token else None
        scope = dict(scope, rig=rig, rig_token_given=bool(token))
        return await self.inner(scope, receive, send)


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            kind, _, token = value.decode("latin1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip()
    return None
