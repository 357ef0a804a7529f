"""GET /api/: where the API's docs are and every route a script may call, read from the URLconf.

Read from the URLconf, not written by hand, so a new route shows up without anyone updating a list.
A route is listed if it lives under api/ or is a plain view that takes DRF tokens (lap and session exports).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import RigTokenAuthentication

AUTH_NAMES: dict[type, str] = {
    SessionAuthentication: "session",
    TokenAuthentication: "token",
    RigTokenAuthentication: "rig token",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            if str(p.pattern) != "admin/":  # Django's admin is a site of its own, not API
                yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _path(route: str) -> str:
    """`laps/<int:lap_id>/` -> `/laps/{lap_id}/` (OpenAPI's notation), under URL_PREFIX."""
    return f"{settings.URL_PREFIX}/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _describe(route: str, pattern: URLPattern) -> dict[str, Any] | None:
    view: Callable[..., Any] = pattern.callback
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    token_view = getattr(view, "token_auth", False)
    if cls is not None and issubclass(cls, APIView):
        auth = [AUTH_NAMES.get(a, a.__name__) for a in cls.authentication_classes] or ["none"]
        public = any(p is AllowAny for p in cls.permission_classes)
        methods = [m.upper() for m in HTTP_METHODS if hasattr(cls, m)]
        doc = cls.__doc__
    elif route.startswith("api/") or token_view:
        auth = ["session", "token"] if token_view else ["none"]
        public, methods, doc = not token_view, ["GET"], view.__doc__
    else:
        return None
    return {
        "path": _path(route),
        "name": pattern.name,
        "methods": methods,
        "auth": auth,  # what it accepts; `public` says whether it needs any
        "public": public,
        "summary": (doc or "").strip().split("\n")[0],
    }


def api_routes() -> list[dict[str, Any]]:
    rows = (_describe(route, p) for route, p in _walk(get_resolver().url_patterns))
    return sorted((r for r in rows if r is not None), key=lambda r: str(r["path"]))


class ApiRootApi(APIView):
    """The API's front door: links to its docs and every route with its methods and auth."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "docs": reverse("api-docs"),
                "schema": reverse("api-schema"),
                "auth": "Authorization: Token <key> (python manage.py drf_create_token USER), "
                "or a logged-in browser session",
                "endpoints": [r for r in api_routes() if r["name"] != "api-root"],
            }
        )
