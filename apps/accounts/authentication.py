"""DRF authentication by rig token (`Authorization: Bearer sc_rig_...`): the rig's owner is the user."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
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
