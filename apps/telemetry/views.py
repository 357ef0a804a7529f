from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from apps.accounts.selectors import rig_get_for_user
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
    context = {"ws_path": ws_path, "session": None, "rigs": rigs, "following": rig_id, "chosen": chosen}
    return render(request, "telemetry/live.html", context)


@login_required
def session_live(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    return render(request, "telemetry/live.html", {"ws_path": f"ws/live/{session.pk}/", "session": session})
