from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from .forms import SessionFilterForm
from .lib.exports import lap_csv, lap_motec_ld, lap_motec_ldx
from .models import Lap
from .selectors import lap_get_for_user, session_get_for_user, session_lap_table, session_report_ready_ids
from .selectors import session_list as session_list_for
from .selectors_traces import (
    MAX_COMPARE,
    CompareError,
    TraceUnavailable,
    lap_compare,
    lap_export_columns,
    lap_export_uniform,
)
from .services import lap_reference_set

T = TypeVar("T")


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if request.GET else {}
    page = Paginator(session_list_for(user=request.user, filters=filters), 25).get_page(
        request.GET.get("page")
    )
    ready = session_report_ready_ids(session_ids=[s.pk for s in page])
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "form": form, "ready": ready or set(), "has_reports": ready is not None}
    return render(request, "sessions/list.html", {**context, "query": query.urlencode()})


def _has_template(name: str) -> bool:
    # Another app may provide a panel (the coaching report); render it only if it exists.
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


@login_required
def session_detail(request: HttpRequest, session_id: int) -> HttpResponse:
    session = session_get_for_user(user=request.user, session_id=session_id)
    context = {
        "session": session,
        "table": session_lap_table(session=session),
        "has_report_panel": _has_template("coaching/report_panel.html"),
    }
    return render(request, "sessions/detail.html", context)


@login_required
def lap_detail(request: HttpRequest, lap_id: int) -> HttpResponse:
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    return render(request, "sessions/lap.html", {"lap": lap, "session": lap.session})


def _compare_ids(request: HttpRequest) -> list[int]:
    # ?laps=3,5 from a link, or ?laps=3&laps=5 from the session page's checkboxes.
    parts = [p.strip() for value in request.GET.getlist("laps") for p in value.split(",") if p.strip()]
    if not parts:
        raise CompareError("choose laps to compare: /compare/?laps=12,15")
    try:
        return [int(p) for p in parts[: MAX_COMPARE + 1]]
    except ValueError:
        raise CompareError("lap ids are numbers: /compare/?laps=12,15") from None


@login_required
def lap_compare_page(request: HttpRequest) -> HttpResponse:
    try:
        laps = [lap_get_for_user(user=request.user, lap_id=i) for i in _compare_ids(request)]
        comp = lap_compare(laps=laps)
    except CompareError as exc:
        return render(request, "sessions/compare_error.html", {"error": str(exc)}, status=400)
    ids = ",".join(str(lap.pk) for lap in comp.laps)
    return render(request, "sessions/compare.html", {"comp": comp, "ids": ids})


def _filename(lap: Lap, ext: str) -> str:
    stem = slugify(f"{lap.session.track.name} {lap.session.car.name} lap {lap.number}")
    return f"{stem or 'lap'}.{ext}"


@login_required
def lap_export_csv(request: HttpRequest, lap_id: int) -> StreamingHttpResponse:
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    columns, units = _export_or_404(lambda: lap_export_columns(lap=lap))
    response = StreamingHttpResponse(lap_csv(columns, units), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(lap, "csv")}"'
    return response


@login_required
def lap_export_ld(request: HttpRequest, lap_id: int) -> HttpResponse:
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    columns, rate = _export_or_404(lambda: lap_export_uniform(lap=lap))
    session = lap.session
    body = lap_motec_ld(
        columns,
        driver=request.user.get_username(),
        vehicle=session.car.name,
        venue=session.track.name,
        event=f"{session.get_kind_display()} lap {lap.number}",
        session=session.get_kind_display(),
        started_at=lap.started_at,
        rate_hz=rate,
    )
    response = HttpResponse(body, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{_filename(lap, "ld")}"'
    return response


@login_required
def lap_export_ldx(request: HttpRequest, lap_id: int) -> HttpResponse:
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    # The .ld starts on the line, so one beacon at the lap's end marks the whole lap.
    body = lap_motec_ldx([(lap.time_ms or round((lap.t_end - lap.t_start) * 1000)) / 1000])
    response = HttpResponse(body, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{_filename(lap, "ldx")}"'
    return response


def _export_or_404(read: Callable[[], T]) -> T:
    try:
        return read()
    except TraceUnavailable as exc:
        raise Http404(str(exc)) from None


@login_required
@require_POST
def lap_reference_toggle(request: HttpRequest, lap_id: int) -> HttpResponse:
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    lap_reference_set(lap=lap, is_reference=not lap.is_reference)
    return redirect("lap-detail", lap.pk)
