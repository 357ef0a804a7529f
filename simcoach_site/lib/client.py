"""Who is asking: the client address every per-IP limit is keyed by, proxy-aware but unspoofable.

Behind N trusted proxies each one appends the address it was connected from to
X-Forwarded-For, so only the last N entries were written by machines we trust; everything to
their left came from the client and may be anything. Hence the Nth entry from the right, as
Django's and Rails' guides advise, and never the first (Daphne's --proxy-headers takes the
first, which is why the deployment does not pass it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from rest_framework.request import Request

UNKNOWN = "unknown"


def client_ip(request_or_scope: HttpRequest | Request | Mapping[str, Any]) -> str:
    """The client's address of an HTTP request (Django's or DRF's) or an ASGI scope (WebSocket)."""
    if isinstance(request_or_scope, Mapping):
        client = request_or_scope.get("client") or ("", 0)
        peer = str(client[0])
        forwarded = ",".join(_header_values(request_or_scope.get("headers", ()), b"x-forwarded-for"))
    else:
        peer = request_or_scope.META.get("REMOTE_ADDR") or ""
        forwarded = request_or_scope.META.get("HTTP_X_FORWARDED_FOR") or ""
    return forwarded_client(peer=peer, forwarded=forwarded, trusted=settings.TRUSTED_PROXY_COUNT)


def forwarded_client(*, peer: str, forwarded: str, trusted: int) -> str:
    """The address `trusted` proxies vouch for; the socket peer when there are none."""
    own = _normalised(peer) or UNKNOWN
    if trusted <= 0:
        return own
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if len(hops) < trusted:
        # Fewer hops than proxies: the request did not come the configured way (someone
        # reached the app directly). The peer cannot be forged, so it is the only safe answer;
        # a wrong count then makes every client look like the proxy (too strict, never open).
        return own
    return _normalised(hops[-trusted]) or own


def ip_bucket(ip: str) -> str:
    """The unit a per-IP limit counts: one IPv4 address, or one IPv6 /64 (what one home or
    one cloud VM gets; counting single v6 addresses would give an attacker 2**64 of them)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _normalised(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[::1]:443" as some proxies write it
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "1.2.3.4:5678"
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _header_values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[str]:
    return [value.decode("latin1") for key, value in headers if key.lower() == name]
