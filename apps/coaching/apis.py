from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.sessions.selectors import session_get_for_user

from .selectors import report_dict, report_latest_for_session


class SessionReportLatestApi(APIView):
    """The newest report of one of your sessions ({"report": null} before the first)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, session_id: int) -> Response:
        session = session_get_for_user(user=request.user, session_id=session_id)
        report = report_latest_for_session(session=session)
        return Response({"session_id": session.pk, "report": report_dict(report)})
