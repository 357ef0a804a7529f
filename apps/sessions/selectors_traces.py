"""Reads that need a lap's trace: channels by distance, export columns, lap comparison.

Selectors only (nothing here writes). The single-lap facts (summary, corners) are stored in
`Lap.stats["analysis"]` once by coaching's `lap_analyse`; comparing laps is pairwise, so it
is computed per request from the trace store, reading only the channels it needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from django.core.cache import cache

from apps.traces.lib.analysis import (
    CornerRow,
    DetectedCorner,
    SegmentRow,
    biggest_losses,
    corner_table,
    corners_on_lap,
    cumulative_delta,
    resample_by_distance,
    segment_table,
)
from apps.traces.lib.columns import Columns, has_values
from apps.traces.selectors import lap_trace
from apps.traces.tracestore import get_trace_store
from simcoach_agent.channels import BY_NAME, CHANNELS
from simcoach_agent.tracks import Corner, TrackInfo, track_lookup
from simcoach_site.lib.units import STORED, Units, convert, fmt

from .lib.stats import best_lap, lap_value
from .models import Lap, Session, Track

COMPARE_CHANNELS: Final = ("speed", "throttle", "brake", "gear", "pos_x", "pos_z")
MAX_COMPARE: Final = 4
MAX_POINTS: Final = 20_000
COMPARE_CACHE_S: Final = 300
# Charting precision per channel: enough for a plot, a third of the JSON of full floats.
DIGITS: Final = {
    "lap_dist": 1,
    "t": 3,
    "speed": 1,
    "rpm": 0,
    "pos_x": 1,
    "pos_z": 1,
    "pos_y": 1,
    "loss_rate": 5,
}


class TraceUnavailable(ValueError):
    """The lap has no usable trace (no frames stored, or no lap distance)."""


class CompareError(ValueError):
    """The laps asked for cannot be compared; the message says why (shown with a 400)."""


def track_info(track: Track) -> TrackInfo | None:
    """The corner table for analysis: the track row's own corners, else the agent's table."""
    if track.corners and track.length_m:
        corners = tuple(
            Corner(**{k: c[k] for k in ("name", "start_m", "apex_m", "end_m")}) for c in track.corners
        )
        return TrackInfo(
            key=f"track-{track.pk}",
            name=track.name,
            length_m=track.length_m,
            corners=corners,
            sectors=(track.length_m,),
        )
    return track_lookup(track.name)


def track_corners(track: Track) -> list[Corner]:
    """The track's one corner set as stored with it (coaching's `track_corner_set` makes it);
    empty until it exists."""
    keys = ("name", "start_m", "apex_m", "end_m")
    return [Corner(**{k: c[k] for k in keys}) for c in track.corners if all(k in c for k in keys)]


def lap_length_m(lap: Lap, trace: Columns) -> float:
    if lap.session.track.length_m:
        return float(lap.session.track.length_m)
    dist = trace.get("lap_dist")
    if dist is None or not np.isfinite(dist).any():
        raise TraceUnavailable(f"lap {lap.number} has no lap distance")
    return float(np.nanmax(dist))


def lap_resampled(*, lap: Lap, channels: Sequence[str], step_m: float = 1.0) -> Columns:
    """The lap on a lap-distance grid every `step_m` metres (`t`: seconds since the line)."""
    trace = lap_trace(lap=lap, channels=["lap_dist", *channels])
    if len(trace["t"]) < 2 or "lap_dist" not in trace:
        raise TraceUnavailable(f"lap {lap.number} has no stored trace")
    return resample_by_distance(trace, length_m=lap_length_m(lap, trace), step_m=step_m)


def lap_channels(*, lap: Lap, channels: Sequence[str], points: int) -> dict[str, Any]:
    """Channels of a lap against lap distance, at most `points` samples each, JSON-ready."""
    trace = lap_trace(lap=lap, channels=["lap_dist", *channels])
    if len(trace["t"]) < 2 or "lap_dist" not in trace:
        raise TraceUnavailable(f"lap {lap.number} has no stored trace")
    length = lap_length_m(lap, trace)
    step = max(length / max(points - 1, 1), 0.05)
    res = resample_by_distance(trace, length_m=length, step_m=step)
    names = ["lap_dist", "t", *[c for c in channels if c not in ("lap_dist", "t")]]
    return {
        "lap_id": lap.pk,
        "length_m": length,
        "points": len(res["lap_dist"]),
        "units": {n: BY_NAME[n].unit for n in names if n in BY_NAME} | {"t": "s"},
        "channels": {n: json_floats(res[n][:points], n) if n in res else None for n in names},
    }


def json_floats(values: np.ndarray, name: str = "") -> list[float | None]:
    """A column as a JSON list: rounded for charts, NaN/inf as null."""
    arr = np.round(np.asarray(values, dtype=np.float64), DIGITS.get(name, 3))
    out: list[float | None] = arr.tolist()
    if not np.isfinite(arr).all():
        out = [v if math.isfinite(v) else None for v in out]  # type: ignore[arg-type]
    return out


def stored_corners(lap: Lap) -> list[DetectedCorner] | None:
    """The lap's corners as its analysis stored them, or None if it has not run yet."""
    analysis = lap.stats.get("analysis")
    if not analysis or "corners" not in analysis:
        return None
    return [DetectedCorner(**c) for c in analysis["corners"]]


# --------------------------------------------------------------------------- exports


@dataclass(frozen=True)
class ExportTrace:
    """A lap's or a session's channels for export, and the laps they hold."""

    columns: dict[str, np.ndarray]  # table order; `t` in s from the log's start, `lap` our numbers
    units: dict[str, str]
    laps: list[Lap]
    t0: float  # the log's start, epoch seconds


def lap_export_trace(*, lap: Lap) -> ExportTrace:
    """One lap's channels, `t` from the lap's start."""
    return _export_trace(lap_trace(lap=lap), laps=[lap], t0=lap.t_start, what=f"lap {lap.number}")


def session_export_trace(*, session: Session) -> ExportTrace:
    """A whole session's channels from its first lap's start to its last lap's end.

    Frames before the first lap and after the last (the garage, the drive after the flag)
    are left out, so the log's laps are exactly the stored ones; a session without laps
    exports its whole trace.
    """
    laps = session_export_laps(session=session)
    if laps:
        t0, t1 = laps[0].t_start, max(lap.t_end for lap in laps)
    else:
        # trace times are epoch seconds inside the session's span; a minute's margin for clocks
        end = session.ended_at or session.last_frame_at or session.started_at
        t0, t1 = session.started_at.timestamp() - 60, end.timestamp() + 60
    trace = get_trace_store().read(session_id=session.pk, t0=t0, t1=t1)
    if not laps and len(trace["t"]):
        t0 = float(trace["t"][0])
    return _export_trace(trace, laps=laps, t0=t0, what=f"session {session.pk}")


def session_export_laps(*, session: Session) -> list[Lap]:
    """The session's laps in the order they were driven (the export's lap order)."""
    return list(Lap.objects.filter(session=session).order_by("t_start"))


def _export_trace(trace: Columns, *, laps: list[Lap], t0: float, what: str) -> ExportTrace:
    if len(trace["t"]) == 0:
        raise TraceUnavailable(f"{what} has no stored trace")
    trace = {**trace, "t": trace["t"] - t0}
    if laps:
        # Our lap numbers, not the game's counter: each sample is in the last lap started by then.
        starts = np.array([lap.t_start - t0 for lap in laps])
        numbers = np.array([lap.number for lap in laps], dtype=np.int64)
        trace["lap"] = numbers[np.clip(np.searchsorted(starts, trace["t"], side="right") - 1, 0, None)]
    order = [c.name for c in CHANNELS if c.name in trace]
    columns: dict[str, np.ndarray] = {}
    for name in order:
        values = trace[name]
        # Counters and flags print as integers when every sample is present.
        if BY_NAME[name].kind != "f" and np.isfinite(values).all():
            values = values.astype(np.int64)
        columns[name] = values
    return ExportTrace(columns, {name: BY_NAME[name].unit for name in order}, laps, t0)


def export_uniform(trace: ExportTrace) -> tuple[dict[str, np.ndarray], int]:
    """The channels sampled at one whole rate in Hz from the log's start (for MoTeC)."""
    columns = trace.columns
    t = np.asarray(columns["t"], dtype=np.float64)
    if t.size < 2:
        raise TraceUnavailable("too few samples to export")
    rate = int(min(max(round(1.0 / float(np.median(np.diff(t)))), 1), 1000))
    grid = np.arange(0.0, float(t[-1]) + 0.5 / rate, 1.0 / rate)
    out: dict[str, np.ndarray] = {}
    for name, values in columns.items():
        if name == "t":
            continue
        v = np.asarray(values, dtype=np.float64)
        if BY_NAME[name].kind != "f":  # never blend gears: hold the last sample
            out[name] = v[np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 1)]
        else:
            out[name] = np.interp(grid, t, v)
    return out, rate


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class LapVersus:
    """One lap against the reference: its delta along the reference grid and its tables."""

    lap: Lap
    delta: np.ndarray
    corners: list[CornerRow]
    segments: list[SegmentRow]

    @property
    def time_delta_s(self) -> float:
        return float(self.delta[-1])

    @property
    def losses(self) -> list[tuple[CornerRow, str]]:
        """The three corners that cost most, each with what differed there (speeds in km/h)."""
        return self.losses_in(STORED)

    def losses_in(self, units: Units) -> list[tuple[CornerRow, str]]:
        """`losses` with speeds in the hints in `units`."""
        return [(row, loss_hint(row, units=units)) for row in biggest_losses(self.corners, 3)]


def loss_hint(row: CornerRow, *, units: Units = STORED) -> str:
    # Name the first difference a driver can act on: braking point, then apex speed, exit.
    brake = row.brake_delta_m
    if brake is not None and brake <= -3.0:
        return f"braked {-brake:.0f} m earlier"
    if row.other_min_kmh <= row.ref_min_kmh - 2.0:
        return f"{_speed(row.other_min_kmh, units)} vs {fmt(row.ref_min_kmh, 'km/h', units)} at the apex"
    if row.other_exit_kmh <= row.ref_exit_kmh - 2.0:
        return f"exit {_speed(row.other_exit_kmh, units)} vs {fmt(row.ref_exit_kmh, 'km/h', units)}"
    return ""


def _speed(kmh: float, units: Units) -> str:
    return f"{convert(kmh, 'km/h', units):.0f}"


@dataclass(frozen=True)
class Comparison:
    """Laps resampled on one 1 m grid; the first lap is the reference (`compare_order` puts
    the driver's pick first)."""

    laps: list[Lap]
    traces: list[Columns]
    versus: list[LapVersus]

    @property
    def reference(self) -> Lap:
        return self.laps[0]


def compare_check(laps: Sequence[Lap]) -> None:
    """Refuse comparisons that make no sense, with a message for the driver."""
    if not 2 <= len(laps) <= MAX_COMPARE:
        raise CompareError(f"choose 2 to {MAX_COMPARE} laps to compare, not {len(laps)}")
    if len({lap.pk for lap in laps}) != len(laps):
        raise CompareError("a lap is listed twice")
    tracks = {lap.session.track_id: lap.session.track.name for lap in laps}
    if len(tracks) > 1:
        raise CompareError(
            f"laps on different tracks cannot be compared ({', '.join(sorted(tracks.values()))})"
        )


def compare_order(laps: Sequence[Lap], *, ref_id: int | None) -> list[Lap]:
    """The laps with the reference first, the others in the order given.

    The reference is the lap the driver picked (`ref_id`, which joins the laps if it was not
    among them); without a pick, the fastest green lap, else the first lap given.
    """
    laps = list(laps)
    if ref_id is None:
        fastest = best_lap(lap_value(lap) for lap in laps)
        ref_id = fastest.key if fastest is not None else (laps[0].pk if laps else None)
    ref = next((lap for lap in laps if lap.pk == ref_id), None)
    if ref is None:
        raise CompareError("the reference lap must be one of the laps compared")
    return [ref, *[lap for lap in laps if lap.pk != ref.pk]]


def lap_compare(*, laps: Sequence[Lap]) -> Comparison:
    """Compare laps of one track, the first as reference, on a common 1 m distance grid."""
    compare_check(laps)
    try:
        traces = [_compare_trace(lap) for lap in laps]
    except TraceUnavailable as exc:
        raise CompareError(str(exc)) from None
    ref, track = traces[0], track_info(laps[0].session.track)
    # The track's corner set measured on the reference lap: the names the lap pages and the
    # report use. Before the set exists, the reference lap's own stored corners.
    corner_set = track_corners(laps[0].session.track)
    corners = corners_on_lap(ref, corner_set) if corner_set else stored_corners(laps[0])
    versus = [
        LapVersus(
            lap,
            cumulative_delta(ref, trace),
            corner_table(ref, trace, track=track, corners=corners),
            segment_table(ref, trace, track=track, corners=corners),
        )
        for lap, trace in zip(laps[1:], traces[1:], strict=True)
    ]
    return Comparison(list(laps), traces, versus)


def _compare_trace(lap: Lap) -> Columns:
    # A completed lap's trace never changes, and one compare page asks twice (the page's
    # tables, then its charts' API call), as does a driver trying lap pairs: keep each
    # lap's resampled channels (~0.4 MB) in the cache for a few minutes. The key carries
    # the store, so switching backends never serves the other's data.
    key = f"compare-trace:{get_trace_store().name}:{lap.pk}:{lap.t_start}:{lap.t_end}"
    trace: Columns | None = cache.get(key)
    if trace is None:
        trace = lap_resampled(lap=lap, channels=COMPARE_CHANNELS)
        cache.set(key, trace, COMPARE_CACHE_S)
    return trace


def comparison_json(comp: Comparison, *, points: int) -> dict[str, Any]:
    """What the compare charts draw, every series cut to at most `points` samples."""
    grid = comp.traces[0]["lap_dist"]
    pick = np.unique(np.linspace(0, grid.size - 1, min(points, grid.size)).round().astype(np.int64))
    ref = comp.traces[0]
    return {
        "reference_lap_id": comp.reference.pk,
        "track": comp.reference.session.track.name,
        "length_m": float(grid[-1]),
        "distance": json_floats(grid[pick], "lap_dist"),
        "map": {"x": json_floats(ref["pos_x"][pick], "pos_x"), "z": json_floats(ref["pos_z"][pick], "pos_z")}
        if has_values(ref, "pos_x") and has_values(ref, "pos_z")
        else None,
        "laps": [
            {
                **lap_label(lap),
                "channels": {c: json_floats(tr[c][pick], c) for c in COMPARE_CHANNELS if c in tr},
            }
            for lap, tr in zip(comp.laps, comp.traces, strict=True)
        ],
        "versus": [_versus_json(v, pick) for v in comp.versus],
    }


def _versus_json(v: LapVersus, pick: np.ndarray) -> dict[str, Any]:
    # Loss rate: seconds lost per metre between picked points, for colouring the map.
    rate = np.diff(v.delta[pick], prepend=v.delta[pick][0])
    return {
        "lap_id": v.lap.pk,
        "time_delta_s": round(v.time_delta_s, 3),
        "delta": json_floats(v.delta[pick], "t"),
        "loss_rate": json_floats(rate, "loss_rate"),
        "corners": [corner_json(r) for r in v.corners],
        "segments": [{k: _round(x) for k, x in s.to_dict().items()} for s in v.segments],
        "biggest_losses": [
            {"name": r.name, "time_delta_s": round(r.time_delta_s, 3), "hint": h} for r, h in v.losses
        ],
    }


def corner_json(row: CornerRow) -> dict[str, Any]:
    return {k: _round(x) for k, x in row.to_dict().items()}


def _round(x: Any) -> Any:
    return round(x, 3) if isinstance(x, float) else x


def lap_label(lap: Lap) -> dict[str, Any]:
    return {
        "id": lap.pk,
        "number": lap.number,
        "session_id": lap.session_id,
        "time_ms": lap.time_ms,
        "started_at": lap.started_at.isoformat(),
        "label": f"Lap {lap.number} · {lap.started_at:%Y-%m-%d}",
    }
