from __future__ import annotations

import numpy as np
from django.db import transaction

from apps.sessions.models import Lap, Session
from apps.telemetry.tracestore import get_trace_store

from .lib.rules import LiveCoach, Message


def lap_analyse(*, lap_id: int) -> None:
    """Compute a lap's summary from its trace once; a second run finds it done and stops."""
    lap = Lap.objects.select_related("session").get(pk=lap_id)
    if lap.stats.get("analysed"):
        return
    summary = _summary(_trace(lap))
    with transaction.atomic():
        locked = Lap.objects.select_for_update().get(pk=lap_id)
        if locked.stats.get("analysed"):
            return
        locked.stats = {**locked.stats, **summary, "analysed": True}
        locked.save(update_fields=["stats"])


def _summary(trace: dict[str, np.ndarray]) -> dict[str, object]:
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
    best = min(laps, key=lambda lap: lap.time_ms or 0, default=None)
    for lap in laps:
        trace = _trace(lap) if lap == best else None
        coach.lap_completed(
            lap_number=lap.number,
            time_s=(lap.time_ms or 0) / 1000,
            valid=True,
            fuel_used_l=lap.fuel_used_l,
            in_or_out=False,
            trace=trace,
        )
    return coach


def live_coach_lap_completed(*, coach: LiveCoach, lap_id: int) -> list[Message]:
    """Tell the live coach a lap finished, with its trace for the best-lap reference."""
    lap = Lap.objects.get(pk=lap_id)
    trace = _trace(lap)
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
        Lap.objects.filter(session=session, valid=True, is_in_lap=False, is_out_lap=False, time_ms__isnull=False)
    )


def _trace(lap: Lap) -> dict[str, np.ndarray]:
    return get_trace_store().read(session_id=lap.session_id, t0=lap.t_start, t1=lap.t_end)
