from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from apps.accounts.authentication import login_or_token_required
from apps.accounts.selectors import units_for_request

from .downloads import download_or_404, lap_download, session_download
from .forms import SessionFilterForm
from .lib.stats import lap_value
from .selectors import (
    lap_get_for_user,
    lap_wheels,
    session_get_for_user,
    session_lap_table,
    session_report_ready_ids,
    sessions_best_lap_attach,
)
from .selectors import session_list as session_list_for
from .selectors_traces import (
    MAX_COMPARE,
    CompareError,
    compare_check,
    compare_order,
    lap_compare,
)
from .services import LapReferenceRefused, lap_reference_set


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    form = SessionFilterForm(request.GET or None, user=request.user)
    filters = form.filters() if request.GET else {}
    page = Paginator(session_list_for(user=request.user, filters=filters), 25).get_page(
        request.GET.get("page")
    )
    sessions_best_lap_attach(page.object_list)
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
    value = lap_value(lap)
    whole = bool(value.time_ms) and value.timing != "untimed" and not value.partial and value.complete
    context = {"lap": lap, "session": lap.session, "can_be_reference": whole, "wheels": lap_wheels(lap=lap)}
    return render(request, "sessions/lap.html", context)


def _compare_ids(request: HttpRequest) -> list[int]:
    # ?laps=3,5 from a link, or ?laps=3&laps=5 from the session page's checkboxes.
    parts = [p.strip() for value in request.GET.getlist("laps") for p in value.split(",") if p.strip()]
    if not parts:
        raise CompareError("choose laps to compare: /compare/?laps=12,15")
    try:
        return [int(p) for p in parts[: MAX_COMPARE + 1]]
    except ValueError:
        raise CompareError("lap ids are numbers: /compare/?laps=12,15") from None


def _compare_ref(request: HttpRequest) -> int | None:
    raw = request.GET.get("ref", "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise CompareError("the reference is a lap id: /compare/?laps=12,15&ref=12") from None


@login_required
def lap_compare_page(request: HttpRequest) -> HttpResponse:
    """Laps against the reference the driver picked; the URL always names it (?ref=)."""
    try:
        ids, ref = _compare_ids(request), _compare_ref(request)
        if ref is not None and ref not in ids:
            ids.append(ref)  # a reference picked without its tick is still compared
        # Read-only: a team mate's shared lap may be the reference ("compare with mine").
        laps = [lap_get_for_user(user=request.user, lap_id=i, shared=True) for i in ids]
        laps = compare_order(laps, ref_id=ref)
        compare_check(laps)  # refuse before redirecting: a bad pair stays a 400
        if ref is None:  # remember the default in the URL: a reload or a shared link keeps it
            query = urlencode({"laps": ",".join(str(lap.pk) for lap in laps), "ref": str(laps[0].pk)})
            return redirect(f"{reverse('compare')}?{query}")
        comp = lap_compare(laps=laps)
    except CompareError as exc:
        return render(request, "sessions/compare_error.html", {"error": str(exc)}, status=400)
    ids_text = ",".join(str(lap.pk) for lap in comp.laps)
    return render(request, "sessions/compare.html", {"comp": comp, "ids": ids_text})


@login_or_token_required
def session_export(request: HttpRequest, session_id: int, fmt: str) -> HttpResponseBase:
    """One of your sessions, every lap, as .ld/.ldx (MoTeC i2), CSV or Parquet."""
    session = session_get_for_user(user=request.user, session_id=session_id)
    return download_or_404(
        lambda: session_download(
            session=session, fmt=fmt, driver=request.user.get_username(), units=units_for_request(request)
        )
    )


@login_or_token_required
def lap_export(request: HttpRequest, lap_id: int, fmt: str) -> HttpResponseBase:
    """One of your laps as .ld/.ldx (MoTeC i2), CSV or Parquet, ACC channel names; CSV and
    Parquet in your units, the .ld in ACC's."""
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    units = units_for_request(request)
    return download_or_404(
        lambda: lap_download(lap=lap, fmt=fmt, driver=request.user.get_username(), units=units)
    )


@login_required
@require_POST
def lap_reference_toggle(request: HttpRequest, lap_id: int) -> HttpResponse:
    lap = lap_get_for_user(user=request.user, lap_id=lap_id)
    try:
        lap_reference_set(lap=lap, is_reference=not lap.is_reference)
    except LapReferenceRefused as exc:
        return HttpResponseBadRequest(str(exc))
    return redirect("lap-detail", lap.pk)
