from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.sessions.selectors import session_get_for_user


@login_required
def live(request: HttpRequest) -> HttpResponse:
    """Follows whichever session the user's rig is streaming now."""
    return render(request, "telemetry/live.html", {"ws_path": "ws/live/", "session": None})


@login_required
def session_live(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    return render(request, "telemetry/live.html", {"ws_path": f"ws/live/{session.pk}/", "session": session})
