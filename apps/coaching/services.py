from __future__ import annotations

import numpy as np
from django.db import transaction

from apps.sessions.models import Lap
from apps.telemetry.tracestore import get_trace_store


def lap_analyse(*, lap_id: int) -> None:
    """Compute a lap's summary from its trace once; a second run finds it done and stops."""
    lap = Lap.objects.select_related("session").get(pk=lap_id)
    if lap.stats.get("analysed"):
        return
    trace = get_trace_store().read(session_id=lap.session_id, t0=lap.t_start, t1=lap.t_end)
    summary = _summary(trace)
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
