from __future__ import annotations

from typing import Any

import numpy as np
from django.db import transaction

from apps.sessions.models import Lap, Session
from apps.sessions.selectors_traces import TraceUnavailable, lap_length_m, track_info
from apps.traces.lib.analysis import detect_corners, lap_summary, resample_by_distance
from apps.traces.lib.columns import Columns
from apps.traces.selectors import lap_trace

from .lib.rules import LIVE_COACH_CHANNELS, LiveCoach, Message


def lap_analyse(*, lap_id: int) -> None:
    """Compute a lap's summary and corners from its trace once; a second run finds it done.

    Stored in `Lap.stats`: tyre/brake averages at the top level, and under "analysis" the
    lap summary and the corners detected with the track's table, so pages never recompute
    single-lap facts.
    """
    lap = Lap.objects.select_related("session", "session__track").get(pk=lap_id)
    if _analysed(lap.stats):
        return
    trace = lap_trace(lap=lap)
    summary = {**_summary(trace), "analysis": _analysis(lap, trace)}
    with transaction.atomic():
        locked = Lap.objects.select_for_update().get(pk=lap_id)
        if _analysed(locked.stats):
            return
        locked.stats = {**locked.stats, **summary, "analysed": True}
        locked.save(update_fields=["stats"])


def _analysed(stats: dict[str, object]) -> bool:
    # Laps analysed before corners were stored lack "analysis" and are done again.
    return bool(stats.get("analysed")) and "analysis" in stats


def _analysis(lap: Lap, trace: Columns) -> dict[str, object]:
    out: dict[str, object] = {"summary": _rounded(lap_summary(trace).to_dict()), "corners": []}
    if len(trace["t"]) < 2 or "lap_dist" not in trace or "speed" not in trace:
        return out
    try:
        length = lap_length_m(lap, trace)
    except TraceUnavailable:
        return out
    resampled = resample_by_distance(trace, length_m=length)
    corners = detect_corners(resampled, track=track_info(lap.session.track))
    out["length_m"] = length
    out["corners"] = [_rounded(c.to_dict()) for c in corners]
    return out


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    # Compact JSON: a millimetre, a millisecond or a thousandth of a km/h is plenty.
    def one(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: one(x) for k, x in v.items()}
        return round(v, 3) if isinstance(v, float) else v

    return {k: one(v) for k, v in values.items()}


def _summary(trace: Columns) -> dict[str, object]:
    out: dict[str, object] = {"samples": len(trace["t"])}
    if "speed" in trace and len(trace["speed"]):
        out["max_speed_kmh"] = round(float(np.nanmax(trace["speed"])), 1)
    for wheel in ("fl", "fr", "rl", "rr"):
        for stem in ("tyre_temp", "tyre_press", "brake_temp"):
            values = trace.get(f"{stem}_{wheel}")
            if values is not None and len(values) and not np.all(np.isnan(values)):
                out[f"{stem}_{wheel}_avg"] = round(float(np.nanmean(values)), 1)
    return out


def live_coach_for_session(*, session_id: int) -> LiveCoach:
    """A live coach primed with what the session already knows: its best lap and fuel use.

    Called when an agent says hello, so a reconnect keeps the live delta's reference lap.
    """
    session = Session.objects.select_related("car", "track").get(pk=session_id)
    coach = LiveCoach(car_class=session.car.car_class or "GT3", track_length_m=session.track.length_m)
    laps = _green_laps(session)
    reference = _reference_lap(session)
    # The driver's chosen reference lap, when there is one, beats the session best as the delta's target.
    best = min(laps, key=lambda lap: lap.time_ms or 0, default=None) if reference is None else None
    for lap in laps:
        trace = _coach_trace(lap) if lap == best else None
        coach.lap_completed(
            lap_number=lap.number,
            time_s=(lap.time_ms or 0) / 1000,
            valid=True,
            fuel_used_l=lap.fuel_used_l,
            in_or_out=False,
            trace=trace,
        )
    if reference is not None:
        coach.use_reference(time_s=(reference.time_ms or 0) / 1000, trace=_coach_trace(reference))
    return coach


def _reference_lap(session: Session) -> Lap | None:
    # At most one per owner, track and car (lap_reference_set keeps it so); imported or streamed.
    return (
        Lap.objects.filter(
            is_reference=True,
            time_ms__isnull=False,
            session__owner_id=session.owner_id,
            session__track_id=session.track_id,
            session__car_id=session.car_id,
        )
        .order_by("-pk")
        .first()
    )


def live_coach_lap_completed(*, coach: LiveCoach, lap_id: int) -> list[Message]:
    """Tell the live coach a lap finished, with its trace for the best-lap reference."""
    lap = Lap.objects.get(pk=lap_id)
    trace = _coach_trace(lap)
    return coach.lap_completed(
        lap_number=lap.number,
        time_s=(lap.time_ms or 0) / 1000,
        valid=lap.valid,
        fuel_used_l=lap.fuel_used_l,
        in_or_out=lap.is_in_lap or lap.is_out_lap,
        trace=trace,
    )


def _green_laps(session: Session) -> list[Lap]:
    return list(
        Lap.objects.filter(
            session=session, valid=True, is_in_lap=False, is_out_lap=False, time_ms__isnull=False
        )
    )


def _coach_trace(lap: Lap) -> Columns:
    """The channels of a lap the live coach reads (it runs beside the ingest, so no more)."""
    return lap_trace(lap=lap, channels=LIVE_COACH_CHANNELS)
