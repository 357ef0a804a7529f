from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from apps.accounts.selectors import rig_get_for_user
from apps.coaching.selectors import focus_list_for_user, focus_live_rows, focus_open_for
from apps.sessions.selectors import rig_live_list, rig_to_follow, session_get_for_user


@login_required
def live(request: HttpRequest) -> HttpResponse:
    """Follows the chosen rig (?rig=<id>), or else the car that is moving, session after session."""
    rigs = rig_live_list(user=request.user)
    chosen = request.GET.get("rig")
    if chosen is None:
        following = rig_to_follow(rigs, current=None)
        ws_path, rig_id = "ws/live/", following.rig_id if following is not None else None
    elif not chosen.isascii() or not chosen.isdigit() or len(chosen) > 18:
        return HttpResponseBadRequest("rig must be the number of one of your rigs", content_type="text/plain")
    else:
        rig_id = rig_get_for_user(user=request.user, rig_id=int(chosen)).pk  # 404 unless yours
        ws_path = f"ws/live/rig/{rig_id}/"
    # Which track the rig is on is known only once it streams: every open focus, with its track.
    focus = [f for f in focus_list_for_user(owner_id=int(request.user.pk or 0)) if f.status == "open"]
    context = {
        "ws_path": ws_path,
        "session": None,
        "rigs": rigs,
        "following": rig_id,
        "chosen": chosen,
        "focus": focus_live_rows(focus),
    }
    return render(request, "telemetry/live.html", context)


@login_required
def session_live(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    focus = focus_open_for(owner_id=session.owner_id, track_id=session.track_id, car_id=session.car_id)
    return render(
        request,
        "telemetry/live.html",
        {"ws_path": f"ws/live/{session.pk}/", "session": session, "focus": focus_live_rows(focus)},
    )
