"""Origin checks for browser sockets (cross-site WebSocket hijacking guard)."""

from typing import Any
from urllib.parse import urlparse

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port
from django.utils.http import is_same_domain


def origin_allowed(origin: str | None) -> bool:
    """A browser socket must carry an Origin that names one of our hosts."""
    if not origin:
        return False
    parsed = urlparse(origin)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    if origin.rstrip("/") in settings.WEBSOCKET_ALLOWED_ORIGINS:
        return True
    host, _port = split_domain_port(parsed.netloc)
    return any(is_same_domain(host, pattern) for pattern in settings.ALLOWED_HOSTS if pattern != "*")


class BrowserOriginValidator:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        if not origin_allowed(origin.decode("latin1") if origin else None):
            return await WebsocketDenier()(scope, receive, send)
        return await self.inner(scope, receive, send)
