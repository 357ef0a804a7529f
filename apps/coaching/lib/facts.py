"""The facts document of a session: every number a report may cite, computed, never generated.

Pure: lap rows and raw lap traces in, a JSON-ready dict out. Numbers are rounded here to the
precision a report shows (times 0.01 s, lap times 0.001 s, metres 1, km/h and °C 0.1), so the
text can quote them exactly and the grounding check can compare against them.
Units: s, m, km/h, °C, kPa, l. Time deltas > 0 mean time lost against the best lap.
`facts_in_units` then puts speeds, pressures and temperatures in the driver's units (the key
suffixes _kmh, _kpa, _c keep naming the quantity; the document's "units" names the unit).
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from apps.sessions.lib.stats import LapValue, SessionStats, session_stats
from apps.traces.lib.analysis import (
    CornerRow,
    LapSummary,
    corner_table,
    corners_on_lap,
    lap_summary,
    resample_by_distance,
)
from apps.traces.lib.columns import Columns
from simcoach_agent.channels import WHEELS
from simcoach_site.lib.units import STORED, Units, convert

from .tyres import window_for

if TYPE_CHECKING:
    from simcoach_agent.tracks import TrackInfo

MIN_LOSS_S: Final = 0.02  # a corner losing less than this per lap is noise, not an opportunity
NEAR_BEST_S: Final = 0.5  # a lap this close to the best counts as "near it" in consistency
BRAKE_SHIFT_M: Final = 3.0  # braking points closer than this are the same point
SPEED_SHIFT_KMH: Final = 1.5


@dataclass(frozen=True)
class SessionInput:
    track: str
    car: str
    car_class: str
    kind: str
    game: str
    date: str
    laps: Sequence[LapValue]  # every lap of the session, in order
    traces: dict[int, Columns] = field(default_factory=dict)  # raw traces of green laps, by number
    track_info: TrackInfo | None = None
    length_m: float | None = None


def lap_time(seconds: float) -> str:
    """2:17.456 — the way drivers read lap times."""
    minutes, rest = divmod(round(seconds * 1000), 60_000)
    return f"{minutes}:{rest / 1000:06.3f}"


def _s(ms: float | None) -> float:
    return (ms or 0) / 1000


def session_facts(data: SessionInput) -> dict[str, Any]:
    """The facts document: session, laps, best, consistency, corners, tyres, brakes, fuel.

    Green laps, best lap, theoretical best and consistency are `apps.sessions.lib.stats`'s,
    the same numbers the session page and the API show.
    """
    stats = session_stats(data.laps)
    green, best = stats.green, stats.best
    summaries = {n: lap_summary(t) for n, t in data.traces.items() if len(t.get("t", ())) > 1}
    corners = _corner_losses(data, best)
    return {
        "session": {k: getattr(data, k) for k in ("track", "car", "car_class", "kind", "game", "date")},
        "laps": _laps(data.laps, green),
        "best_lap": {"lap": best.number, "time": lap_time(_s(best.time_ms))} if best else None,
        "theoretical_best": _theoretical_best(stats),
        "consistency": _consistency(stats),
        "corners": corners,
        "opportunities": [_opportunity(c) for c in corners if c["time_lost_s"] >= MIN_LOSS_S][:3],
        "tyres": _tyres(summaries, data),
        "brakes": _brakes(summaries, data.car_class),
        "fuel": _fuel(data, green),
    }


def _laps(laps: Sequence[LapValue], green: list[LapValue]) -> dict[str, Any]:
    rows = [
        {"lap": lap.number, "time": lap_time(_s(lap.time_ms)) if lap.time_ms else None, "green": lap.green}
        for lap in laps
    ]
    return {
        "total": len(laps),
        "green": len(green),
        "invalid": sum(not lap.valid for lap in laps),
        "list": rows,
    }


def _theoretical_best(stats: SessionStats) -> dict[str, Any] | None:
    total = stats.theoretical_best_ms
    if total is None or stats.best is None:
        return None
    return {
        "time": lap_time(_s(total)),
        "gain_s": round(_s(stats.best.time_ms) - _s(total), 2),
        "best_sectors": [lap_time(_s(s)) for s in stats.best_sectors],
    }


def _consistency(stats: SessionStats) -> dict[str, Any] | None:
    # Sample standard deviation (lib.stats): the page shows it to the ms, the report to 0.01 s.
    if stats.consistency_ms is None or stats.best is None:
        return None
    times = [_s(lap.time_ms) for lap in stats.green]
    best = _s(stats.best.time_ms)
    return {
        "laps": len(times),
        "std_dev_s": round(stats.consistency_ms / 1000, 2),
        "spread_s": round(_s(stats.spread_ms), 2),
        "average": lap_time(_s(stats.average_ms)),
        "within_half_second_of_best": sum(t - best <= NEAR_BEST_S for t in times),
        "near_best_s": NEAR_BEST_S,
    }


def _corner_losses(data: SessionInput, best: LapValue | None) -> list[dict[str, Any]]:
    """Per corner, the mean time lost against the best lap over the other green laps."""
    length = data.length_m or (data.track_info.length_m if data.track_info else None)
    if best is None or length is None or best.number not in data.traces:
        return []
    ref = resample_by_distance(data.traces[best.number], length_m=length)
    # The track's corner set on the best lap: the names the lap pages and compare show.
    corner_set = data.track_info.corners if data.track_info is not None else ()
    corners = corners_on_lap(ref, corner_set) if corner_set else None
    rows: dict[str, list[CornerRow]] = {}
    for number, trace in data.traces.items():
        if number == best.number or len(trace.get("t", ())) < 2:
            continue
        other = resample_by_distance(trace, length_m=length)
        for row in corner_table(ref, other, track=data.track_info, corners=corners):
            rows.setdefault(row.name, []).append(row)
    table = [_corner_fact(name, group) for name, group in rows.items()]
    return sorted(table, key=lambda c: -c["time_lost_s"])


def _r(value: float, digits: int) -> float:
    # + 0.0 turns -0.0 into 0.0: "-0.0 s" reads like a loss that is not there.
    return round(value, digits) + 0.0


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _corner_fact(name: str, rows: list[CornerRow]) -> dict[str, Any]:
    brake = _mean([r.brake_delta_m for r in rows])
    return {
        "corner": name,
        "laps_compared": len(rows),
        "time_lost_s": _r(statistics.fmean(r.time_delta_s for r in rows), 2),
        "worst_lost_s": _r(max(r.time_delta_s for r in rows), 2),
        # < 0: braked earlier than on the best lap
        "brake_point_vs_best_m": round(brake) + 0 if brake is not None else None,
        "min_speed_vs_best_kmh": _r(statistics.fmean(r.other_min_kmh - r.ref_min_kmh for r in rows), 1),
        "exit_speed_vs_best_kmh": _r(statistics.fmean(r.other_exit_kmh - r.ref_exit_kmh for r in rows), 1),
        "best_lap_min_speed_kmh": round(rows[0].ref_min_kmh, 1),
    }


def _opportunity(corner: dict[str, Any]) -> dict[str, Any]:
    return {
        "corner": corner["corner"],
        "time_s": corner["time_lost_s"],
        "change": _change(corner),
        "brake_point_vs_best_m": corner["brake_point_vs_best_m"],
        "min_speed_vs_best_kmh": corner["min_speed_vs_best_kmh"],
        "exit_speed_vs_best_kmh": corner["exit_speed_vs_best_kmh"],
    }


def _change(corner: dict[str, Any], units: Units = STORED) -> str:
    """The deterministic advice: the biggest difference from the best lap, as an action.
    `corner` in stored units (the thresholds are km/h); speeds written in `units`."""
    brake, v_min, v_exit = (
        corner["brake_point_vs_best_m"],
        corner["min_speed_vs_best_kmh"],
        corner["exit_speed_vs_best_kmh"],
    )
    if brake is not None and brake <= -BRAKE_SHIFT_M:
        return f"brake ~{abs(brake)} m later, as on your best lap"
    if brake is not None and brake >= BRAKE_SHIFT_M:
        return f"brake ~{brake} m earlier to make the apex, as on your best lap"
    if v_min <= -SPEED_SHIFT_KMH:
        return f"carry {_speed(abs(v_min), units)} {units.speed} more minimum speed, as on your best lap"
    if v_exit <= -SPEED_SHIFT_KMH:
        return f"get on the throttle earlier: exit {_speed(abs(v_exit), units)} {units.speed} faster, as on your best lap"
    return "copy your best lap's line through here"


def _per_wheel(summaries: dict[int, LapSummary], attr: str, reduce: Any) -> dict[str, float]:
    out = {}
    for wheel in WHEELS:
        values = [getattr(s, attr)[wheel] for s in summaries.values() if wheel in getattr(s, attr)]
        if values:
            out[wheel] = round(float(reduce(values)), 1)
    return out


def _band(value: float, lo: float, hi: float) -> str:
    return "low" if value < lo else "high" if value > hi else "in window"


def _tyres(summaries: dict[int, LapSummary], data: SessionInput) -> dict[str, Any] | None:
    temps = _per_wheel(summaries, "tyre_temp_avg", statistics.fmean)
    if not temps:
        return None
    window = window_for(data.car_class)
    lo, hi = window.tyre_optimal_lo, window.tyre_optimal_hi
    out: dict[str, Any] = {
        "avg_temp_c": temps,
        "window_c": [lo, hi],
        "state": {w: _band(v, lo, hi) for w, v in temps.items()},
    }
    press = _pressures(data)
    if press:
        plo, phi = window.press_lo_kpa, window.press_hi_kpa
        out["avg_pressure_kpa"] = press
        out["pressure_window_kpa"] = [plo, phi]
        out["pressure_state"] = {w: _band(v, plo, phi) for w, v in press.items()}
    return out


def _pressures(data: SessionInput) -> dict[str, float]:
    out = {}
    for wheel in WHEELS:
        values = [float(v) for t in data.traces.values() for v in t.get(f"tyre_press_{wheel}", ()) if v == v]
        if values:
            out[wheel] = round(statistics.fmean(values), 1)
    return out


def _brakes(summaries: dict[int, LapSummary], car_class: str) -> dict[str, Any] | None:
    peaks = _per_wheel(summaries, "brake_temp_max", max)
    if not peaks:
        return None
    window = window_for(car_class)
    cold, fade = window.brake_cold_below, window.brake_fade_above
    return {
        "max_temp_c": peaks,
        "fade_above_c": fade,
        "cold_below_c": cold,
        "state": {w: "fading" if v > fade else "cold" if v < cold else "in window" for w, v in peaks.items()},
    }


def _fuel(data: SessionInput, green: list[LapValue]) -> dict[str, Any] | None:
    used = [lap.fuel_used_l for lap in green if lap.fuel_used_l]
    if not used:
        return None
    per_lap = statistics.fmean(used)
    out: dict[str, Any] = {"per_lap_l": round(per_lap, 2)}
    left = _fuel_left(data)
    if left is not None:
        out["left_l"] = round(left, 1)
        out["laps_left"] = round(left / per_lap, 1)
    return out


def _fuel_left(data: SessionInput) -> float | None:
    if not data.traces:
        return None
    last = data.traces[max(data.traces)].get("fuel")
    return float(last[-1]) if last is not None and len(last) else None


# --------------------------------------------------------------------------- the driver's units

# Decimals a report quotes per unit: a bar to 0.01, a psi or a kPa to 0.1.
_REPORT_DIGITS: Final = {"bar": 2}


def _speed(kmh: float, units: Units) -> float:
    return _r(convert(kmh, "km/h", units), 1)


def _in(value: float, stored: str, units: Units) -> float:
    unit = {"km/h": units.speed, "kPa": units.pressure, "°C": units.temperature}.get(stored, stored)
    if unit == stored:
        return value  # unchanged, down to a window's whole number ("70–100 °C", not "70.0")
    shown = _r(convert(value, stored, units), _REPORT_DIGITS.get(unit, 1))
    return int(shown) if isinstance(value, int) and shown == int(shown) else shown


def _wheels_in(values: dict[str, float], stored: str, units: Units) -> dict[str, float]:
    return {w: _in(v, stored, units) for w, v in values.items()}


def facts_in_units(facts: dict[str, Any], units: Units) -> dict[str, Any]:
    """The facts document with speeds, pressures and temperatures in `units`, which it names
    under "units": the one formatting step between the stored numbers and a report, so the
    template, the model and the grounding check all see the numbers the driver reads."""
    out = copy.deepcopy(facts)
    out["units"] = units.as_dict()
    by_name = {c["corner"]: c for c in facts["corners"]}
    for corner in out["corners"]:
        for key in ("min_speed_vs_best_kmh", "exit_speed_vs_best_kmh", "best_lap_min_speed_kmh"):
            corner[key] = _speed(corner[key], units)  # a difference: speed has no offset
    for opp in out["opportunities"]:
        opp["change"] = _change(by_name[opp["corner"]], units)
        for key in ("min_speed_vs_best_kmh", "exit_speed_vs_best_kmh"):
            opp[key] = _speed(opp[key], units)
    if out.get("tyres"):
        tyres = out["tyres"]
        tyres["avg_temp_c"] = _wheels_in(tyres["avg_temp_c"], "°C", units)
        tyres["window_c"] = [_in(v, "°C", units) for v in tyres["window_c"]]
        if "avg_pressure_kpa" in tyres:
            tyres["avg_pressure_kpa"] = _wheels_in(tyres["avg_pressure_kpa"], "kPa", units)
            tyres["pressure_window_kpa"] = [_in(v, "kPa", units) for v in tyres["pressure_window_kpa"]]
    for row in (out.get("history") or {}).get("corners", []):
        for key in ("min_speed_change_kmh", "exit_speed_change_kmh"):
            if row.get(key) is not None:
                row[key] = _speed(row[key], units)  # a difference: speed has no offset
    if out.get("brakes"):
        brakes = out["brakes"]
        brakes["max_temp_c"] = _wheels_in(brakes["max_temp_c"], "°C", units)
        for key in ("fade_above_c", "cold_below_c"):
            brakes[key] = _in(brakes[key], "°C", units)
    return out
