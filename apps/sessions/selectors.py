from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404

from apps.traces.selectors import lap_trace
from simcoach_site.events import ready_reports

from .models import Lap, Session


def session_get_for_user(*, user: User | AnonymousUser, session_id: int) -> Session:
    """The one access check for sessions: someone else's session is a 404, never a 403."""
    session = (
        Session.objects.select_related("track", "car", "rig").filter(pk=session_id, owner_id=user.pk).first()
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


def lap_get_for_user(*, user: User | AnonymousUser, lap_id: int) -> Lap:
    lap = (
        Lap.objects.select_related("session", "session__track", "session__car")
        .filter(pk=lap_id, session__owner_id=user.pk)
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
    timed = [lap for lap in laps if lap.time_ms and lap.valid and not lap.is_out_lap and not lap.is_in_lap]
    best = min(timed, key=lambda lap: lap.time_ms or 0, default=None)
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
    }


# --------------------------------------------------------------------------- archive


def session_list(
    *, user: User | AnonymousUser, filters: Mapping[str, Any] | None = None
) -> QuerySet[Session]:
    """The user's sessions, newest first, with lap count and best green lap, filtered.

    `filters` (all optional): game, track (id), car (id), kind, date_from/date_to (dates,
    inclusive, on the session's start).
    """
    f = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    green = Q(laps__valid=True, laps__is_in_lap=False, laps__is_out_lap=False)
    qs = (
        Session.objects.filter(owner_id=user.pk)
        .select_related("track", "car")
        .annotate(lap_count=Count("laps"), best_lap_ms=Min("laps__time_ms", filter=green))
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


def _green(lap: Lap) -> bool:
    return bool(lap.time_ms) and lap.valid and not lap.is_in_lap and not lap.is_out_lap


def session_lap_table(*, session: Session) -> dict[str, Any]:
    """The session page's lap table and its headline numbers.

    Best sectors count valid laps only; the theoretical best is their sum (None when some
    sector has no valid time); consistency is the standard deviation of the green laps'
    times (valid, neither in- nor out-lap), in ms.
    """
    laps = list(lap_list(session=session))
    green = [lap for lap in laps if _green(lap)]
    best = min(green, key=lambda lap: lap.time_ms or 0, default=None)
    n_sectors = max((len(lap.sector_ms) for lap in laps), default=0)
    best_sectors = [
        min((lap.sector_ms[i] for lap in laps if lap.valid and len(lap.sector_ms) > i), default=None)
        for i in range(n_sectors)
    ]
    times = [float(lap.time_ms or 0) for lap in green]
    return {
        "rows": [_lap_row(lap, best_sectors, n_sectors, best) for lap in laps],
        "best": best,
        "best_sectors": best_sectors,
        "theoretical_best_ms": sum(best_sectors) if best_sectors and None not in best_sectors else None,  # type: ignore[arg-type]
        "consistency_ms": statistics.pstdev(times) if len(times) >= 2 else None,
        "sector_count": n_sectors,
    }


def _lap_row(lap: Lap, best_sectors: list[int | None], n: int, best: Lap | None) -> dict[str, Any]:
    sectors = [
        {"ms": lap.sector_ms[i], "best": lap.valid and lap.sector_ms[i] == best_sectors[i]}
        if len(lap.sector_ms) > i
        else None
        for i in range(n)
    ]
    tyres = [lap.stats.get(f"tyre_temp_{w}_avg") for w in ("fl", "fr", "rl", "rr")]
    return {
        "lap": lap,
        "sectors": sectors,
        "is_best": best is not None and lap.pk == best.pk,
        "green": _green(lap),
        "tyre_temps": tyres if any(t is not None for t in tyres) else None,
    }
