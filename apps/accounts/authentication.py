"""DRF authentication by rig token (`Authorization: Bearer sc_rig_...`): the rig's owner is the user;
and DRF tokens on the plain Django views that scripts call (`login_or_token_required`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .lib.tokens import RIG_TOKEN_PREFIX
from .selectors import rig_get_by_token


class RigTokenAuthentication(BaseAuthentication):
    """`request.user` is the rig's owner and `request.auth` the Rig.

    Only bearer tokens that look like rig tokens are ours; anything else is left to the
    next authentication class, so session and DRF token auth keep working beside it.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        kind, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        token = token.strip()
        if kind.lower() != "bearer" or not token.startswith(RIG_TOKEN_PREFIX):
            return None
        rig = rig_get_by_token(token=token)
        if rig is None:
            raise AuthenticationFailed("unknown or revoked rig token: pair the rig again")
        return rig.owner, rig

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return "Bearer"


class RigTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[misc]
    """Describes rig tokens in the OpenAPI schema (an HTTP bearer scheme)."""

    target_class = RigTokenAuthentication
    name = "rigToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "sc_rig_…"}


def login_or_token_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """For the plain Django views that scripts download too (lap exports).

    A logged-in browser passes as with `login_required`; a script sends its DRF token
    (`Authorization: Token <key>`) like on /api/. A wrong or unusable Authorization header is
    a 401 naming the problem, never the login page: a script cannot fill in a form.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header and not request.user.is_authenticated:
            user, error = _token_user(header)
            if user is None:
                response = JsonResponse({"detail": error}, status=401)
                response["WWW-Authenticate"] = 'Token realm="api"'
                return response
            request.user = user
        return login_required(view)(request, *args, **kwargs)

    wrapper.token_auth = True  # type: ignore[attr-defined]  # the /api/ root lists it with "token"
    return wrapper


def _token_user(header: str) -> tuple[Any, str]:
    kind, _, key = header.partition(" ")
    key = key.strip()
    if kind.lower() != "token" or not key or " " in key:
        return None, "send 'Authorization: Token <key>' (a DRF token; see /api/)"
    try:
        user, _ = TokenAuthentication().authenticate_credentials(key)
    except AuthenticationFailed as exc:
        return None, str(exc.detail)
    return user, ""
