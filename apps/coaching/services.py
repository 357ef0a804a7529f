from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np
from django.db import transaction

from apps.sessions.lib.stats import best_lap, is_green, is_timed_whole, lap_value
from apps.sessions.models import Lap, Session, Track
from apps.sessions.selectors_traces import TraceUnavailable, lap_length_m, track_corners
from apps.sessions.services import CONDITIONS, session_conditions_update
from apps.traces.lib.analysis import (
    corners_on_lap,
    detect_corners,
    lap_summary,
    resample_by_distance,
)
from apps.traces.lib.columns import Columns
from apps.traces.selectors import lap_trace
from simcoach_agent.channels import WHEELS
from simcoach_agent.corner_names import name_corner, names_for
from simcoach_agent.tracks import Corner, track_lookup
from simcoach_site.events import live_reference
from simcoach_site.jobs import enqueue

from .lib.history import ANALYSIS_VERSION, corner_measures
from .lib.rules import LIVE_COACH_CHANNELS, LiveCoach, Message
from .tasks import lap_analyse_task


def lap_analyse(*, lap_id: int) -> None:
    """Compute a lap's summary and corners from its trace once; a second run finds it done.

    Stored in `Lap.stats`: tyre/brake averages at the top level, and under "analysis" the
    lap summary and the track's corner set measured on this lap, so pages never recompute
    single-lap facts. A lap analysed before its track had a corner set is done again.
    """
    lap = Lap.objects.select_related("session", "session__track").get(pk=lap_id)
    corner_set = track_corner_set(session=lap.session)
    if _analysed(lap.stats, corner_set):
        return
    trace = lap_trace(lap=lap)
    summary = {**_summary(trace), "analysis": _analysis(lap, trace, corner_set)}
    with transaction.atomic():
        locked = Lap.objects.select_for_update().get(pk=lap_id)
        if _analysed(locked.stats, corner_set):
            return
        locked.stats = {**locked.stats, **summary, "analysed": True}
        locked.save(update_fields=["stats"])
    session_conditions_update(session_id=lap.session_id)


def _analysed(stats: dict[str, object], corner_set: list[Corner]) -> bool:
    # Laps analysed before corners were stored lack "analysis"; laps analysed before the
    # track had its corner set carry their own numbering: both are done again.
    analysis = stats.get("analysis")
    if not stats.get("analysed") or not isinstance(analysis, dict):
        return False
    if analysis.get("version") != ANALYSIS_VERSION:
        return False
    return analysis.get("corner_set") == [c.name for c in corner_set] or not corner_set


def _analysis(lap: Lap, trace: Columns, corner_set: list[Corner]) -> dict[str, object]:
    out: dict[str, object] = {
        "summary": _rounded(lap_summary(trace).to_dict()),
        "corners": [],
        "version": ANALYSIS_VERSION,
    }
    if len(trace["t"]) < 2 or "lap_dist" not in trace or "speed" not in trace:
        return out
    try:
        length = lap_length_m(lap, trace)
    except TraceUnavailable:
        return out
    resampled = resample_by_distance(trace, length_m=length)
    # Before the track has its set (no green lap yet) a lap's own dips stand in, renamed once
    # the set exists (track_corner_set queues the session's laps again).
    corners = corners_on_lap(resampled, corner_set) if corner_set else detect_corners(resampled)
    out["length_m"] = length
    out["corners"] = [_rounded(c.to_dict()) for c in corners]
    out["corner_measures"] = {k: _rounded(v) for k, v in corner_measures(resampled, corners).items()}
    out["corner_set"] = [c.name for c in corner_set]
    return out


# --------------------------------------------------------------------------- corner sets


def track_corner_set(*, session: Session) -> list[Corner]:
    """The one corner set of the session's track: what every page, compare and report name.

    Made once and kept with the Track: the agent's named corners where it knows the track,
    else the corners detected on the driver's reference lap there or the session's best green
    lap. Empty until such a lap exists. A later lap never renumbers it.
    """
    track = Track.objects.get(pk=session.track_id)
    if track.corners:
        return track_corners(track)
    known = track_lookup(track.name)
    if known is not None and known.corners:
        return _corner_set_store(track.pk, [asdict(c) for c in known.corners], known.length_m)
    source = _corner_source_lap(session)
    if source is None:
        return []
    detected, length = _detect_on(source)
    if not detected:
        return []
    corner_set = _corner_set_store(track.pk, _named(track.name, detected, length), length)
    for lap_id in Lap.objects.filter(session=session).values_list("pk", flat=True):
        enqueue(lap_analyse_task, lap_id)  # laps analysed before the set get its names
    return corner_set


def _named(track_name: str, detected: list[dict[str, Any]], length_m: float | None) -> list[dict[str, Any]]:
    # Curated names where public facts give them (simcoach_agent.corner_names); a corner with
    # no name near keeps its number. One name is never given to two corners.
    names = names_for(track_name)
    if names is None:
        return detected
    out, used = [], set()
    for c in detected:
        name = name_corner(names, c["apex_m"], length_m)
        if name is not None and name not in used:
            used.add(name)
            c = {**c, "name": name}
        out.append(c)
    return out


def _corner_set_store(track_id: int, corners: list[dict[str, Any]], length_m: float | None) -> list[Corner]:
    # Two laps analysed at once may both detect: the first to store wins, the other reads it.
    with transaction.atomic():
        track = Track.objects.select_for_update().get(pk=track_id)
        if not track.corners:
            track.corners = [{k: c[k] for k in ("name", "start_m", "apex_m", "end_m")} for c in corners]
            track.length_m = track.length_m or length_m
            track.save(update_fields=["corners", "length_m"])
    return track_corners(track)


def _corner_source_lap(session: Session) -> Lap | None:
    reference = _reference_lap(session)
    if reference is not None and is_green(lap_value(reference)):
        return reference
    laps = _green_laps(session)
    fastest = best_lap(lap_value(lap) for lap in laps)
    return next((lap for lap in laps if fastest is not None and lap.pk == fastest.key), None)


def _detect_on(lap: Lap) -> tuple[list[dict[str, Any]], float | None]:
    """The corners of one lap by its speed dips (T1, T2... in lap order), and its length."""
    trace = lap_trace(lap=lap, channels=["lap_dist", "speed"])
    if len(trace["t"]) < 2 or "lap_dist" not in trace or "speed" not in trace:
        return [], None
    try:
        length = lap_length_m(lap, trace)
    except TraceUnavailable:
        return [], None
    corners = detect_corners(resample_by_distance(trace, length_m=length))
    return [_rounded(c.to_dict()) for c in corners], length


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
    averaged = [
        *CONDITIONS,
        *(f"{stem}_{wheel}" for wheel in WHEELS for stem in ("tyre_temp", "tyre_press", "brake_temp")),
    ]
    for name in averaged:
        values = trace.get(name)
        if values is not None and len(values) and not np.all(np.isnan(values)):
            out[f"{name}_avg"] = round(float(np.nanmean(values)), 1)
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
    fastest = best_lap(lap_value(lap) for lap in laps) if reference is None else None
    best = next((lap for lap in laps if fastest is not None and lap.pk == fastest.key), None)
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
    # A lap the driver chose as live reference (teams: a team mate's, answered through the
    # hook, which re-checks the driver may still read it) beats their own marked lap.
    chosen_id = live_reference(session.owner_id, session.track_id, session.car_id)
    chosen = Lap.objects.filter(pk=chosen_id).first() if chosen_id is not None else None
    if chosen is not None and is_timed_whole(lap_value(chosen)):
        return chosen
    # At most one per owner, track and car (lap_reference_set keeps it so); imported or streamed.
    # One marked before the lap flags existed may be untimed or partial: never a reference.
    marked = Lap.objects.filter(
        is_reference=True,
        time_ms__isnull=False,
        session__owner_id=session.owner_id,
        session__track_id=session.track_id,
        session__car_id=session.car_id,
    ).order_by("-pk")
    return next((lap for lap in marked[:5] if is_timed_whole(lap_value(lap))), None)


def live_coach_lap_completed(*, coach: LiveCoach, lap_id: int) -> list[Message]:
    """Tell the live coach a lap finished, with its trace for the best-lap reference."""
    lap = Lap.objects.get(pk=lap_id)
    trace = _coach_trace(lap)
    return coach.lap_completed(
        lap_number=lap.number,
        time_s=(lap.time_ms or 0) / 1000,
        # The coach's green is "valid and not in/out": valid here means green but for in/out,
        # so an untimed or partial lap never becomes its best or its fuel average.
        valid=is_green(replace(lap_value(lap), in_lap=False, out_lap=False)),
        fuel_used_l=lap.fuel_used_l,
        in_or_out=lap.is_in_lap or lap.is_out_lap,
        trace=trace,
    )


def _green_laps(session: Session) -> list[Lap]:
    return [lap for lap in Lap.objects.filter(session=session).order_by("number") if is_green(lap_value(lap))]


def _coach_trace(lap: Lap) -> Columns:
    """The channels of a lap the live coach reads (it runs beside the ingest, so no more)."""
    return lap_trace(lap=lap, channels=LIVE_COACH_CHANNELS)
