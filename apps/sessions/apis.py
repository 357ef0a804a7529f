"""The archive's REST API: sessions, laps, lap channels by distance and lap comparison.

Token or session auth, own data only: every object goes through `session_get_for_user` /
`lap_get_for_user`, so another user's id is a 404 exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from simcoach_agent.channels import BY_NAME

from .models import Lap, Session
from .selectors import lap_get_for_user, session_get_for_user, session_lap_table, session_list
from .selectors_traces import (
    MAX_COMPARE,
    MAX_POINTS,
    CompareError,
    TraceUnavailable,
    comparison_json,
    lap_channels,
    lap_compare,
)

DEFAULT_CHANNELS = "speed,throttle,brake,gear,steering,rpm"


def id_list(text: str, *, most: int) -> list[int]:
    """Parse "3,5,8" into ids; anything else is a 400 naming the bad part."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) > most:
        raise ValidationError({"laps": f"at most {most} laps"})
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise ValidationError({"laps": "a comma-separated list of lap ids, e.g. 12,15"}) from None


class SessionFilterSerializer(serializers.Serializer):
    game = serializers.CharField(required=False, max_length=16)
    track = serializers.IntegerField(required=False, help_text="track id")
    car = serializers.IntegerField(required=False, help_text="car id")
    kind = serializers.ChoiceField(choices=Session.Kind.choices, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


@extend_schema_serializer(component_name="SessionSummary")
class SessionOutputSerializer(serializers.ModelSerializer):
    track = serializers.CharField(source="track.name")
    car = serializers.CharField(source="car.name")
    lap_count = serializers.IntegerField()
    best_lap_ms = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "started_at",
            "ended_at",
            "game",
            "track",
            "track_id",
            "car",
            "car_id",
            "kind",
            "state",
            "source",
            "lap_count",
            "best_lap_ms",
        ]


@extend_schema_serializer(component_name="Lap")
class LapOutputSerializer(serializers.ModelSerializer):
    in_lap = serializers.BooleanField(source="is_in_lap")
    out_lap = serializers.BooleanField(source="is_out_lap")
    sector_ms = serializers.ListField(child=serializers.IntegerField())

    class Meta:
        model = Lap
        fields = [
            "id",
            "session_id",
            "number",
            "time_ms",
            "sector_ms",
            "valid",
            "in_lap",
            "out_lap",
            "fuel_used_l",
            "started_at",
            "is_reference",
        ]


class SessionListApi(APIView):
    class Pagination(PageNumberPagination):
        page_size = 25

    pagination_class = Pagination

    @extend_schema(parameters=[SessionFilterSerializer], responses=SessionOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = SessionFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        sessions = session_list(user=request.user, filters=filters.validated_data)
        paginator = self.Pagination()
        page = paginator.paginate_queryset(sessions, request, view=self)
        return paginator.get_paginated_response(SessionOutputSerializer(page, many=True).data)


class SessionDetailApi(APIView):
    @extend_schema_serializer(component_name="SessionDetail")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        started_at = serializers.DateTimeField()
        ended_at = serializers.DateTimeField(allow_null=True)
        game = serializers.CharField()
        track = serializers.CharField()
        car = serializers.CharField()
        kind = serializers.CharField()
        state = serializers.CharField()
        best_lap_id = serializers.IntegerField(allow_null=True)
        best_lap_ms = serializers.IntegerField(allow_null=True)
        best_sectors_ms = serializers.ListField(child=serializers.IntegerField(allow_null=True))
        theoretical_best_ms = serializers.IntegerField(allow_null=True)
        consistency_ms = serializers.FloatField(allow_null=True)
        laps = LapOutputSerializer(many=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, session_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        table = session_lap_table(session=session)
        best = table["best"]
        data = {
            "id": session.pk,
            "started_at": session.started_at,
            "ended_at": session.ended_at,
            "game": session.game,
            "track": session.track.name,
            "car": session.car.name,
            "kind": session.kind,
            "state": session.state,
            "best_lap_id": best.pk if best else None,
            "best_lap_ms": best.time_ms if best else None,
            "best_sectors_ms": table["best_sectors"],
            "theoretical_best_ms": table["theoretical_best_ms"],
            "consistency_ms": table["consistency_ms"],
            "laps": [row["lap"] for row in table["rows"]],
        }
        return Response(self.OutputSerializer(data).data)


class LapDetailApi(APIView):
    @extend_schema_serializer(component_name="LapDetail")
    class OutputSerializer(LapOutputSerializer):
        track = serializers.CharField(source="session.track.name")
        car = serializers.CharField(source="session.car.name")
        track_length_m = serializers.FloatField(source="session.track.length_m", allow_null=True)
        analysis = serializers.SerializerMethodField()

        class Meta(LapOutputSerializer.Meta):
            fields = [*LapOutputSerializer.Meta.fields, "track", "car", "track_length_m", "analysis"]

        @extend_schema_field(OpenApiTypes.OBJECT)
        def get_analysis(self, lap: Lap) -> dict[str, Any] | None:
            # Summary and corners stored once by lap_analyse; None until it has run.
            return lap.stats.get("analysis")

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, lap_id: int) -> Response:
        lap = lap_get_for_user(user=request.user, lap_id=lap_id)
        return Response(self.OutputSerializer(lap).data)


class LapChannelsApi(APIView):
    class InputSerializer(serializers.Serializer):
        channels = serializers.CharField(required=False, default=DEFAULT_CHANNELS)
        points = serializers.IntegerField(required=False, default=2000, min_value=10, max_value=MAX_POINTS)

        def validate_channels(self, value: str) -> list[str]:
            names = [c.strip() for c in value.split(",") if c.strip()]
            unknown = [c for c in names if c not in BY_NAME]
            if unknown or not names:
                raise serializers.ValidationError(
                    f"unknown channel(s): {', '.join(unknown) or '(none given)'}"
                )
            return names

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OpenApiTypes.OBJECT},
        description="Channels against lap distance, resampled to at most `points` samples; "
        "always includes `lap_dist` (m) and `t` (s since the line).",
    )
    def get(self, request: Request, lap_id: int) -> Response:
        lap = lap_get_for_user(user=request.user, lap_id=lap_id)
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            return Response(lap_channels(lap=lap, **params.validated_data))
        except TraceUnavailable as exc:
            raise NotFound(str(exc)) from None


class LapCompareApi(APIView):
    class InputSerializer(serializers.Serializer):
        laps = serializers.CharField(help_text="2 to 4 lap ids, comma-separated; the first is the reference")
        points = serializers.IntegerField(required=False, default=1500, min_value=10, max_value=MAX_POINTS)

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        ids = id_list(params.validated_data["laps"], most=MAX_COMPARE)
        laps = [lap_get_for_user(user=request.user, lap_id=i) for i in ids]
        try:
            comp = lap_compare(laps=laps)
        except CompareError as exc:
            raise ValidationError({"laps": str(exc)}) from None
        return Response(comparison_json(comp, points=params.validated_data["points"]))
