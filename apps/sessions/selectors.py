from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from apps.traces.selectors import lap_trace
from simcoach_site.events import ready_reports, shared_sessions

from .lib.stats import LapValue, SessionStats, best_lap, is_best_sector, is_green, lap_value, session_stats
from .models import Lap, Session


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


def session_live_for_user(*, user: User | AnonymousUser) -> Session | None:
    """The user's most recent live session, which the /live/ page follows."""
    if not user.is_authenticated:
        return None
    return (
        Session.objects.select_related("track", "car")
        .filter(owner_id=user.pk, state=Session.State.LIVE, source="live")
        .order_by("-started_at")
        .first()
    )


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
    if "pos_x" not in trace or len(trace["t"]) < 10:
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
