"""The archive's REST API: sessions, laps, lap channels by distance, lap comparison, exports.

Token or session auth, own data only: every object goes through `session_get_for_user` /
`lap_get_for_user`, so another user's id is a 404 exactly like a missing one.

Units (docs/api.md): JSON always carries the channel model's units (km/h, kPa, °C: the
`units` map and the `_kmh`/`_c`/`_kpa` key suffixes name them), whoever asks, so a client
can rely on them; `display_units` says what the asking user reads them in, for a client
(our pages' JS) to convert for display. Exported files (CSV, Parquet) are in the user's units.
"""

from __future__ import annotations

from typing import Any, Final

from django.http.response import HttpResponseBase
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.authentication import RigTokenAuthentication
from apps.accounts.selectors import units_for_viewer
from simcoach_agent.channels import BY_NAME
from simcoach_site.lib.units import Units

from .downloads import CONTENT_TYPES, download_or_404, lap_download, session_download
from .lib.stats import is_green, lap_value
from .models import Lap, Session
from .selectors import (
    lap_get_for_user,
    session_get_for_user,
    session_lap_table,
    session_list,
    sessions_best_lap_attach,
)
from .selectors_traces import (
    MAX_COMPARE,
    MAX_POINTS,
    CompareError,
    TraceUnavailable,
    compare_order,
    comparison_json,
    lap_channels,
    lap_compare,
)

DEFAULT_CHANNELS = "speed,throttle,brake,gear,steering,rpm"


def _units(request: Request) -> Units:
    return units_for_viewer(user=request.user, accept_language=request.headers.get("Accept-Language"))


def _display_units(request: Request) -> dict[str, str]:
    return _units(request).as_dict()


DISPLAY_UNITS_FIELD = serializers.DictField(
    child=serializers.CharField(),
    help_text="the user's display units {speed, pressure, temperature}; values stay km/h, kPa, °C",
)


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
            "air_temp_c",
            "track_temp_c",
        ]


@extend_schema_serializer(component_name="Lap")
class LapOutputSerializer(serializers.ModelSerializer):
    in_lap = serializers.BooleanField(source="is_in_lap")
    out_lap = serializers.BooleanField(source="is_out_lap")
    sector_ms = serializers.ListField(child=serializers.IntegerField())
    green = serializers.SerializerMethodField(
        help_text="timed, valid, whole, not in/out: counts in statistics"
    )
    timing = serializers.SerializerMethodField(help_text="game, beacon, measured or untimed")

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
            "green",
            "timing",
        ]

    def get_green(self, lap: Lap) -> bool:
        return is_green(lap_value(lap))

    def get_timing(self, lap: Lap) -> str:
        return lap_value(lap).timing


class SessionListApi(APIView):
    """Your sessions, newest first, 25 a page; filter by game, track, car, kind and dates."""

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
        sessions_best_lap_attach(page or [])
        return paginator.get_paginated_response(SessionOutputSerializer(page, many=True).data)


class SessionDetailApi(APIView):
    """One of your sessions with its lap table (times, sectors, validity, consistency)."""

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
        air_temp_c = serializers.FloatField(allow_null=True, help_text="median of the laps' averages, °C")
        track_temp_c = serializers.FloatField(allow_null=True, help_text="median of the laps' averages, °C")
        best_lap_id = serializers.IntegerField(allow_null=True)
        best_lap_ms = serializers.IntegerField(allow_null=True)
        best_sectors_ms = serializers.ListField(child=serializers.IntegerField(allow_null=True))
        theoretical_best_ms = serializers.IntegerField(allow_null=True)
        consistency_ms = serializers.FloatField(allow_null=True, help_text="sample std dev of green laps")
        average_ms = serializers.FloatField(allow_null=True, help_text="mean of green laps")
        green_laps = serializers.IntegerField()
        laps = LapOutputSerializer(many=True)
        display_units = DISPLAY_UNITS_FIELD

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
            "air_temp_c": session.air_temp_c,
            "track_temp_c": session.track_temp_c,
            "best_lap_id": best.pk if best else None,
            "best_lap_ms": best.time_ms if best else None,
            "best_sectors_ms": table["best_sectors"],
            "theoretical_best_ms": table["theoretical_best_ms"],
            "consistency_ms": table["consistency_ms"],
            "average_ms": table["average_ms"],
            "green_laps": table["green_count"],
            "laps": [row["lap"] for row in table["rows"]],
            "display_units": _display_units(request),
        }
        return Response(self.OutputSerializer(data).data)


class LapDetailApi(APIView):
    """One of your laps: times, sectors and its analysis once it has run."""

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
        return Response({**self.OutputSerializer(lap).data, "display_units": _display_units(request)})


class LapChannelsApi(APIView):
    """A lap's channels (speed, throttle, brake...) resampled by distance along the lap."""

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
            data = lap_channels(lap=lap, **params.validated_data)
            return Response({**data, "display_units": _display_units(request)})
        except TraceUnavailable as exc:
            raise NotFound(str(exc)) from None


class LapCompareApi(APIView):
    """2 to 4 of your laps on one track compared by distance: deltas and corner by corner."""

    class InputSerializer(serializers.Serializer):
        laps = serializers.CharField(help_text="2 to 4 lap ids, comma-separated")
        ref = serializers.IntegerField(
            required=False, help_text="the reference lap's id (default: the fastest green lap given)"
        )
        points = serializers.IntegerField(required=False, default=1500, min_value=10, max_value=MAX_POINTS)

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        ids = id_list(params.validated_data["laps"], most=MAX_COMPARE)
        ref = params.validated_data.get("ref")
        if ref is not None and ref not in ids:
            ids.append(ref)
        laps = [lap_get_for_user(user=request.user, lap_id=i, shared=True) for i in ids]
        try:
            comp = lap_compare(laps=compare_order(laps, ref_id=ref))
        except CompareError as exc:
            raise ValidationError({"laps": str(exc)}) from None
        data = comparison_json(comp, points=params.validated_data["points"])
        return Response({**data, "display_units": _display_units(request)})


EXPORT_TEXTS: Final = {
    "csv": "{what}: TIME [s], LAP, then ACC's channel names and units; one row per sample",
    "parquet": "{what}: the CSV's columns, typed; units and the session's facts in the metadata",
    "ld": "{what} as a MoTeC i2 log (ACC's channel names and units); its laps are in the .ldx",
    "ldx": "the lap markers of {what}'s .ld: a beacon at each line crossing, and our lap list",
}


class ExportSchema(AutoSchema):
    """One operation per format (the views are routed once per format): its own id and its
    one media type, instead of four media types under ids with a dot in them."""

    def get_operation_id(self) -> str:
        return f"{self.view.kind}_export_{self.view.fmt}"

    def get_response_serializers(self) -> Any:
        fmt, what = self.view.fmt, self.view.what
        return {
            (200, CONTENT_TYPES[fmt].split(";")[0]): OpenApiResponse(
                OpenApiTypes.BINARY, description=EXPORT_TEXTS[fmt].format(what=what)
            ),
            404: OpenApiResponse(description="not yours, no such id, or no stored trace"),
        }


class _ExportApi(APIView):
    """What every export route shares: who may ask (rig tokens too: the agent's `export`
    command), its schema, and the file format, set per route with as_view(fmt=...)."""

    authentication_classes = [RigTokenAuthentication, SessionAuthentication, TokenAuthentication]
    schema = ExportSchema()
    kind, what = "", ""  # named in ExportSchema's operation ids and descriptions
    fmt = "csv"


class SessionExportApi(_ExportApi):
    """Every lap of the session as one file."""

    kind, what = "session", "the session"

    def get(self, request: Request, session_id: int) -> HttpResponseBase:
        session = session_get_for_user(user=request.user, session_id=session_id)
        units = _units(request)
        return download_or_404(
            lambda: session_download(
                session=session, fmt=self.fmt, driver=request.user.get_username(), units=units
            )
        )


class LapExportApi(_ExportApi):
    """One lap as a file, the same columns as its session's."""

    kind, what = "lap", "the lap"

    def get(self, request: Request, lap_id: int) -> HttpResponseBase:
        lap = lap_get_for_user(user=request.user, lap_id=lap_id)
        units = _units(request)
        return download_or_404(
            lambda: lap_download(lap=lap, fmt=self.fmt, driver=request.user.get_username(), units=units)
        )
