"""Team pages, the leaderboard and the reference-lap actions: parse, call one service, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.lib.tokens import token_hash
from apps.accounts.selectors import units_for_request
from apps.sessions.selectors import lap_get_for_user, session_get_for_user
from simcoach_site.lib.auth import request_user

from . import services
from .forms import INVITE_EXPIRIES, InviteForm, LeaderboardForm, RoleForm, TeamCreateForm
from .models import Invitation
from .selectors import (
    LeaderboardError,
    LeaderboardQuery,
    invitation_by_token,
    invitation_for_user,
    invitation_get,
    invitation_list,
    invitation_list_pending,
    leaderboard,
    leaderboard_choices,
    live_reference_get_for_user,
    live_reference_list,
    member_get,
    membership_get_for_user,
    my_best_lap_id,
    session_shares_for_driver,
    team_activity,
    team_list_for_user,
)
from .services import TeamError

View = Callable[..., HttpResponse]


def team_errors(view: View) -> View:
    """A refused team operation goes back to the page it came from with the reason."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except TeamError as exc:
            messages.error(request, str(exc))
            team_id = kwargs.get("team_id")
            return redirect("team-detail", team_id) if team_id else redirect("teams")

    return wrapped


@login_required
@team_errors
def teams(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        team = services.team_create(owner=request_user(request), name=form.cleaned_data["name"])
        return redirect("team-detail", team.pk)
    context = {
        "form": form,
        "teams": team_list_for_user(user=request.user),
        "pending": invitation_list_pending(user=request.user),
    }
    return render(request, "teams/teams.html", context)


@login_required
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id)
    context = {
        "team": me.team,
        "me": me,
        "members": me.team.memberships.select_related("user").order_by("joined_at"),
        "invitations": invitation_list(team=me.team) if me.can_manage else [],
        "invite_form": InviteForm(),
        "role_form": RoleForm(),
        "my_sessions": session_shares_for_driver(membership=me),
        "activity": team_activity(team=me.team),
        "new_link": request.session.pop("team_invite_link", None),
    }
    return render(request, "teams/team.html", context)


@login_required
@require_POST
@team_errors
def team_invite(request: HttpRequest, team_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
    form = InviteForm(request.POST)
    if not form.is_valid():
        raise TeamError("check the invitation's role and expiry")
    data = form.cleaned_data
    if data["username"]:
        services.invitation_create_user(by=me, username=data["username"], role=data["role"])
        messages.success(request, f"{data['username']} will see the invitation on their Teams page.")
    else:
        _, token = services.invitation_create_link(
            by=me, role=data["role"], expires_in=INVITE_EXPIRIES[data["expiry"]]
        )
        # Shown once, on the next page: only the token's hash is stored.
        request.session["team_invite_link"] = request.build_absolute_uri(reverse("team-join", args=[token]))
    return redirect("team-detail", team_id)


@login_required
@require_POST
def team_invitation_revoke(request: HttpRequest, team_id: int, invitation_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
    services.invitation_revoke(by=me, invitation=invitation_get(team=me.team, invitation_id=invitation_id))
    messages.success(request, "Invitation revoked.")
    return redirect("team-detail", team_id)


def _invitation_gone(token: str) -> int:
    # Unknown tokens are a 404; a real link that was revoked or ran out says so (410).
    known = Invitation.objects.filter(token_hash=token_hash(token)).exists() if len(token) < 200 else False
    return 410 if known else 404


@never_cache
@login_required
@team_errors
def team_join(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link's landing page: who invites you to what, and a Join button."""
    invitation = invitation_by_token(token=token)
    if invitation is None:
        return render(request, "teams/invitation_gone.html", status=_invitation_gone(token))
    if request.method == "POST":
        membership = services.invitation_accept(user=request_user(request), invitation=invitation)
        return redirect("team-detail", membership.team_id)
    response = render(request, "teams/join.html", {"invitation": invitation})
    # The token is in the URL: never in another site's Referer. Not "no-referrer": Chromium
    # then sends `Origin: null` with the Join form and the CSRF check refuses it.
    response["Referrer-Policy"] = "same-origin"
    return response


@login_required
@require_POST
@team_errors
def team_invitation_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_for_user(user=request.user, invitation_id=invitation_id)
    membership = services.invitation_accept(user=request_user(request), invitation=invitation)
    return redirect("team-detail", membership.team_id)


@login_required
@require_POST
@team_errors
def team_leave(request: HttpRequest, team_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id)
    services.membership_leave(membership=me)
    messages.success(request, f"You left {me.team}; nothing of yours is visible to it any more.")
    return redirect("teams")


@login_required
@team_errors
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    """The owner deletes the team, after a confirm step (GET shows what goes with it)."""
    me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
    if me.role != "owner":
        raise PermissionDenied("only the owner deletes the team")
    if request.method == "POST":
        if request.POST.get("confirm") != me.team.name:
            raise TeamError("tick the box to confirm that the team is to be deleted")
        services.team_delete(by=me)
        messages.success(
            request, f"{me.team} is deleted; nothing anyone shared with it is visible through it."
        )
        return redirect("teams")
    context = {"team": me.team, "members": me.team.memberships.count()}
    return render(request, "teams/team_delete.html", context)


@login_required
@require_POST
@team_errors
def team_member_remove(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
    services.membership_remove(by=me, member=member_get(team=me.team, membership_id=membership_id))
    return redirect("team-detail", team_id)


@login_required
@require_POST
@team_errors
def team_member_role(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
    form = RoleForm(request.POST)
    if not form.is_valid():
        raise TeamError("a role is manager, coach or driver")
    member = member_get(team=me.team, membership_id=membership_id)
    services.membership_role_set(by=me, member=member, role=form.cleaned_data["role"])
    return redirect("team-detail", team_id)


@login_required
@require_POST
@team_errors
def team_transfer(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id, manage=True)
    services.ownership_transfer(by=me, to=member_get(team=me.team, membership_id=membership_id))
    messages.success(request, "Ownership transferred; you are now a manager.")
    return redirect("team-detail", team_id)


@login_required
@require_POST
def team_share_default(request: HttpRequest, team_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id)
    services.membership_share_default_set(membership=me, share=request.POST.get("share") == "1")
    return redirect("team-detail", team_id)


@login_required
@require_POST
def team_session_share(request: HttpRequest, team_id: int, session_id: int) -> HttpResponse:
    me = membership_get_for_user(user=request.user, team_id=team_id)
    session = session_get_for_user(user=request.user, session_id=session_id)  # your own only
    services.session_share_set(membership=me, session=session, shared=request.POST.get("shared") == "1")
    return redirect("team-detail", team_id)


@login_required
def leaderboards(request: HttpRequest) -> HttpResponse:
    units = units_for_request(request)
    form = LeaderboardForm(request.GET or None, choices=leaderboard_choices(user=request.user), units=units)
    query = form.query() if request.GET else None
    board, error, status = None, None, 200
    if query is not None:
        try:
            board = leaderboard(user=request.user, query=query)
        except LeaderboardError as exc:
            error, status = str(exc), 400
    elif request.GET:
        error, status = "choose a track, and a car or a class, from the lists", 400
    context = {"form": form, "board": board, "error": error}
    return render(request, "teams/leaderboards.html", context, status=status)


@login_required
def compare_with_mine(request: HttpRequest, lap_id: int) -> HttpResponse:
    """Compare a lap you may read with your best on its track and car, that lap as reference."""
    lap = lap_get_for_user(user=request.user, lap_id=lap_id, shared=True)
    mine = my_best_lap_id(user=request.user, query=LeaderboardQuery(lap.session.track_id, lap.session.car_id))
    if mine is None:
        messages.error(request, "You have no green lap on this track and car to compare with yet.")
        return redirect("references")
    ids = ",".join(str(i) for i in dict.fromkeys([lap.pk, mine]))
    return redirect(f"{reverse('compare')}?{urlencode({'laps': ids, 'ref': str(lap.pk)})}")


@login_required
def references(request: HttpRequest) -> HttpResponse:
    context = {"references": live_reference_list(user=request.user)}
    return render(request, "teams/references.html", context)


@login_required
@require_POST
def reference_use(request: HttpRequest, lap_id: int) -> HttpResponse:
    try:
        ref = services.live_reference_set(user=request_user(request), lap_id=lap_id)
    except TeamError as exc:
        messages.error(request, str(exc))
        return redirect("references")
    messages.success(request, f"Lap {ref.lap.number} is your live reference on {ref.track} in the {ref.car}.")
    return redirect("references")


@login_required
@require_POST
def reference_clear(request: HttpRequest, reference_id: int) -> HttpResponse:
    services.live_reference_clear(
        reference=live_reference_get_for_user(user=request.user, reference_id=reference_id)
    )
    return redirect("references")


@login_required
@require_POST
def leaderboard_listing(request: HttpRequest) -> HttpResponse:
    services.site_leaderboard_opt_set(user=request_user(request), listed=request.POST.get("listed") == "1")
    return redirect("leaderboards")
