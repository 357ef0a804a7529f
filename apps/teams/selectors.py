"""Reads of teams: who may see what, leaderboards, a team's activity, chosen reference laps."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404
from django.utils import timezone

from apps.accounts.lib.tokens import token_hash
from apps.sessions.lib.stats import is_green, is_timed_whole, lap_value
from apps.sessions.models import Car, Lap, Session, Track
from apps.sessions.selectors import lap_get_for_user, session_readable_q

from .models import (
    Invitation,
    LiveReference,
    Membership,
    SessionBest,
    SessionShare,
    SiteLeaderboardOptIn,
    Team,
)

TEAM_INVITE_PREFIX = "sc_team_"  # noqa: S105 - a public prefix, not a secret

# --------------------------------------------------------------------------- access


def _uid(user: User | AnonymousUser) -> int:
    # An anonymous visitor's id matches no row (ids start at 1).
    return int(user.pk or 0)


def team_list_for_user(*, user: User | AnonymousUser) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user_id=_uid(user)).order_by("name")


def membership_get_for_user(*, user: User | AnonymousUser, team_id: int, manage: bool = False) -> Membership:
    """The one access check for a team: a non-member gets a 404 (the team's existence is not
    told); with `manage`, a member who is not owner or manager gets a 403."""
    membership = (
        Membership.objects.select_related("team").filter(team_id=team_id, user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such team")
    if manage and not membership.can_manage:
        raise PermissionDenied("Only the team's owner and managers may do that")
    return membership


def member_get(*, team: Team, membership_id: int) -> Membership:
    member = Membership.objects.select_related("user").filter(team=team, pk=membership_id).first()
    if member is None:
        raise Http404("No such member")
    return member


def invitation_get(*, team: Team, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.filter(team=team, pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def invitation_by_token(*, token: str) -> Invitation | None:
    """A usable link invitation by its token; None for unknown, revoked or expired ones."""
    if not token.startswith(TEAM_INVITE_PREFIX) or len(token) > 200:
        return None
    invitation = Invitation.objects.select_related("team").filter(token_hash=token_hash(token)).first()
    return invitation if invitation is not None and invitation.is_usable() else None


def invitation_for_user(*, user: User | AnonymousUser, invitation_id: int) -> Invitation:
    """A username invitation addressed to `user`; anyone else's is a 404."""
    invitation = (
        Invitation.objects.select_related("team").filter(pk=invitation_id, invited_user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if invitation is None or not invitation.is_usable():
        raise Http404("No such invitation")
    return invitation


def invitation_list_pending(*, user: User | AnonymousUser) -> list[Invitation]:
    qs = Invitation.objects.select_related("team", "created_by").filter(invited_user_id=user.pk)
    return [i for i in qs if i.is_usable()]


def invitation_list(*, team: Team) -> list[Invitation]:
    return [i for i in Invitation.objects.filter(team=team).select_related("invited_user") if i.is_usable()]


# --------------------------------------------------------------------------- what is shared


def _shared_in_team(team_ids: Any) -> Exists:
    """Sessions (the outer query) whose owner is a member of one of `team_ids` and shared them
    there: an explicit share, or the member's default when the session has no explicit row.
    Leaving a team deletes the membership, so nothing of the driver's stays visible there."""
    explicit = SessionShare.objects.filter(session_id=OuterRef(OuterRef("pk")), team_id=OuterRef("team_id"))
    owner_memberships = Membership.objects.filter(user_id=OuterRef("owner_id"), team_id__in=team_ids).filter(
        Exists(explicit.filter(shared=True)) | (Q(share_by_default=True) & ~Exists(explicit))
    )
    return Exists(owner_memberships)


def shared_session_ids(user_id: int) -> QuerySet[Session, int]:
    """Ids of the sessions shared with any team `user_id` is in (the sessions access hook)."""
    mine = Membership.objects.filter(user_id=user_id).values("team_id")
    return Session.objects.filter(_shared_in_team(mine)).values_list("pk", flat=True)


def team_visible_q(*, team_id: int, prefix: str = "") -> Q:
    """`_shared_in_team` for one team, as four flat id lists a planner joins quickly: a
    member's session shared explicitly, or by their default unless hidden explicitly."""
    members = Membership.objects.filter(team_id=team_id)
    shares = SessionShare.objects.filter(team_id=team_id)
    owner, pk = f"{prefix}owner_id__in", f"{prefix}pk__in"
    by_default = Q(**{owner: members.filter(share_by_default=True).values("user_id")}) & ~Q(
        **{pk: shares.filter(shared=False).values("session_id")}
    )
    explicit = Q(**{pk: shares.filter(shared=True).values("session_id")}) & Q(
        **{owner: members.values("user_id")}
    )
    return by_default | explicit


def team_live_session(*, team_id: int, driver_id: int, session_id: int | None = None) -> Session | None:
    """The driver's newest live session shared with the team (or `session_id`, if it is one)."""
    sessions = Session.objects.select_related("track", "car").filter(
        team_visible_q(team_id=team_id), owner_id=driver_id, state=Session.State.LIVE, source="live"
    )
    if session_id is not None:
        sessions = sessions.filter(pk=session_id)
    return sessions.order_by("-started_at").first()


def team_driver_sessions(*, team_id: int, driver_id: int, limit: int = 100) -> QuerySet[Session]:
    """What one driver shares with the team, newest first."""
    sessions = Session.objects.select_related("track", "car").filter(
        team_visible_q(team_id=team_id), owner_id=driver_id
    )
    return sessions.order_by("-started_at")[:limit]


def team_session_ids(*, team: Team) -> QuerySet[Session, int]:
    return Session.objects.filter(team_visible_q(team_id=team.pk)).values_list("pk", flat=True)


def session_shares_for_driver(*, membership: Membership, limit: int = 50) -> list[dict[str, Any]]:
    """The driver's recent sessions and whether each is shared with the team (explicit or default)."""
    sessions = list(
        Session.objects.filter(owner_id=membership.user_id)
        .select_related("track", "car")
        .order_by("-started_at")[:limit]
    )
    explicit = dict(
        SessionShare.objects.filter(team_id=membership.team_id, session__in=sessions).values_list(
            "session_id", "shared"
        )
    )
    return [
        {
            "session": s,
            "shared": explicit.get(s.pk, membership.share_by_default),
            "explicit": s.pk in explicit,
        }
        for s in sessions
    ]


# --------------------------------------------------------------------------- leaderboards


def green_lap_q() -> Q:
    """The green-lap rule of `apps.sessions.lib.stats.is_green`, as a database filter.

    It narrows the rows; the chosen laps are checked again with `is_green` itself, so a flag
    the database reads differently (a 1 for true) can drop a row, never list a wrong one."""
    return (
        Q(time_ms__gt=0, valid=True, is_in_lap=False, is_out_lap=False)
        & (Q(stats__timing__isnull=True) | ~Q(stats__timing="untimed"))
        & (Q(stats__partial__isnull=True) | Q(stats__partial=False))
        & (Q(stats__complete__isnull=True) | ~Q(stats__complete=False))
    )


PERIODS: dict[str, dt.timedelta | None] = {
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
    "365d": dt.timedelta(days=365),
    "all": None,
}


# Track-temperature bands a board can be narrowed to, in °C: [low, high). A session without
# recorded conditions is in none of them.
TRACK_TEMPS: Final[dict[str, tuple[float | None, float | None]]] = {
    "cool": (None, 20.0),
    "mild": (20.0, 30.0),
    "warm": (30.0, 40.0),
    "hot": (40.0, None),
}


class LeaderboardError(Exception):
    """A leaderboard that cannot be asked for (bad filter); the message says why."""


@dataclass(frozen=True)
class LeaderboardQuery:
    track_id: int
    car_id: int | None = None
    car_class: str = ""
    team_id: int | None = None  # None: the site-wide board
    game: str = ""
    period: str = "all"
    kind: str = ""
    track_temp: str = ""  # a TRACK_TEMPS band, or "" for any conditions


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    lap: Lap
    driver: str
    driver_id: int
    time_ms: int
    gap_ms: int
    sector_ms: list[int]
    date: dt.datetime
    car: str
    track_temp_c: float | None


@dataclass(frozen=True)
class Leaderboard:
    track: Track
    query: LeaderboardQuery
    rows: list[LeaderboardRow]
    mine: LeaderboardRow | None
    my_best_lap_id: int | None


MAX_ROWS = 100


def leaderboard_scopes(*, user: User | AnonymousUser) -> list[tuple[str, str]]:
    """What the scope filter offers: the user's teams, and the site if the admin allows it."""
    scopes = [(str(t.pk), t.name) for t in team_list_for_user(user=user)]
    return ([("site", "Whole site")] if settings.SITE_LEADERBOARD else []) + scopes


def _visible(user: User | AnonymousUser, query: LeaderboardQuery) -> Q:
    if query.team_id is None:
        if not settings.SITE_LEADERBOARD:
            raise LeaderboardError("this site has no site-wide leaderboard; choose a team")
        opted = SiteLeaderboardOptIn.objects.values("user_id")
        return Q(session__owner_id__in=opted)
    membership_get_for_user(user=user, team_id=query.team_id)  # 404 for a non-member
    return team_visible_q(team_id=query.team_id, prefix="session__")


def _candidates(user: User | AnonymousUser, query: LeaderboardQuery) -> QuerySet[SessionBest]:
    qs = SessionBest.objects.filter(_visible(user, query), session__track_id=query.track_id)
    return _session_filters(qs, query)


def _session_filters(qs: QuerySet[SessionBest], query: LeaderboardQuery) -> QuerySet[SessionBest]:
    if query.car_id is not None:
        qs = qs.filter(session__car_id=query.car_id)
    elif query.car_class:
        qs = qs.filter(session__car__car_class=query.car_class)
    else:
        raise LeaderboardError("choose a car or a car class")
    if query.game:
        qs = qs.filter(session__game=query.game)
    if query.kind:
        qs = qs.filter(session__kind=query.kind)
    if query.period not in PERIODS:
        raise LeaderboardError(f"period is one of {', '.join(PERIODS)}")
    since = PERIODS[query.period]
    if since is not None:
        qs = qs.filter(session__started_at__gte=timezone.now() - since)
    return _conditions_filter(qs, query.track_temp)


def _conditions_filter(qs: QuerySet[SessionBest], band: str) -> QuerySet[SessionBest]:
    if not band:
        return qs
    if band not in TRACK_TEMPS:
        raise LeaderboardError(f"track_temp is one of {', '.join(TRACK_TEMPS)}")
    low, high = TRACK_TEMPS[band]
    if low is not None:
        qs = qs.filter(session__track_temp_c__gte=low)
    if high is not None:
        qs = qs.filter(session__track_temp_c__lt=high)
    return qs.exclude(session__track_temp_c=None)


def leaderboard(*, user: User | AnonymousUser, query: LeaderboardQuery) -> Leaderboard:
    """Best green lap per driver on a track and car (or class), fastest first.

    A driver's best is the fastest of their sessions' bests (`SessionBest`, kept by the one
    rule of `lib.stats`); ties go to the lap set first. One ranking query returns ids only;
    the 100 shown (and the viewer's own row, wherever it ranks) are then read in one more."""
    track = Track.objects.filter(pk=query.track_id).first()
    if track is None:
        raise LeaderboardError("no such track")
    order = [F("time_ms").asc(), F("set_at").asc(), F("lap_id").asc()]
    ranked = list(
        _candidates(user, query)
        .annotate(
            owner=F("session__owner_id"),
            n=Window(RowNumber(), partition_by=[F("session__owner_id")], order_by=order),
        )
        .filter(n=1)
        .order_by(*order)
        .values_list("lap_id", "owner")
    )
    wanted = [lap_id for i, (lap_id, owner) in enumerate(ranked) if i < MAX_ROWS + 5 or owner == user.pk]
    laps = Lap.objects.select_related("session__owner", "session__car").in_bulk(wanted)
    rows: list[LeaderboardRow] = []
    mine, dropped = None, 0
    for i, (lap_id, owner) in enumerate(ranked):
        lap = laps.get(lap_id)
        if lap is None:
            continue  # not read: below the shown rows and not the viewer's
        if not is_green(lap_value(lap)):
            dropped += 1  # a lap changed after it was stored: never listed (the rule has the last word)
            continue
        row = _row(i + 1 - dropped, lap, rows[0].time_ms if rows else lap.time_ms or 0)
        if owner == user.pk:
            mine = row
        if len(rows) < MAX_ROWS:
            rows.append(row)
    return Leaderboard(track, query, rows, mine, my_best_lap_id(user=user, query=query))


def _row(rank: int, lap: Lap, leader_ms: int) -> LeaderboardRow:
    time_ms = lap.time_ms or 0
    return LeaderboardRow(
        rank=rank,
        lap=lap,
        driver=lap.session.owner.get_username(),
        driver_id=lap.session.owner_id,
        time_ms=time_ms,
        gap_ms=time_ms - leader_ms,
        sector_ms=[int(s) for s in lap.sector_ms or []],
        date=lap.ended_at,
        car=lap.session.car.name,
        track_temp_c=lap.session.track_temp_c,
    )


def my_best_lap_id(*, user: User | AnonymousUser, query: LeaderboardQuery) -> int | None:
    """The viewer's own best green lap on the board's track and car: "compare with mine"."""
    if not user.is_authenticated:
        return None
    mine = SessionBest.objects.filter(session__owner_id=user.pk, session__track_id=query.track_id)
    try:
        mine = _session_filters(mine, LeaderboardQuery(query.track_id, query.car_id, query.car_class))
    except LeaderboardError:
        return None
    best = mine.order_by("time_ms", "set_at", "lap_id").first()
    return best.lap_id if best is not None else None


def leaderboard_choices(*, user: User | AnonymousUser) -> dict[str, list[tuple[Any, str]]]:
    """What the filter offers: tracks, cars and classes of sessions the user may see on a
    board (their own, shared with them, and opted-in drivers' if the site has a site board),
    so the lists tell nobody what others drive in private."""
    seen = Q(pk__in=Session.objects.filter(session_readable_q(user=user)).values("pk"))
    if settings.SITE_LEADERBOARD:
        seen |= Q(owner_id__in=SiteLeaderboardOptIn.objects.values("user_id"))
    sessions = Session.objects.filter(seen)
    tracks = Track.objects.filter(pk__in=sessions.values("track_id")).order_by("name")
    cars = Car.objects.filter(pk__in=sessions.values("car_id")).order_by("name")
    classes = cars.exclude(car_class="").order_by("car_class").values_list("car_class", flat=True).distinct()
    return {
        "track": [(t.pk, f"{t.name} ({t.game})") for t in tracks],
        "car": [(c.pk, f"{c.name} ({c.game})") for c in cars],
        "car_class": [(c, c) for c in classes],
        "scope": leaderboard_scopes(user=user),
    }


# --------------------------------------------------------------------------- activity


@dataclass(frozen=True)
class ActivityItem:
    when: dt.datetime
    what: str  # "session", "personal best", "record"
    driver: str
    session: Session
    lap: Lap | None = None


def team_activity(*, team: Team, limit: int = 30) -> list[ActivityItem]:
    """Recent shared sessions, and the personal bests and team records set in them, newest first.

    Read from the sessions' best laps (one row a session, not every lap): a session's best
    is a personal best when it beats the driver's earlier sessions on that track and car
    (over what they shared with the team), a record when it beats the whole team's."""
    shared = Session.objects.filter(pk__in=team_session_ids(team=team)).select_related(
        "owner", "track", "car"
    )
    items = [
        ActivityItem(s.started_at, "session", s.owner.get_username(), s)
        for s in shared.order_by("-started_at")[:limit]
    ]
    bests = SessionBest.objects.filter(session__in=shared).select_related(
        "lap", "session__owner", "session__track", "session__car"
    )
    personal: dict[tuple[int, int, int], int] = {}
    record: dict[tuple[int, int], int] = {}
    for best in bests.order_by("set_at", "lap_id"):
        s, lap = best.session, best.lap
        if not is_green(lap_value(lap)):
            continue
        key, mine = (s.track_id, s.car_id), (s.track_id, s.car_id, s.owner_id)
        if best.time_ms < record.get(key, best.time_ms + 1):
            items.append(ActivityItem(best.set_at, "record", s.owner.get_username(), s, lap))
        elif best.time_ms < personal.get(mine, best.time_ms + 1):
            items.append(ActivityItem(best.set_at, "personal best", s.owner.get_username(), s, lap))
        record[key] = min(best.time_ms, record.get(key, best.time_ms))
        personal[mine] = min(best.time_ms, personal.get(mine, best.time_ms))
    return sorted(items, key=lambda i: i.when, reverse=True)[:limit]


# --------------------------------------------------------------------------- live reference


def live_reference_lap_id(owner_id: int, track_id: int, car_id: int) -> int | None:
    """The live-reference hook: the chosen lap, only while the driver may still read it and it
    is timed and whole (a team mate who left takes their lap with them)."""
    chosen = LiveReference.objects.filter(user_id=owner_id, track_id=track_id, car_id=car_id).first()
    if chosen is None:
        return None
    user = User.objects.filter(pk=owner_id, is_active=True).first()
    if user is None:
        return None
    try:
        lap = lap_get_for_user(user=user, lap_id=chosen.lap_id, shared=True)
    except Http404:
        return None
    return lap.pk if is_timed_whole(lap_value(lap)) else None


def live_reference_list(*, user: User | AnonymousUser) -> QuerySet[LiveReference]:
    return LiveReference.objects.filter(user_id=_uid(user)).select_related(
        "track", "car", "lap", "lap__session__owner"
    )


def live_reference_get_for_user(*, user: User | AnonymousUser, reference_id: int) -> LiveReference:
    ref = LiveReference.objects.filter(pk=reference_id, user_id=_uid(user)).first()
    if ref is None:
        raise Http404("No such reference")
    return ref
