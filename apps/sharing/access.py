"""The one access decision: who may see a driver's sessions, watch them live and send the
driver notes (or cues), and why.

A viewer reaches a driver's session through one of five grants (`Reason`):

- owner: the driver; sees and watches everything of theirs (notes to oneself make no sense);
- team coach: an owner, manager or coach of a team the driver is in, on the sessions the driver
  shares with that team; sees them, watches them live, sends notes;
- team member: a member with the driver role, on the same sessions; sees the archive only;
- share link: whoever holds a link's token, on what the link names (one session, or one rig's
  live session); sees, watches, sends notes;
- coached driver: a logged-in coach who saved a link ("Drivers I coach"), on the same.

Privacy by default: no grant exists until the driver makes one (a link, or a share with a
team), and each is read from the database every time, so leaving a team, a removal, an
unshare, a deleted team or a revoked link ends it at once (open sockets are told through
`events.access_changed` / `share.revoked` and re-check here).

Share links and teams live in two apps; this module sits in sharing, above teams, so it
reads both (tests/test_import_graph.py). Pages, APIs and sockets ask it; sessions, below
both, asks it through the `events.shared_sessions` hook (connected in `SharingConfig.ready`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, QuerySet

from apps.sessions.models import Session
from apps.teams.models import COACHING_ROLES, Membership, SessionShare, Team
from apps.teams.selectors import shared_session_ids, team_live_session, team_visible_q

from .models import CoachedDriver, ShareLink
from .selectors import ShareAccess, ShareRefusal, share_link_resolve, share_link_session

Reason = Literal["owner", "team coach", "coached driver", "share link", "team member"]
# When several grants cover one session, the first of these is the reason given.
REASONS: tuple[Reason, ...] = ("owner", "team coach", "coached driver", "share link", "team member")
Viewer = User | AnonymousUser
Refusal = ShareRefusal | Literal["forbidden"]


@dataclass(frozen=True)
class Grant:
    """One way a viewer reaches one driver's sessions, and what it allows."""

    reason: Reason
    driver_id: int
    live: bool  # may watch the covered sessions live
    notes: bool  # may send the driver notes (and cues) while one is live
    viewer_id: int | None = None  # None: whoever holds a link's token
    link: ShareLink | None = None
    team: Team | None = None

    def covers(self, session: Session) -> bool:
        """Whether this grant reaches `session` (read now, from the database)."""
        if session.owner_id != self.driver_id:
            return False
        if self.link is not None:
            return share_link_session(link=self.link, session_id=session.pk) is not None
        if self.team is not None:
            return Session.objects.filter(team_visible_q(team_id=self.team.pk), pk=session.pk).exists()
        return self.reason == "owner"  # the driver's own grant, not through a team: everything

    @property
    def author(self) -> str:
        """How the driver sees this grant's notes signed: the link's label, or the coach's name."""
        if self.link is not None:
            return self.link.label or "Coach"
        name = User.objects.filter(pk=self.viewer_id or 0).values_list("username", flat=True).first()
        return f"{name} ({self.team})" if name and self.team is not None else name or "Coach"

    @property
    def note_key(self) -> str:
        """Whose note allowance a note counts against: one link's, or one coach's."""
        if self.link is not None:
            return self.link.token_hash[:20]  # not the row id: ids are reused (hex: never "user:")
        return f"user:{self.viewer_id}"


@dataclass(frozen=True)
class Access:
    """What a door (a token, a saved driver, a team's driver) grants, or why not."""

    grant: Grant | None
    refusal: Refusal | None = None
    link: ShareLink | None = None  # a refused link, to say when it expired

    @property
    def ok(self) -> bool:
        return self.grant is not None and self.refusal is None


def _uid(viewer: Viewer | None) -> int | None:
    return int(viewer.pk) if viewer is not None and viewer.is_authenticated and viewer.pk else None


def _link_grant(access: ShareAccess, reason: Reason, viewer_id: int | None) -> Access:
    link = access.link
    if link is None or not access.ok:
        return Access(None, access.refusal or "unknown", link)
    return Access(Grant(reason, link.owner_id, live=True, notes=True, viewer_id=viewer_id, link=link))


def grant_by_token(token: str) -> Access:
    """A share link: an anonymous grant on what it names, for whoever holds the token."""
    return _link_grant(share_link_resolve(token=token), "share link", None)


def grant_by_coached_driver(viewer: Viewer | None, coached_driver_id: int) -> Access:
    """A saved driver: a personal grant on what the saved link names, for its coach only."""
    access = share_link_resolve(coach=viewer, coached_driver_id=coached_driver_id)
    return _link_grant(access, "coached driver", _uid(viewer))


def _team_grant(membership: Membership, driver_id: int) -> Grant:
    coach = membership.role in COACHING_ROLES
    return Grant(
        "team coach" if coach else "team member",
        driver_id,
        live=coach,
        notes=coach,
        viewer_id=membership.user_id,
        team=membership.team,
    )


def grant_by_team(viewer: Viewer | None, team_id: int, driver_id: int) -> Access:
    """A team's grant on one of its drivers, covering what the driver shares with the team:
    "unknown" unless both are in the team now."""
    uid = _uid(viewer)
    mine = Membership.objects.select_related("team").filter(team_id=team_id, user_id=uid or 0).first()
    if mine is None or not Membership.objects.filter(team_id=team_id, user_id=driver_id).exists():
        return Access(None, "unknown")
    if uid == driver_id:
        # The driver through their team's door sees what the team sees of them.
        return Access(Grant("owner", driver_id, live=True, notes=False, viewer_id=uid, team=mine.team))
    return Access(_team_grant(mine, driver_id))


def session_grants(viewer: Viewer | None, session: Session, *, token: str | None = None) -> list[Grant]:
    """Every grant through which `viewer` (or the holder of `token`) reaches `session`,
    strongest reason first."""
    uid = _uid(viewer)
    found: list[Grant] = []
    if uid is not None and session.owner_id == uid:
        found.append(Grant("owner", uid, live=True, notes=False, viewer_id=uid))
    if uid is not None:
        found += _team_grants(uid, session)
        for coached in CoachedDriver.objects.filter(coach_id=uid, share_link__owner_id=session.owner_id):
            access = grant_by_coached_driver(viewer, coached.pk)
            if access.grant is not None and access.ok and access.grant.covers(session):
                found.append(access.grant)
    if token is not None:
        access = grant_by_token(token)
        if access.grant is not None and access.ok and access.grant.covers(session):
            found.append(access.grant)
    return sorted(found, key=lambda g: REASONS.index(g.reason))


def _team_grants(uid: int, session: Session) -> list[Grant]:
    # The viewer's memberships in teams the driver is in too; each covers what is shared there.
    driver_in = Membership.objects.filter(team_id=OuterRef("team_id"), user_id=session.owner_id)
    mine = Membership.objects.select_related("team").filter(Exists(driver_in), user_id=uid)
    grants = [_team_grant(m, session.owner_id) for m in mine if m.user_id != session.owner_id]
    return [g for g in grants if g.covers(session)]


def session_access(viewer: Viewer | None, session: Session, *, token: str | None = None) -> Grant | None:
    """The strongest grant through which `viewer` reaches `session`; None: not at all."""
    grants = session_grants(viewer, session, token=token)
    return grants[0] if grants else None


def why(viewer: Viewer | None, session: Session, *, token: str | None = None) -> Reason | None:
    """Why `viewer` may see `session` (owner, team coach, ...); None when they may not."""
    grant = session_access(viewer, session, token=token)
    return grant.reason if grant is not None else None


def may_see(viewer: Viewer | None, session: Session, *, token: str | None = None) -> bool:
    return session_access(viewer, session, token=token) is not None


def may_watch_live(viewer: Viewer | None, session: Session, *, token: str | None = None) -> bool:
    """Whether `viewer` may watch `session` live: it is live and a grant allows watching."""
    if session.state != Session.State.LIVE:
        return False
    return any(g.live for g in session_grants(viewer, session, token=token))


def note_grant(viewer: Viewer | None, session: Session, *, token: str | None = None) -> Grant | None:
    """The grant a note (or cue) to the driver of `session` goes out under; None: refused."""
    if session.state != Session.State.LIVE:
        return None
    return next((g for g in session_grants(viewer, session, token=token) if g.notes), None)


def may_send_notes(viewer: Viewer | None, session: Session, *, token: str | None = None) -> bool:
    """Whether `viewer` may send notes or cues to the driver of `session`, live now: a team
    coach, a coached driver's coach or a share link's holder (never a team member, nor the
    driver, who sees the live page already)."""
    return note_grant(viewer, session, token=token) is not None


def driver_grants(viewer: Viewer | None, driver_id: int) -> list[Grant]:
    """Every grant `viewer` holds on `driver_id`'s sessions (a viewer and a driver)."""
    uid = _uid(viewer)
    if uid is None:
        return []
    if uid == driver_id:
        return [Grant("owner", uid, live=True, notes=False, viewer_id=uid)]
    driver_in = Membership.objects.filter(team_id=OuterRef("team_id"), user_id=driver_id)
    mine = Membership.objects.select_related("team").filter(Exists(driver_in), user_id=uid)
    grants = [_team_grant(m, driver_id) for m in mine]
    for coached in CoachedDriver.objects.filter(coach_id=uid, share_link__owner_id=driver_id):
        access = grant_by_coached_driver(viewer, coached.pk)
        if access.grant is not None and access.ok:
            grants.append(access.grant)
    return sorted(grants, key=lambda g: REASONS.index(g.reason))


def live_session_for(grant: Grant, session_id: int | None = None) -> Session | None:
    """The live session a grant shows now (or `session_id`, only if the grant covers it)."""
    if grant.link is not None:
        return share_link_session(link=grant.link, session_id=session_id)
    if grant.team is not None:
        return team_live_session(team_id=grant.team.pk, driver_id=grant.driver_id, session_id=session_id)
    sessions = Session.objects.select_related("track", "car").filter(
        owner_id=grant.driver_id, state=Session.State.LIVE
    )
    if session_id is not None:
        sessions = sessions.filter(pk=session_id)
    return sessions.order_by("-started_at").first()


def still_covers(grant: Grant, session_id: int) -> bool:
    """Whether a socket opened through `grant` may go on showing `session_id`, ended or not:
    a link shows what it opened until the link itself goes (its own state decides); a team
    grant only while the driver still shares the session with the team."""
    if grant.team is None:
        return True
    visible = Session.objects.filter(team_visible_q(team_id=grant.team.pk), pk=session_id)
    return visible.filter(owner_id=grant.driver_id).exists()


def readable_session_ids(user_id: int) -> QuerySet[Session, int]:
    """The `events.shared_sessions` answer: ids of other drivers' sessions `user_id` may read
    on the archive pages, i.e. those shared with a team they are in (coach or member alike).

    A share link's session is read through its own pages (`/s/<token>/`), not the archive."""
    return shared_session_ids(user_id)


def team_drivers_shared(team: Team, exclude_id: int | None) -> QuerySet[Membership]:
    """Members of `team` who share something with it (their default, or one session)."""
    explicit = SessionShare.objects.filter(
        team_id=team.pk, shared=True, session__owner_id=OuterRef("user_id")
    )
    members: QuerySet[Membership] = Membership.objects.select_related("user").filter(team=team)
    shared = members.filter(share_by_default=True) | members.filter(Exists(explicit))
    return shared.exclude(user_id=exclude_id or 0).order_by("user__username")


@dataclass(frozen=True)
class CoachedRow:
    """One driver on "Drivers I coach": saved through a link, or a driver of a team I coach."""

    name: str
    via: str  # what the grant is: the link's kind, or the team
    grant: Grant | None  # None: the saved link no longer works (`refusal` says why)
    refusal: Refusal | None
    live_session: Session | None
    coached: CoachedDriver | None = None
    team: Team | None = None
    driver_id: int | None = None


def coached_rows(viewer: Viewer | None) -> list[CoachedRow]:
    """Everyone `viewer` coaches, in one list: saved drivers (personal grants), then the
    drivers who share with a team the viewer coaches in (team grants), each with what is live."""
    uid = _uid(viewer)
    if uid is None:
        return []
    rows = []
    for coached in CoachedDriver.objects.filter(coach_id=uid).select_related("share_link"):
        access = grant_by_coached_driver(viewer, coached.pk)
        live = live_session_for(access.grant) if access.grant is not None and access.ok else None
        via = coached.share_link.get_kind_display()
        rows.append(CoachedRow(coached.nickname, via, access.grant, access.refusal, live, coached=coached))
    coaching = Membership.objects.select_related("team").filter(user_id=uid, role__in=COACHING_ROLES)
    for mine in coaching.order_by("team__name"):
        for member in team_drivers_shared(mine.team, exclude_id=uid):
            grant = _team_grant(mine, member.user_id)
            name, via = member.user.get_username(), f"Team {mine.team.name}"
            rows.append(
                CoachedRow(
                    name, via, grant, None, live_session_for(grant), team=mine.team, driver_id=member.user_id
                )
            )
    return rows
