from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.coaching.selectors import focus_list_for_user, focus_live_rows, focus_open_for
from apps.sessions.selectors import session_get_for_user


@login_required
def live(request: HttpRequest) -> HttpResponse:
    """Follows whichever session the user's rig is streaming now."""
    # Which track the rig is on is known only once it streams: every open focus, with its track.
    focus = [f for f in focus_list_for_user(owner_id=int(request.user.pk or 0)) if f.status == "open"]
    return render(
        request,
        "telemetry/live.html",
        {"ws_path": "ws/live/", "session": None, "focus": focus_live_rows(focus)},
    )


@login_required
def session_live(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    focus = focus_open_for(owner_id=session.owner_id, track_id=session.track_id, car_id=session.car_id)
    return render(
        request,
        "telemetry/live.html",
        {"ws_path": f"ws/live/{session.pk}/", "session": session, "focus": focus_live_rows(focus)},
    )
