from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from apps.sessions.lib.stats import best_lap, is_timed_whole, lap_value
from apps.sessions.models import Car, Lap, Session, Track
from simcoach_site.lib.units import STORED, Units

from .lib.history import (
    ANALYSIS_VERSION,
    CornerHistory,
    CornerMeasure,
    SessionLaps,
    corner_history,
    measure_of,
)
from .lib.report_text import render_sections
from .models import FocusCorner, Report


def report_latest_for_session(*, session: Session) -> Report | None:
    """The newest report of a session (the caller has already checked the session's owner)."""
    return Report.objects.filter(session=session).first()


def report_dict(report: Report | None) -> dict[str, Any] | None:
    """A report as the polling panel and the API see it."""
    if report is None:
        return None
    return {
        "id": report.pk,
        "request_id": str(report.request_id),
        "status": report.status,
        "active": report.is_active,
        "trigger": report.trigger,
        "source": report.source,
        "model": report.model,
        "prompt_version": report.prompt_version,
        "tokens_in": report.tokens_in,
        "tokens_out": report.tokens_out,
        "cost_usd": float(report.cost_usd) if report.cost_usd is not None else None,
        # Numbers are rendered from the facts here, in the reader's units: the stored text
        # holds fact ids ({best_lap}), never a number the model wrote.
        "sections": render_sections(report.sections, report.facts or {}),
        "flagged": report.flagged,
        "error": report.error,
        "created_at": report.created_at.isoformat(),
        "updated_at": report.updated_at.isoformat(),
    }


def lap_ids_unanalysed(*, older_than_s: int) -> list[int]:
    """Laps that finished a while ago and still have no stored analysis, or one of an older
    version (without what corner history reads)."""
    cutoff = timezone.now() - dt.timedelta(seconds=older_than_s)
    return list(
        Lap.objects.filter(ended_at__lt=cutoff)
        # A missing key compares as NULL in SQL: asked for on its own, not left to NOT (=).
        .filter(~Q(stats__analysis__version=ANALYSIS_VERSION) | Q(stats__analysis__version__isnull=True))
        .values_list("pk", flat=True)[:500]
    )


def session_ids_report_ready(session_ids: list[int]) -> set[int]:
    """Ids among `session_ids` with a ready report (sessions' list asks through events.ready_reports)."""
    ready = Report.objects.filter(session_id__in=session_ids, status=Report.Status.READY)
    return set(ready.values_list("session_id", flat=True))


# --------------------------------------------------------------------------- corner history


def lap_corner_measures(lap: Lap, names: list[str]) -> dict[str, CornerMeasure] | None:
    # Only laps measured on the track's current corner set: a lap analysed before the set
    # existed (or before the corner measures) names other corners and is left out.
    analysis = lap.stats.get("analysis") if isinstance(lap.stats, dict) else None
    if not isinstance(analysis, dict) or analysis.get("corner_set") != names:
        return None
    stored = analysis.get("corner_measures")
    if not isinstance(stored, dict):
        return None
    return measure_of(stored, analysis.get("corners") or [])


def corner_history_for(
    *, owner_id: int, track: Track, car: Car, until: Session | None = None
) -> list[CornerHistory]:
    """Per corner of the track's set, the driver's numbers in each session with this car,
    oldest first; `until` stops at that session (a report sees only its past).

    Green laps only (`apps.sessions.lib.stats`), from their stored analyses. The reference
    is the driver's marked reference lap here, else their fastest green lap here.
    """
    names = [c["name"] for c in track.corners if isinstance(c, dict) and "name" in c]
    sessions = Session.objects.filter(owner_id=owner_id, track=track, car=car).order_by("started_at", "pk")
    if until is not None:
        sessions = sessions.filter(started_at__lte=until.started_at)
    laps = Lap.objects.filter(session__in=sessions).only(
        "pk", "session_id", "number", "time_ms", "sector_ms", "valid", "is_in_lap", "is_out_lap",
        "stats", "fuel_used_l", "is_reference",
    )  # fmt: skip
    by_session: dict[int, list[tuple[Lap, dict[str, CornerMeasure]]]] = {}
    for lap in laps:
        value = lap_value(lap)
        measures = lap_corner_measures(lap, names)
        if measures is not None and (value.green or (lap.is_reference and is_timed_whole(value))):
            by_session.setdefault(lap.session_id, []).append((lap, measures))
    rows = [
        SessionLaps(
            s.pk, s.started_at.date().isoformat(), [m for lap, m in by_session[s.pk] if lap_value(lap).green]
        )
        for s in sessions
        if s.pk in by_session
    ]
    return corner_history(rows, names, _reference(by_session))


def _reference(by_session: dict[int, list[tuple[Lap, dict[str, CornerMeasure]]]]) -> dict[str, CornerMeasure]:
    pairs = [pair for laps in by_session.values() for pair in laps]
    marked = [m for lap, m in pairs if lap.is_reference]
    if marked:
        return marked[-1]
    fastest = best_lap(lap_value(lap) for lap, _ in pairs)
    return next((m for lap, m in pairs if fastest is not None and lap.pk == fastest.key), {})


def focus_open_for(*, owner_id: int, track_id: int, car_id: int) -> list[FocusCorner]:
    """The driver's open focus corners at this track with this car, oldest first."""
    return list(
        FocusCorner.objects.filter(
            owner_id=owner_id, track_id=track_id, car_id=car_id, status=FocusCorner.Status.OPEN
        )
    )


def focus_list_for_user(*, owner_id: int) -> list[FocusCorner]:
    return list(FocusCorner.objects.filter(owner_id=owner_id).select_related("track", "car"))


def progress_combos(*, owner_id: int) -> list[tuple[Track, Car, int]]:
    """(track, car, sessions) the driver has driven, most sessions first."""
    from django.db.models import Count

    rows = (
        Session.objects.filter(owner_id=owner_id)
        .values("track_id", "car_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    tracks = Track.objects.in_bulk([r["track_id"] for r in rows])
    cars = Car.objects.in_bulk([r["car_id"] for r in rows])
    return [(tracks[r["track_id"]], cars[r["car_id"]], r["n"]) for r in rows]


class ProgressQueryError(ValueError):
    """A bad ?track= or ?car= on the progress page or API (shown with a 400)."""


@dataclass(frozen=True)
class Progress:
    """What the progress page and API show: the chosen track and car, the others driven, the
    corner history and the focus corners."""

    track: Track | None
    car: Car | None
    choices: list[tuple[Track, Car, int]]
    corners: list[CornerHistory] = field(default_factory=list)
    focus: list[FocusCorner] = field(default_factory=list)


def _id(raw: str | None, what: str) -> int | None:
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise ProgressQueryError(f"{what} must be a track or car id (a whole number), not {raw[:40]!r}")
    return int(raw)


def progress_for_user(*, user_id: int, track: str | None, car: str | None) -> Progress:
    """The driver's progress at a track with a car; without both, their most-driven pair.
    A track or car the driver has never driven gives an empty history (never another's)."""
    track_id, car_id = _id(track, "track"), _id(car, "car")
    choices = progress_combos(owner_id=user_id)
    pick = next(
        (
            (t, c)
            for t, c, _ in choices
            if (track_id is None or t.pk == track_id) and (car_id is None or c.pk == car_id)
        ),
        None,
    )
    if pick is None:
        return Progress(None, None, choices)
    t, c = pick
    corners = corner_history_for(owner_id=user_id, track=t, car=c)
    focus = list(FocusCorner.objects.filter(owner_id=user_id, track=t, car=c).order_by("-status", "pk"))
    return Progress(t, c, choices, corners, focus)


def progress_dict(progress: Progress, units: Units = STORED) -> dict[str, Any]:
    from .lib.history import weakest

    return {
        "track": {"id": progress.track.pk, "name": progress.track.name} if progress.track else None,
        "car": {"id": progress.car.pk, "name": progress.car.name} if progress.car else None,
        "choices": [
            {"track_id": t.pk, "car_id": c.pk, "track": t.name, "car": c.name, "sessions": n}
            for t, c, n in progress.choices
        ],
        "corners": [h.to_dict(units) for h in progress.corners],
        "weakest": [{"corner": h.name, "lost_s": h.now.lost_s} for h in weakest(progress.corners) if h.now],
        "focus": [focus_dict(f) for f in progress.focus],
    }


def focus_dict(focus: FocusCorner) -> dict[str, Any]:
    return {
        "id": focus.pk,
        "corner": focus.corner,
        "kind": focus.kind,
        "target": focus.target,
        "unit": focus.unit,
        "baseline": focus.baseline,
        "status": focus.status,
        "opened_in": focus.opened_in_id,
        "closed_in": focus.closed_in_id,
    }


def focus_live_rows(focus: list[FocusCorner]) -> list[dict[str, Any]]:
    """Open focus corners with their corner's extent (m), for the live page's on-track check."""
    out = []
    for f in focus:
        extent = next((c for c in f.track.corners if isinstance(c, dict) and c.get("name") == f.corner), None)
        row = {"focus": f, "start_m": None, "apex_m": None, "end_m": None}
        if extent is not None:
            row.update({k: extent.get(k) for k in ("start_m", "apex_m", "end_m")})
        out.append(row)
    return out
