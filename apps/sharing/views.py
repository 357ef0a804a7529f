from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.selectors import units_for_request
from apps.sessions.models import Session
from apps.sessions.selectors import lap_list, session_lap_table
from apps.teams.selectors import team_driver_sessions
from simcoach_site.lib.auth import request_user

from .access import (
    Access,
    Grant,
    coached_rows,
    grant_by_coached_driver,
    grant_by_team,
    grant_by_token,
    live_session_for,
)
from .forms import CoachedDriverSaveForm, ShareLinkCreateForm
from .models import CoachNote, ShareLink
from .selectors import (
    coached_driver_get_for_user,
    share_link_get_for_user,
    share_link_list,
)
from .services import (
    coached_driver_remove,
    coached_driver_save,
    share_link_create,
    share_link_revoke,
    share_link_touch,
)


@login_required
def sharing(request: HttpRequest) -> HttpResponse:
    """Create share links (each URL is shown once, then only its hash exists), list and revoke them."""
    form = ShareLinkCreateForm(request.POST or None, user=request_user(request))
    new_url = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        _, token = share_link_create(
            owner=request_user(request),
            rig=data.get("rig"),
            session=data.get("session"),
            expires_in=data["expires_in"],
            label=data["label"],
        )
        new_url = request.build_absolute_uri(reverse("share", args=[token]))
        form = ShareLinkCreateForm(user=request_user(request))
    links = share_link_list(owner=request.user)
    return render(request, "sharing/sharing.html", {"form": form, "links": links, "new_url": new_url})


@login_required
@require_POST
def share_revoke_view(request: HttpRequest, link_id: int) -> HttpResponse:
    link = share_link_get_for_user(user=request.user, link_id=link_id)
    share_link_revoke(link=link)
    messages.success(request, "Link revoked; anyone watching through it was disconnected.")
    return redirect("sharing")


SHARE_GONE_STATUS = {"unknown": 404, "expired": 410, "revoked": 410}


def _share_gone(request: HttpRequest, access: Access) -> HttpResponse:
    refusal = access.refusal if access.refusal in SHARE_GONE_STATUS else "unknown"
    context = {"refusal": refusal, "link": access.link}
    return render(request, "sharing/share_gone.html", context, status=SHARE_GONE_STATUS[refusal])


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: keep it out of other sites' Referer headers and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
def share_view(request: HttpRequest, token: str) -> HttpResponse:
    """A share link's landing page: a session's archive, or a rig's live dashboard."""
    access = grant_by_token(token)
    if access.grant is None or access.grant.link is None or not access.ok:
        return _private(_share_gone(request, access))
    link = access.grant.link
    share_link_touch(link=link)
    if link.kind == ShareLink.Kind.SESSION:
        return _private(_share_session_page(request, link, token))
    return _private(_share_live_page(request, access.grant, f"ws/share/{token}/", token=token))


@never_cache
def share_live_view(request: HttpRequest, token: str) -> HttpResponse:
    access = grant_by_token(token)
    if access.grant is None or not access.ok:
        return _private(_share_gone(request, access))
    return _private(_share_live_page(request, access.grant, f"ws/share/{token}/", token=token))


def _share_live_page(request: HttpRequest, grant: Grant, ws_path: str, token: str | None) -> HttpResponse:
    """The live dashboard a grant opens: a link's (read-only, notes allowed) or a team coach's."""
    context = {
        "ws_path": ws_path,
        "session": live_session_for(grant),
        "share": grant.link,
        "grant": grant,
        "token": token,
        # logged out: the driver's units
        "units": units_for_request(request, owner=User.objects.get(pk=grant.driver_id)),
    }
    return render(request, "telemetry/live.html", context)


def _share_session_page(request: HttpRequest, link: ShareLink, token: str) -> HttpResponse:
    session = link.session
    assert session is not None  # a session link names its session (database constraint)
    notes = CoachNote.objects.filter(session=session, share_link=link)
    laps = lap_list(session=session)
    context = {
        "share": link,
        "session": session,
        "laps": laps,
        "notes": notes,
        "token": token,
        "units": units_for_request(request, owner=link.owner),  # logged out: the driver's units
    }
    return render(request, "sharing/share_session.html", context)


@login_required
def coached_drivers(request: HttpRequest) -> HttpResponse:
    """Drivers I coach: drivers whose links this user saved and the drivers of the teams they
    coach in, one list, each with whether they are live now."""
    form: CoachedDriverSaveForm = CoachedDriverSaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        access = grant_by_token(form.cleaned_data["link"])
        if access.grant is not None and access.grant.link is not None and access.ok:
            coached_driver_save(
                coach=request_user(request), link=access.grant.link, nickname=form.cleaned_data["nickname"]
            )
            messages.success(request, "Saved to Drivers I coach.")
            return redirect("coached-drivers")
        form.add_error("link", f"That link is {access.refusal or 'unknown'}; ask the driver for a new one.")
    rows = coached_rows(request.user)
    status = 400 if form.errors else 200
    return render(request, "sharing/coached_drivers.html", {"form": form, "rows": rows}, status=status)


@login_required
@require_POST
def coached_driver_remove_view(request: HttpRequest, coached_driver_id: int) -> HttpResponse:
    coached = coached_driver_get_for_user(user=request.user, coached_driver_id=coached_driver_id)
    coached_driver_remove(coached=coached)
    messages.success(request, "Removed.")
    return redirect("coached-drivers")


@login_required
@never_cache
def coached_driver_live(request: HttpRequest, coached_driver_id: int) -> HttpResponse:
    access = grant_by_coached_driver(request.user, coached_driver_id)
    if access.grant is None or not access.ok:
        return _share_gone(request, access)
    return _share_live_page(request, access.grant, f"ws/coached/{coached_driver_id}/", token=None)


def _team_grant_or_404(request: HttpRequest, team_id: int, driver_id: int) -> Grant:
    access = grant_by_team(request.user, team_id, driver_id)
    if access.grant is None or not access.ok:
        raise Http404("No such driver")  # outside the team: neither team nor driver is told
    return access.grant


@login_required
def team_driver(request: HttpRequest, team_id: int, driver_id: int) -> HttpResponse:
    """A team driver's sessions shared with the team (any member reads them), and their live view
    for the team's coaches."""
    grant = _team_grant_or_404(request, team_id, driver_id)
    driver = User.objects.get(pk=driver_id)
    context = {
        "grant": grant,
        "driver": driver,
        "team_id": team_id,
        "sessions": team_driver_sessions(team_id=team_id, driver_id=driver_id),
        "live_session": live_session_for(grant) if grant.live else None,
    }
    return render(request, "sharing/team_driver.html", context)


@login_required
@never_cache
def team_driver_live(request: HttpRequest, team_id: int, driver_id: int) -> HttpResponse:
    """A team coach watches a team driver live (what the driver shares with the team)."""
    grant = _team_grant_or_404(request, team_id, driver_id)
    if not grant.live:
        raise PermissionDenied("Only the team's coaches, managers and owner watch its drivers live")
    return _share_live_page(request, grant, f"ws/coached/team/{team_id}/{driver_id}/", token=None)


@login_required
def team_session(request: HttpRequest, team_id: int, session_id: int) -> HttpResponse:
    """A session a team mate shared with the team: its laps, read-only, with "compare with mine"
    (any member), and Watch live for the team's coaches while it is live."""
    session = Session.objects.select_related("track", "car", "owner").filter(pk=session_id).first()
    grant = _team_grant_or_404(request, team_id, session.owner_id if session is not None else 0)
    if session is None or grant.team is None or not grant.covers(session):
        raise Http404("No such session")
    context = {
        "team": grant.team,
        "session": session,
        "table": session_lap_table(session=session),
        "coaches": grant.live,
    }
    return render(request, "teams/team_session.html", context)
