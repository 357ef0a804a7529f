from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from apps.accounts.selectors import units_for_request
from apps.sessions.selectors import session_get_for_user

from .lib.history import sparks, weakest
from .reports import ReportRequestError, report_request
from .selectors import ProgressQueryError, progress_for_user
from .services_focus import FocusError, focus_close


@login_required
@require_http_methods(["GET", "POST"])
def session_report_view(request: HttpRequest, session_id: int) -> HttpResponse:
    """GET: the report panel (a page of its own, or the bare panel with ?partial=1).
    POST: ask for a new report, then go back to where the form was."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    if request.method == "GET":
        template = "coaching/report_panel.html" if request.GET.get("partial") else "coaching/report_page.html"
        return render(request, template, {"session": session})
    try:
        report_request(session=session, user=request.user, request_id=_request_id(request))  # type: ignore[arg-type]
    except (ValueError, ReportRequestError) as exc:
        return HttpResponseBadRequest(str(exc))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = request.path
    return redirect(back or request.path)


def _request_id(request: HttpRequest) -> uuid.UUID | None:
    raw = request.POST.get("request_id")
    return uuid.UUID(raw) if raw else None


@login_required
@require_http_methods(["GET"])
def progress_view(request: HttpRequest) -> HttpResponse:
    """The driver's corners over sessions at one track with one car (?track=&car=)."""
    try:
        progress = progress_for_user(
            user_id=_user_id(request), track=request.GET.get("track"), car=request.GET.get("car")
        )
    except ProgressQueryError as exc:
        return HttpResponseBadRequest(str(exc))
    units = units_for_request(request)
    rows = [{"history": h, "sparks": sparks(h, units), "trend": h.trend(units)} for h in progress.corners]
    return render(
        request,
        "coaching/progress.html",
        {"progress": progress, "rows": rows, "weakest": weakest(progress.corners)},
    )


@login_required
@require_http_methods(["POST"])
def focus_close_view(request: HttpRequest, focus_id: int) -> HttpResponse:
    try:
        focus = focus_close(focus_id=focus_id, owner_id=_user_id(request))
    except FocusError as exc:
        if "no such" in str(exc):
            raise Http404(str(exc)) from exc
        return HttpResponseBadRequest(str(exc))
    return redirect(f"{reverse('progress')}?track={focus.track_id}&car={focus.car_id}")


def _user_id(request: HttpRequest) -> int:
    # login_required has run: the user is a stored one.
    assert request.user.pk is not None
    return int(request.user.pk)
