"""The agent's HTTP endpoints: RFC 8628 device authorization and token check."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from simcoach_site.lib.client import UNKNOWN, client_ip, ip_bucket
from simcoach_site.lib.ratelimit import attempt

from .pairing import EXPIRES_S, PairingError, device_authorization_start, device_token_poll
from .selectors import rig_get_by_token

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
STARTS_PER_IP_PER_HOUR = 30


class RigDeviceStartApi(APIView):
    """The agent's pairing step 1: get a code for the driver to approve on /pair/."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="RigDeviceStartInput")
    class InputSerializer(serializers.Serializer):
        client_name = serializers.CharField(max_length=80, required=False, default="rig")
        agent_version = serializers.CharField(max_length=32, required=False, default="")

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        ip = client_ip(request)
        if not attempt(f"device-start:{ip_bucket(ip)}", limit=STARTS_PER_IP_PER_HOUR, window_s=3600):
            return Response({"error": "slow_down", "error_description": "too many pairing requests"}, 429)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grant = device_authorization_start(**data.validated_data, client_ip=ip if ip != UNKNOWN else None)
        verify = request.build_absolute_uri(reverse("pair"))
        return Response(
            {
                "device_code": grant.device_code,
                "user_code": grant.auth.user_code,
                "verification_uri": verify,
                "verification_uri_complete": f"{verify}?code={grant.auth.user_code}",
                "expires_in": EXPIRES_S,
                "interval": grant.auth.interval_s,
            }
        )


class RigDeviceTokenApi(APIView):
    """The agent's pairing step 2: poll with the device code until the rig token is issued."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="RigDeviceTokenInput")
    class InputSerializer(serializers.Serializer):
        grant_type = serializers.CharField()
        device_code = serializers.CharField(max_length=100)

    @extend_schema(request=InputSerializer, responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        if not data.is_valid():
            return _oauth_error("invalid_request", "grant_type and device_code are required")
        if data.validated_data["grant_type"] != DEVICE_GRANT:
            return _oauth_error("unsupported_grant_type", f"use {DEVICE_GRANT}")
        try:
            rig, token = device_token_poll(device_code=data.validated_data["device_code"])
        except PairingError as exc:
            return _oauth_error(exc.code, exc.description)
        return Response(
            {"access_token": token, "token_type": "Bearer", "rig_id": rig.pk, "rig_name": rig.name}
        )


class RigMeApi(APIView):
    """Who a rig token belongs to: `simcoach-agent status` checks its token here."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        kind, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        rig = rig_get_by_token(token=token.strip()) if kind.lower() == "bearer" else None
        if rig is None:
            return Response({"detail": "unknown or revoked rig token"}, status.HTTP_401_UNAUTHORIZED)
        return Response({"rig_id": rig.pk, "rig_name": rig.name, "user": rig.owner.get_username()})


def _oauth_error(code: str, description: str) -> Response:
    # RFC 6749 §5.2: token endpoint errors are 400s with a JSON error code.
    return Response({"error": code, "error_description": description}, status=status.HTTP_400_BAD_REQUEST)
