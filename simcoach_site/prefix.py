"""Serve WebSockets under URL_PREFIX, as Django serves pages under FORCE_SCRIPT_NAME."""

from typing import Any

from django.conf import settings


class StripPrefixMiddleware:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        prefix = settings.URL_PREFIX
        path: str = scope.get("path", "")
        # A proxy may keep the prefix in the path or strip it; Channels' router removes
        # root_path itself, so naming the prefix as root_path when present covers both.
        scope = dict(scope, root_path=prefix if prefix and path.startswith(prefix + "/") else "")
        return await self.inner(scope, receive, send)
