from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import units_for_request
from apps.sessions.selectors import session_get_for_user

from .models import Cue
from .selectors import (
    ProgressQueryError,
    progress_dict,
    progress_for_user,
    report_dict,
    report_latest_for_session,
)
from .selectors_cues import cue_dict, cue_get_for_session, cue_list_for_session
from .services_cues import CueRefused, cue_pin, cue_remove


class SessionReportLatestApi(APIView):
    """The newest report of one of your sessions ({"report": null} before the first)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, session_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        report = report_latest_for_session(session=session)
        return Response({"session_id": session.pk, "report": report_dict(report)})


class ProgressApi(APIView):
    """Your corner history at one track with one car (?track=&car=, default your most driven)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        try:
            progress = progress_for_user(
                user_id=request.user.pk,
                track=request.query_params.get("track"),
                car=request.query_params.get("car"),
            )
        except ProgressQueryError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(progress_dict(progress, units_for_request(request)))


class CuePinSchema(serializers.Serializer):
    """The body of a pin (documentation: the cue services check every field themselves)."""

    at_m = serializers.FloatField(help_text="lap distance of the point, m (0..track length)")
    text = serializers.CharField(max_length=80, help_text="what the agent says and prints")
    lead_s = serializers.FloatField(default=3.0, help_text="seconds before the point, 1..15")
    repeat = serializers.ChoiceField(choices=Cue.Repeat.choices, default=Cue.Repeat.EVERY_LAP)
    label = serializers.CharField(max_length=40, required=False, help_text="the corner's name, if any")


class SessionCueListApi(APIView):
    """The active cues of one of your live sessions; POST pins one (the rig's agent gets it)."""

    @extend_schema(operation_id="sessions_cues_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, session_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        return Response(
            {"session_id": session.pk, "cues": [cue_dict(c) for c in cue_list_for_session(session=session)]}
        )

    @extend_schema(request=CuePinSchema, responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def post(self, request: Request, session_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            cue = cue_pin(
                session=session,
                author="Driver",  # shown to share viewers too: a role, never the account name
                via=Cue.Via.LIVE,
                author_user=request.user,
                at_m=data.get("at_m"),
                text=data.get("text"),
                lead_s=data.get("lead_s", 3.0),
                repeat=data.get("repeat", Cue.Repeat.EVERY_LAP),
                label=data.get("label", ""),
            )
        except CueRefused as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(cue_dict(cue), status=status.HTTP_201_CREATED)


class SessionCueApi(APIView):
    """One cue of one of your sessions; DELETE removes it (the agent stops saying it)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, session_id: int, cue_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        return Response(cue_dict(cue_get_for_session(session=session, cue_id=cue_id)))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, session_id: int, cue_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        cue_remove(cue=cue_get_for_session(session=session, cue_id=cue_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
