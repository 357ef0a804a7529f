from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.selectors import rig_list
from apps.traces.lib.columns import has_values
from apps.traces.selectors import lap_trace
from simcoach_site.events import ready_reports, shared_sessions

from .lib.stats import LapValue, SessionStats, best_lap, is_best_sector, is_green, lap_value, session_stats
from .models import Import, Lap, Session


def session_readable_q(*, user: User | AnonymousUser, prefix: str = "") -> Q:
    """Sessions `user` may read: their own, and with `shared` those a team mate shared with them
    (answered by the sharing app through `events.shared_sessions`). `prefix` is the path to
    the session from the model queried ("session__" for laps)."""
    own = Q(**{f"{prefix}owner_id": user.pk})
    shared = shared_sessions(user.pk) if user.is_authenticated else None
    return own if shared is None else own | Q(**{f"{prefix}pk__in": shared})


def session_get_for_user(*, user: User | AnonymousUser, session_id: int, shared: bool = False) -> Session:
    """The one access check for sessions: someone else's session is a 404, never a 403.

    `shared=True` for read-only views that also serve sessions shared with the user (a team
    mate's); writes and exports keep the default, owner only."""
    readable = session_readable_q(user=user) if shared else Q(owner_id=user.pk)
    session = (
        Session.objects.select_related("track", "car", "rig").filter(readable, pk=session_id).first()
        if user.is_authenticated
        else None
    )
    if session is None:
        raise Http404("No such session")
    return session


# A rig whose newest frame is this recent is "streaming" (frame times come from the rig's
# clock: a few seconds also cover a batch in flight and a rig clock slightly off).
STREAMING_WITHIN_S = 5.0
# A live session silent this long is shown as ended, long before the 600 s sweep ends it: the
# agent was killed or lost its network (a clean stop ends it at once, with `end`).
STALE_AFTER_S = 60.0

RigState = Literal["streaming", "idle", "offline"]


@dataclass(frozen=True)
class RigLive:
    """One of the user's rigs as the /live/ picker shows it."""

    rig_id: int
    name: str
    state: RigState
    session_id: int | None  # its live session, unless offline
    last_frame_at: dt.datetime | None  # of its newest live session

    def as_json(self) -> dict[str, object]:
        return {"id": self.rig_id, "name": self.name, "state": self.state, "session_id": self.session_id}


def rig_live_list(*, user: User | AnonymousUser, now: dt.datetime | None = None) -> list[RigLive]:
    """Each of the user's rigs with its state: streaming (frames in the last few seconds),
    idle (a live session, no frames lately) or offline (no live session, or a stale one)."""
    if not user.is_authenticated:
        return []
    now = now or timezone.now()
    rigs = list(rig_list(user=user).order_by("name", "pk"))
    newest: dict[int, Session] = {}
    live = Session.objects.filter(
        owner_id=user.pk, state=Session.State.LIVE, source="live", rig_id__in=[r.pk for r in rigs]
    ).order_by("-started_at")
    for session in live.only("pk", "rig_id", "started_at", "last_frame_at"):
        assert session.rig_id is not None
        newest.setdefault(session.rig_id, session)
    return [_rig_live(rig.pk, rig.name, newest.get(rig.pk), now) for rig in rigs]


def _rig_live(rig_id: int, name: str, session: Session | None, now: dt.datetime) -> RigLive:
    if session is None:
        return RigLive(rig_id, name, "offline", None, None)
    heard = session.last_frame_at or session.started_at
    silent_s = (now - heard).total_seconds()
    if silent_s > STALE_AFTER_S:
        return RigLive(rig_id, name, "offline", None, session.last_frame_at)
    streaming = session.last_frame_at is not None and silent_s <= STREAMING_WITHIN_S
    return RigLive(rig_id, name, "streaming" if streaming else "idle", session.pk, session.last_frame_at)


def rig_to_follow(rigs: list[RigLive], *, current: int | None) -> RigLive | None:
    """The rig /live/ follows when no rig is chosen: the moving car.

    The current rig is kept while it streams (two cars on track must not make the page flip
    between them); otherwise the rig that streamed most recently, then an idle one (a session
    just opened, the car in the pits), and none when every rig is offline.
    """
    by_id = {r.rig_id: r for r in rigs}
    kept = by_id.get(current) if current is not None else None
    if kept is not None and kept.state == "streaming":
        return kept
    for state in ("streaming", "idle"):
        candidates = [r for r in rigs if r.state == state]
        if kept is not None and kept.state == state:
            return kept
        if candidates:
            never = dt.datetime.min.replace(tzinfo=dt.UTC)
            return max(candidates, key=lambda r: (r.last_frame_at or never, r.session_id or 0))
    return None


def lap_list(*, session: Session) -> QuerySet[Lap]:
    return Lap.objects.filter(session=session).order_by("number")


def lap_get_for_user(*, user: User | AnonymousUser, lap_id: int, shared: bool = False) -> Lap:
    """The one access check for laps, like `session_get_for_user` (`shared` for read-only use)."""
    readable = session_readable_q(user=user, prefix="session__") if shared else Q(session__owner_id=user.pk)
    lap = (
        Lap.objects.select_related("session", "session__track", "session__car")
        .filter(readable, pk=lap_id)
        .first()
        if user.is_authenticated
        else None
    )
    if lap is None:
        raise Http404("No such lap")
    return lap


def session_live_snapshot(*, session: Session) -> dict[str, object]:
    """What a viewer needs on connect: the session's facts and its laps so far."""
    laps = list(lap_list(session=session))
    best = best_lap(lap_value(lap) for lap in laps)
    return {
        "session_id": session.pk,
        "state": session.state,
        "game": session.game,
        "track": session.track.name,
        "track_length_m": session.track.length_m,
        "corners": session.track.corners,
        "car": session.car.name,
        "kind": session.kind,
        "best_lap_ms": best.time_ms if best else None,
        "best_lap_number": best.number if best else None,
        "laps": [lap_dict(lap) for lap in laps[-50:]],
        "outline": session_outline(session=session, laps=laps),
    }


OUTLINE_STEP_M = 10.0


def session_outline(*, session: Session, laps: list[Lap]) -> list[list[float]]:
    """[x, z, speed] every 10 m of the latest full lap, so a live map is whole from the start."""
    full = [lap for lap in laps if not lap.stats.get("partial") and not lap.is_in_lap]
    if not full:
        return []
    lap = full[-1]
    trace = lap_trace(lap=lap, channels=["pos_x", "pos_z", "lap_dist", "speed"])
    if not has_values(trace, "pos_x") or len(trace["t"]) < 10:
        return []
    bucket = (trace["lap_dist"] // OUTLINE_STEP_M).astype(int)
    _, first = np.unique(bucket, return_index=True)
    return [
        [
            round(float(trace["pos_x"][i]), 1),
            round(float(trace["pos_z"][i]), 1),
            round(float(trace["speed"][i])),
        ]
        for i in first
    ]


def lap_dict(lap: Lap) -> dict[str, object]:
    return {
        "number": lap.number,
        "time_ms": lap.time_ms,
        "sector_ms": lap.sector_ms,
        "valid": lap.valid,
        "in_lap": lap.is_in_lap,
        "out_lap": lap.is_out_lap,
        "fuel_used_l": lap.fuel_used_l,
        "green": is_green(lap_value(lap)),
    }


# --------------------------------------------------------------------------- archive


def session_list(
    *, user: User | AnonymousUser, filters: Mapping[str, Any] | None = None
) -> QuerySet[Session]:
    """The user's sessions, newest first, with their lap count, filtered.

    `filters` (all optional): game, track (id), car (id), kind, date_from/date_to (dates,
    inclusive, on the session's start). Best laps come from `sessions_best_lap_attach`, once
    the page of sessions is known.
    """
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    qs = (
        Session.objects.filter(owner_id=user.pk)
        .select_related("track", "car")
        .annotate(lap_count=Count("laps"))
        .order_by("-started_at", "-pk")
    )
    lookups = {
        "game": "game",
        "track": "track_id",
        "car": "car_id",
        "kind": "kind",
        "date_from": "started_at__date__gte",
        "date_to": "started_at__date__lte",
    }
    return qs.filter(**{lookups[k]: v for k, v in f.items() if k in lookups})


def sessions_best_lap_attach(sessions: Iterable[Session]) -> None:
    """Set `best_lap_ms` on each session: its best green lap by the one rule in lib.stats
    (a SQL aggregate would restate that rule, and JSON flags read differently per database).
    One query for the whole page."""
    rows = list(sessions)
    by_session: dict[int, list[Lap]] = {s.pk: [] for s in rows}
    for lap in Lap.objects.filter(session_id__in=list(by_session)).defer("started_at", "ended_at"):
        by_session[lap.session_id].append(lap)
    for session in rows:
        best = best_lap(lap_value(lap) for lap in by_session[session.pk])
        session.best_lap_ms = best.time_ms if best else None  # type: ignore[attr-defined]


def session_filter_choices(*, user: User | AnonymousUser) -> dict[str, list[tuple[Any, str]]]:
    """What the filter form offers: only games, tracks and cars the user has driven."""
    mine = Session.objects.filter(owner_id=user.pk)
    return {
        "game": [(g, g) for g in mine.order_by("game").values_list("game", flat=True).distinct()],
        "track": list(mine.order_by("track__name").values_list("track_id", "track__name").distinct()),
        "car": list(mine.order_by("car__name").values_list("car_id", "car__name").distinct()),
    }


def session_report_ready_ids(*, session_ids: Iterable[int]) -> set[int] | None:
    """Ids among `session_ids` with a ready report; None when this build has no reports."""
    # Reports belong to coaching, above sessions: it answers through the hook it registered.
    return ready_reports(session_ids)


def session_lap_table(*, session: Session) -> dict[str, Any]:
    """The session page's lap table and its headline numbers, by the rules of `lib.stats`."""
    laps = list(lap_list(session=session))
    values = [lap_value(lap) for lap in laps]
    stats = session_stats(values)
    return {
        "rows": [_lap_row(lap, value, stats) for lap, value in zip(laps, values, strict=True)],
        "best": next((lap for lap in laps if stats.best and lap.pk == stats.best.key), None),
        "best_sectors": stats.best_sectors,
        "theoretical_best_ms": stats.theoretical_best_ms,
        "consistency_ms": stats.consistency_ms,
        "average_ms": stats.average_ms,
        "green_count": len(stats.green),
        "sector_count": len(stats.best_sectors),
    }


def _lap_row(lap: Lap, value: LapValue, stats: SessionStats) -> dict[str, Any]:
    n = len(stats.best_sectors)
    sectors = [
        {"ms": value.sector_ms[i], "best": is_best_sector(value, i, stats.best_sectors)}
        if len(value.sector_ms) == n and n
        else None
        for i in range(n)
    ]
    tyres = [lap.stats.get(f"tyre_temp_{w}_avg") for w in ("fl", "fr", "rl", "rr")]
    return {
        "lap": lap,
        "sectors": sectors,
        "is_best": stats.best is not None and lap.pk == stats.best.key,
        "green": is_green(value),
        "untimed": value.timing == "untimed" or not value.time_ms,
        "partial": value.partial or not value.complete,
        "tyre_temps": tyres if any(t is not None for t in tyres) else None,
    }


def lap_wheels(*, lap: Lap) -> list[dict[str, object]]:
    """Per wheel, the lap's average tyre temperature (°C) and pressure (kPa) and its average
    brake temperature (°C), as `lap_analyse` stored them; [] before it has run."""
    rows = [
        {
            "wheel": wheel.upper(),
            "tyre_temp": lap.stats.get(f"tyre_temp_{wheel}_avg"),
            "tyre_press": lap.stats.get(f"tyre_press_{wheel}_avg"),
            "brake_temp": lap.stats.get(f"brake_temp_{wheel}_avg"),
        }
        for wheel in ("fl", "fr", "rl", "rr")
    ]
    return [r for r in rows if any(r[k] is not None for k in ("tyre_temp", "tyre_press", "brake_temp"))]


def import_get_for_user(*, user: User | AnonymousUser, import_id: int) -> Import:
    """The user's own import; another user's (or none) is a 404, never a 403 that confirms it exists."""
    if not user.is_authenticated:
        raise Http404("No such import")
    found = Import.objects.filter(pk=import_id, owner_id=user.pk).select_related("session").first()
    if found is None:
        raise Http404("No such import")
    return found


def import_list_recent(*, user: User | AnonymousUser, limit: int = 10) -> list[Import]:
    if not user.is_authenticated:
        return []
    recent = Import.objects.filter(owner_id=user.pk).select_related("session__track", "session__car")
    return list(recent.order_by("-pk")[:limit])
