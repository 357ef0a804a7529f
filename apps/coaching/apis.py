from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.selectors import units_for_request
from apps.sessions.selectors import session_get_for_user

from .selectors import (
    ProgressQueryError,
    progress_dict,
    progress_for_user,
    report_dict,
    report_latest_for_session,
)


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
