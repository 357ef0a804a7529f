"""Writes of teams: create, delete, invite, join, leave, remove, transfer, share, choose a reference."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.lib.tokens import token_hash, token_new
from apps.sessions.lib.stats import best_lap, is_green, is_timed_whole, lap_value
from apps.sessions.models import Lap, Session
from apps.sessions.selectors import lap_get_for_user
from simcoach_site.events import LapStored, broadcast_on_commit, team_group

from .models import (
    Invitation,
    LiveReference,
    Membership,
    Role,
    SessionBest,
    SessionShare,
    SiteLeaderboardOptIn,
    Team,
)
from .selectors import TEAM_INVITE_PREFIX

# Nobody invites into a team for longer than a month: a leaked old link is a dead one.
MAX_INVITE_EXPIRY = dt.timedelta(days=30)
# 32 random bytes in the token: 256 bits, past the 128-bit floor of the issue.
INVITE_TOKEN_BYTES = 32


class TeamError(Exception):
    """A team operation refused for a reason the user can fix; the message says which."""


def team_create(*, owner: User, name: str) -> Team:
    """A new team with `owner` as its owner (and only member)."""
    name = name.strip()
    if not name or len(name) > 80:
        raise TeamError("a team name is 1 to 80 characters")
    with transaction.atomic():
        team = Team.objects.create(name=name)
        Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    return team


def _check_role(role: str) -> None:
    if role not in (Role.MANAGER, Role.COACH, Role.DRIVER):
        raise TeamError("invite as manager, coach or driver (ownership is transferred, not invited)")


def invitation_create_link(
    *, by: Membership, role: str = Role.DRIVER, expires_in: dt.timedelta = dt.timedelta(days=7)
) -> tuple[Invitation, str]:
    """A link anyone holding it may join through until it expires or is revoked; the token is
    returned once and only its hash is stored."""
    _check_manager(by)
    _check_role(role)
    if not dt.timedelta(minutes=5) <= expires_in <= MAX_INVITE_EXPIRY:
        raise TeamError("an invitation expires after 5 minutes to 30 days")
    token = token_new(TEAM_INVITE_PREFIX, INVITE_TOKEN_BYTES)
    invitation = Invitation.objects.create(
        team_id=by.team_id,
        role=role,
        created_by_id=by.user_id,
        token_hash=token_hash(token),
        token_hint=token[-6:],
        expires_at=timezone.now() + expires_in,
    )
    return invitation, token


def invitation_create_user(*, by: Membership, username: str, role: str = Role.DRIVER) -> Invitation:
    """An invitation that only `username` sees and may accept (once, within 30 days)."""
    _check_manager(by)
    _check_role(role)
    invited = User.objects.filter(username=username.strip(), is_active=True).first()
    if invited is None:
        raise TeamError(f"no user named {username.strip()!r}")
    if Membership.objects.filter(team_id=by.team_id, user=invited).exists():
        raise TeamError(f"{invited.username} is already in the team")
    return Invitation.objects.create(
        team_id=by.team_id,
        role=role,
        created_by_id=by.user_id,
        invited_user=invited,
        expires_at=timezone.now() + MAX_INVITE_EXPIRY,
    )


def invitation_revoke(*, by: Membership, invitation: Invitation) -> None:
    _check_manager(by)
    if invitation.team_id != by.team_id:
        raise PermissionDenied("not this team's invitation")
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def invitation_accept(*, user: User, invitation: Invitation) -> Membership:
    """Join the invitation's team in its role; a member already in it keeps their membership.

    The invitation is read again, locked: one revoked a moment ago, or a username invitation
    accepted in another tab, is refused."""
    with transaction.atomic():
        fresh = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if fresh.invited_user_id is not None and fresh.invited_user_id != user.pk:
            raise PermissionDenied("this invitation is for someone else")
        existing = Membership.objects.filter(team_id=fresh.team_id, user=user).first()
        if existing is not None:
            return existing
        if not fresh.is_usable():
            raise TeamError("this invitation has expired or was revoked")
        membership = Membership.objects.create(team_id=fresh.team_id, user=user, role=fresh.role)
        Invitation.objects.filter(pk=fresh.pk).update(
            use_count=F("use_count") + 1, accepted_at=timezone.now()
        )
    return membership


def _access_changed(team_id: int) -> None:
    # Sockets watching through this team's grant check their access again when this commits
    # (and cut themselves off if it is gone): leaving, a removal or an unshare acts at once.
    broadcast_on_commit(team_group(team_id), {"type": "access.changed", "team_id": team_id})


def _check_manager(by: Membership) -> None:
    if not by.can_manage:
        raise PermissionDenied("Only the team's owner and managers may do that")


@transaction.atomic
def _forget(membership: Membership) -> None:
    # Leaving takes the driver's choices with them: a later return starts private again.
    SessionShare.objects.filter(team_id=membership.team_id, session__owner_id=membership.user_id).delete()
    # Team mates' live references to this driver's laps fail the hook's access re-check.
    membership.delete()
    _access_changed(membership.team_id)


def team_delete(*, by: Membership) -> None:
    """The owner deletes the team: memberships, shares, invitations and the team's board go
    with it (its leaderboard is read from its shares), and every socket watching through it
    is cut off when this commits."""
    if by.role != Role.OWNER:
        raise PermissionDenied("only the owner deletes the team")
    team_id = by.team_id
    with transaction.atomic():
        _access_changed(team_id)
        Team.objects.filter(pk=team_id).delete()


def membership_leave(*, membership: Membership) -> None:
    """Leave a team: from this moment nothing of the driver's is visible to it."""
    if membership.role == Role.OWNER:
        raise TeamError("the owner transfers ownership before leaving")
    _forget(membership)


def membership_remove(*, by: Membership, member: Membership) -> None:
    """Remove a member: owners remove anyone but themselves, managers remove coaches and drivers."""
    _check_manager(by)
    if member.team_id != by.team_id:
        raise PermissionDenied("not a member of this team")
    if member.role == Role.OWNER or (by.role == Role.MANAGER and member.role == Role.MANAGER):
        raise PermissionDenied("a manager removes coaches and drivers; nobody removes the owner")
    _forget(member)


def membership_role_set(*, by: Membership, member: Membership, role: str) -> Membership:
    """The owner changes another member's role (to manager, coach or driver)."""
    if by.role != Role.OWNER or member.team_id != by.team_id:
        raise PermissionDenied("only the owner changes roles")
    _check_role(role)
    if member.role == Role.OWNER:
        raise TeamError("the owner's role changes by transferring ownership")
    with transaction.atomic():
        member.role = role
        member.save(update_fields=["role"])
        _access_changed(member.team_id)  # a coach made a driver watches live no more
    return member


def ownership_transfer(*, by: Membership, to: Membership) -> None:
    """Make another member the owner; the old owner stays, as a manager."""
    if by.role != Role.OWNER or to.team_id != by.team_id:
        raise PermissionDenied("only the owner transfers ownership")
    if to.pk == by.pk:
        raise TeamError("you already own the team")
    with transaction.atomic():
        Membership.objects.filter(pk=by.pk).update(role=Role.MANAGER)
        Membership.objects.filter(pk=to.pk).update(role=Role.OWNER)


def membership_share_default_set(*, membership: Membership, share: bool) -> None:
    """Whether the driver's sessions without an explicit choice are shared with this team."""
    with transaction.atomic():
        membership.share_by_default = share
        membership.save(update_fields=["share_by_default"])
        _access_changed(membership.team_id)


def session_share_set(*, membership: Membership, session: Session, shared: bool) -> None:
    """Share one of the member's own sessions with the team, or hide it from it."""
    if session.owner_id != membership.user_id:
        raise PermissionDenied("only the driver shares their session")
    with transaction.atomic():
        SessionShare.objects.update_or_create(
            team_id=membership.team_id, session=session, defaults={"shared": shared}
        )
        _access_changed(membership.team_id)


def live_reference_set(*, user: User, lap_id: int) -> LiveReference:
    """Make a lap the user may read (theirs or a team mate's) their live delta's reference for
    the next sessions on its track and car."""
    lap = lap_get_for_user(user=user, lap_id=lap_id, shared=True)
    if not is_timed_whole(lap_value(lap)):
        raise TeamError("an untimed or partial lap cannot be a reference")
    ref, _ = LiveReference.objects.update_or_create(
        user=user,
        track_id=lap.session.track_id,
        car_id=lap.session.car_id,
        defaults={"lap": lap, "chosen_at": timezone.now()},
    )
    return ref


def live_reference_clear(*, reference: LiveReference) -> None:
    reference.delete()


def site_leaderboard_opt_set(*, user: User, listed: bool) -> None:
    if listed:
        SiteLeaderboardOptIn.objects.get_or_create(user=user)
    else:
        SiteLeaderboardOptIn.objects.filter(user=user).delete()


def session_best_lap_stored(event: LapStored) -> None:
    """The lap_stored hook: a new green lap faster than the session's best becomes it.

    Laps of a session arrive in order, so a tie keeps the earlier lap, as `best_lap` does."""
    lap = Lap.objects.filter(pk=event.lap_id).first()
    if lap is None or not is_green(lap_value(lap)) or lap.time_ms is None:
        return
    current = SessionBest.objects.filter(session_id=event.session_id).first()
    if current is not None and (current.time_ms, current.number) <= (lap.time_ms, lap.number):
        return
    SessionBest.objects.update_or_create(
        session_id=event.session_id,
        defaults={"lap": lap, "time_ms": lap.time_ms, "number": lap.number, "set_at": lap.ended_at},
    )


def session_best_rebuild(*, session_ids: list[int] | None = None) -> int:
    """Recompute sessions' best laps from all their laps (a backfill, or after laps changed)."""
    sessions = Session.objects.all() if session_ids is None else Session.objects.filter(pk__in=session_ids)
    count = 0
    for session_id in sessions.values_list("pk", flat=True).iterator():
        laps = {lap.pk: lap for lap in Lap.objects.filter(session_id=session_id)}
        best = best_lap(lap_value(lap) for lap in laps.values())
        if best is None or best.key is None or best.time_ms is None:
            SessionBest.objects.filter(session_id=session_id).delete()
            continue
        defaults = {"lap_id": best.key, "time_ms": best.time_ms, "number": best.number}
        SessionBest.objects.update_or_create(
            session_id=session_id, defaults={**defaults, "set_at": laps[best.key].ended_at}
        )
        count += 1
    return count
