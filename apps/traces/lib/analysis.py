"""Post-lap analysis: resample laps by distance, compare them corner by corner.

Everything here works on columnar traces (`Columns`, channel names and units
from `simcoach_agent.channels`). Comparing two laps only makes sense on a common axis, so the
first step is always `resample_by_distance`: a grid of lap distance in metres on which the
channel `t` becomes the elapsed time since the start line in seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from simcoach_agent.channels import BY_NAME, WHEELS

from .columns import Columns

if TYPE_CHECKING:
    from simcoach_agent.tracks import Corner, TrackInfo


SPIKE_M: Final = 100.0  # a lone lap_dist sample this far off both neighbours is a glitch
BRAKE_ON: Final = 0.1  # brake pedal fraction that counts as braking
BRAKE_LOOKBACK_M: Final = 600.0  # how far before an apex a braking point may lie
FULL_THROTTLE: Final = 0.98
SPEED_MATCH_KMH: Final = 1.0  # after a corner, laps this close in speed have stopped losing time


# --------------------------------------------------------------------------- resampling


def _unwrap(dist: np.ndarray, length_m: float) -> np.ndarray:
    """Undo the jump at the start/finish line so distance runs on without a break.

    Frames just before the line read ~length_m and frames just after it read ~0; a jump of
    more than half a lap between neighbours can only be such a wrap.
    """
    if dist.size < 2:
        return dist.copy()
    step = np.diff(dist)
    shift = np.where(step < -length_m / 2, length_m, 0.0) - np.where(step > length_m / 2, length_m, 0.0)
    out = dist + np.concatenate(([0.0], np.cumsum(shift)))
    # Put the bulk of the lap (its median frame) inside [0, length_m).
    return np.asarray(out - length_m * np.floor(np.median(out) / length_m), dtype=np.float64)


def _despike(dist: np.ndarray) -> np.ndarray:
    """Mask of samples to keep: drop lone samples far off both neighbours that agree."""
    keep = np.ones(dist.size, dtype=bool)
    if dist.size < 3:
        return keep
    prev, cur, nxt = dist[:-2], dist[1:-1], dist[2:]
    lone = (np.abs(cur - prev) > SPIKE_M) & (np.abs(cur - nxt) > SPIKE_M) & (np.abs(nxt - prev) < SPIKE_M)
    keep[1:-1] = ~lone
    return keep


def _monotonic_index(dist: np.ndarray) -> np.ndarray:
    """Indices of samples where distance strictly increases (first of any repeat).

    Noise that steps backwards is clamped by a running maximum; repeats (a stationary car in
    the pits, duplicated frames) keep their first sample, so the time spent standing still
    shows up as a steep rise of time between two grid points, which is what it is.
    """
    mono = np.maximum.accumulate(dist)
    first = np.concatenate(([True], np.diff(mono) > 0))
    return np.flatnonzero(first)


def _interp_time(grid: np.ndarray, dist: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Time at each grid distance, extrapolating linearly past the first and last samples.

    A trace rarely has a frame exactly at 0 m; holding the first time constant would shave up
    to a frame (17 ms at 60 Hz) off the lap, so the end slopes carry on instead.
    """
    out: np.ndarray = np.interp(grid, dist, t)
    if dist.size >= 2:
        lo, hi = grid < dist[0], grid > dist[-1]
        slope_lo = (t[1] - t[0]) / (dist[1] - dist[0])
        slope_hi = (t[-1] - t[-2]) / (dist[-1] - dist[-2])
        out[lo] = t[0] + (grid[lo] - dist[0]) * slope_lo
        out[hi] = t[-1] + (grid[hi] - dist[-1]) * slope_hi
    return out


def _hold(grid: np.ndarray, dist: np.ndarray, values: np.ndarray) -> np.ndarray:
    # Integer and boolean channels (gear, sector, flags) must not be blended: take the last
    # sample at or before each grid point.
    idx = np.clip(np.searchsorted(dist, grid, side="right") - 1, 0, dist.size - 1)
    return values[idx]


def resample_by_distance(trace: Columns, *, length_m: float, step_m: float = 1.0) -> Columns:
    """Resample a lap trace onto a lap-distance grid 0..length_m every step_m metres.

    Handles the lap_dist wrap at the line, backwards noise, repeated distances and lone
    glitches. In the result `lap_dist` is the grid and `t` is the elapsed time in s since the
    grid's 0 m (from `t`, or `lap_time` when `t` is absent); other channels are interpolated
    linearly, integer/boolean ones held. Channels with a different length are skipped.
    """
    dist = np.asarray(trace["lap_dist"], dtype=np.float64)
    n = dist.size
    if n < 2:
        raise ValueError("a trace needs at least two frames to resample")
    keep = np.isfinite(dist)
    dist = _unwrap(dist[keep], length_m)
    spikes = _despike(dist)
    src = np.flatnonzero(keep)[spikes]
    dist = dist[spikes]
    order = _monotonic_index(dist)
    src, dist = src[order], dist[order]
    grid = np.arange(0.0, length_m + step_m / 2, step_m)
    out: dict[str, np.ndarray] = {"lap_dist": grid}
    for name, column in trace.items():
        values = np.asarray(column)
        if name == "lap_dist" or values.shape != (n,):
            continue
        out[name] = _resample_channel(name, grid, dist, values[src])
    clock = "t" if "t" in trace else "lap_time" if "lap_time" in trace else None
    if clock is not None:
        elapsed = _interp_time(grid, dist, np.asarray(trace[clock], dtype=np.float64)[src])
        out["t"] = elapsed - elapsed[0]
    return out


def _resample_channel(name: str, grid: np.ndarray, dist: np.ndarray, values: np.ndarray) -> np.ndarray:
    channel = BY_NAME.get(name)
    if (channel is not None and channel.kind != "f") or values.dtype.kind in "biu":
        return _hold(grid, dist, values)
    return np.asarray(np.interp(grid, dist, values.astype(np.float64)), dtype=np.float64)


def cumulative_delta(ref: Columns, other: Columns) -> np.ndarray:
    """Time delta in s along ref's distance grid; positive where `other` is behind (slower).

    Both arguments are resampled traces; `other` is put onto ref's grid if grids differ.
    """
    other_t = other["t"]
    if other["lap_dist"].shape != ref["lap_dist"].shape or not np.allclose(
        other["lap_dist"], ref["lap_dist"]
    ):
        other_t = np.interp(ref["lap_dist"], other["lap_dist"], other["t"])
    return np.asarray(other_t - ref["t"], dtype=np.float64)


# --------------------------------------------------------------------------- corners


@dataclass(frozen=True)
class DetectedCorner:
    """A corner found in a lap: its extent in m and its slowest point."""

    name: str
    start_m: float
    apex_m: float
    end_m: float
    min_speed_kmh: float
    from_table: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or values.size < window:
        return values
    kernel = np.ones(window) / window
    padded = np.pad(values, window // 2, mode="edge")
    return np.convolve(padded, kernel, mode="valid")[: values.size]


def _zigzag(speed: np.ndarray, hysteresis: float) -> tuple[list[int], list[int]]:
    """Indices of the peaks and minima of a speed trace, ignoring dips under hysteresis km/h.

    A peak counts once speed has fallen `hysteresis` below it, a minimum once speed has risen
    that much above it, so a wobble on a straight or a short lift is not a corner. Peaks and
    minima alternate, starting with a peak; there is always one more peak than minima.
    """
    peaks: list[int] = []
    mins: list[int] = []
    rising, hi, lo = True, 0, 0
    for i in range(1, speed.size):
        v = speed[i]
        if rising:
            if v > speed[hi]:
                hi = i
            elif speed[hi] - v >= hysteresis:
                peaks.append(hi)
                rising, lo = False, i
        elif v < speed[lo]:
            lo = i
        elif v - speed[lo] >= hysteresis:
            mins.append(lo)
            rising, hi = True, i
    if rising:
        peaks.append(hi)  # the climb after the last minimum ends at the lap's end
    return peaks, mins


def _extent(
    grid: np.ndarray, speed: np.ndarray, peak_in: int, apex: int, peak_out: int
) -> tuple[float, float]:
    # Without a track table a corner runs from the end of the straight before it (the speed
    # peak, so the braking zone belongs to the corner) to where the car has regained half
    # the speed it will reach on the next straight.
    target = speed[apex] + 0.5 * (speed[peak_out] - speed[apex])
    after = np.flatnonzero(speed[apex : peak_out + 1] >= target)
    end = apex + int(after[0]) if after.size else peak_out
    # On a long flat-out straight the peak is its first metre; the corner starts where the
    # speed actually begins to fall (1 km/h under the peak).
    fast = np.flatnonzero(speed[peak_in : apex + 1] >= speed[peak_in] - 1.0)
    start = peak_in + int(fast[-1])
    return float(grid[start]), float(grid[end])


def _table_match(corners: Sequence[Corner], apex_m: float, near_m: float) -> Corner | None:
    inside = [c for c in corners if c.start_m <= apex_m <= c.end_m]
    pool = inside or [c for c in corners if abs(c.apex_m - apex_m) <= near_m]
    return min(pool, key=lambda c: abs(c.apex_m - apex_m)) if pool else None


def detect_corners(
    resampled: Columns,
    *,
    track: TrackInfo | None = None,
    hysteresis_kmh: float = 12.0,
    smooth_m: float = 15.0,
) -> list[DetectedCorner]:
    """Corners of a resampled lap, from its speed minima, in lap order.

    A dip counts when speed falls and then rises by at least `hysteresis_kmh`. With a track
    table each minimum takes the name and extent of the table corner containing it (several
    minima in one table corner, such as a chicane, merge into it); minima the table does not
    know are named T1, T2... by order.
    """
    grid = resampled["lap_dist"]
    step = float(grid[1] - grid[0]) if grid.size > 1 else 1.0
    speed = _smooth(np.asarray(resampled["speed"], dtype=np.float64), max(1, round(smooth_m / step)))
    peaks, mins = _zigzag(speed, hysteresis_kmh)
    table = list(track.corners) if track is not None else []
    found: dict[str, DetectedCorner] = {}
    raw = np.asarray(resampled["speed"], dtype=np.float64)
    for k, apex in enumerate(mins):
        apex = _sharpen(raw, apex, round(smooth_m / step))
        corner = _corner_at(grid, raw, (peaks[k], apex, peaks[k + 1]), table, k + 1)
        known = found.get(corner.name)
        if known is None or corner.min_speed_kmh < known.min_speed_kmh:
            found[corner.name] = corner
    return sorted(found.values(), key=lambda c: c.apex_m)


def corners_on_lap(resampled: Columns, corners: Sequence[Corner]) -> list[DetectedCorner]:
    """A track's fixed corner set measured on one lap: each corner keeps its name and extent;
    its apex is this lap's slowest point inside it. No corner is added, merged or renumbered,
    so every page of every lap on the track names the same corners."""
    grid = resampled["lap_dist"]
    speed = np.asarray(resampled["speed"], dtype=np.float64)
    out = []
    for c in sorted(corners, key=lambda c: c.apex_m):
        inside = _span(grid, c.start_m, c.end_m)
        part = speed[inside]
        if part.size == 0 or not np.isfinite(part).any():
            continue  # the lap does not reach this corner (a short partial lap)
        k = int(np.nanargmin(part))
        out.append(
            DetectedCorner(
                c.name, float(c.start_m), float(grid[inside][k]), float(c.end_m), float(part[k]), True
            )
        )
    return out


def _sharpen(raw: np.ndarray, apex: int, reach: int) -> int:
    # Smoothing finds the dip but lifts and blurs its bottom; the apex is the slowest raw
    # sample near the smoothed minimum.
    lo = max(0, apex - reach)
    return lo + int(np.argmin(raw[lo : apex + reach + 1]))


def _corner_at(
    grid: np.ndarray, speed: np.ndarray, idx: tuple[int, int, int], table: Sequence[Corner], number: int
) -> DetectedCorner:
    peak_in, apex, peak_out = idx
    apex_m, v_min = float(grid[apex]), float(speed[apex])
    match = _table_match(table, apex_m, near_m=100.0)
    if match is not None:
        return DetectedCorner(match.name, float(match.start_m), apex_m, float(match.end_m), v_min, True)
    start_m, end_m = _extent(grid, speed, peak_in, apex, peak_out)
    return DetectedCorner(f"T{number}", start_m, apex_m, end_m, v_min)


# --------------------------------------------------------------------------- lap comparison


@dataclass(frozen=True)
class CornerRow:
    """One corner compared between a reference lap and another lap.

    Distances in m, speeds in km/h, times in s; time deltas > 0 mean the other lap lost
    time. `start_m`/`apex_m`/`end_m` are the corner itself. Its time account runs wider,
    `from_m`..`to_m`: from the earlier of the two braking points (braking too early is the
    corner's fault, not the straight's) to where the two laps' speeds meet again after the
    exit (a slow exit costs time all the way down the next straight). `exit_delta_s` is the
    part of `time_delta_s` lost after `end_m`.
    """

    name: str
    start_m: float
    apex_m: float
    end_m: float
    from_m: float
    to_m: float
    ref_brake_m: float | None
    other_brake_m: float | None
    ref_min_kmh: float
    other_min_kmh: float
    ref_exit_kmh: float
    other_exit_kmh: float
    time_delta_s: float
    exit_delta_s: float

    @property
    def brake_delta_m(self) -> float | None:
        """Metres the other lap braked later (> 0) or earlier (< 0) than the reference."""
        if self.ref_brake_m is None or self.other_brake_m is None:
            return None
        return self.other_brake_m - self.ref_brake_m

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "brake_delta_m": self.brake_delta_m}


@dataclass(frozen=True)
class SegmentRow:
    """A straight between two corners' time accounts (or between the line and a corner)."""

    name: str
    start_m: float
    end_m: float
    ref_max_kmh: float
    other_max_kmh: float
    time_delta_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Account:
    corner: DetectedCorner
    from_m: float
    to_m: float
    ref_brake_m: float | None
    other_brake_m: float | None


@dataclass(frozen=True)
class _Pair:
    """Two resampled laps on the reference grid, with the delta between them."""

    grid: np.ndarray
    ref: Columns
    other: Columns
    ref_speed: np.ndarray
    other_speed: np.ndarray
    delta: np.ndarray

    @classmethod
    def of(cls, ref: Columns, other: Columns) -> _Pair:
        grid = ref["lap_dist"]
        other_speed = np.interp(grid, other["lap_dist"], other["speed"])
        return cls(
            grid,
            ref,
            other,
            np.asarray(ref["speed"], dtype=np.float64),
            other_speed,
            cumulative_delta(ref, other),
        )

    def delta_between(self, lo_m: float, hi_m: float) -> float:
        return _at(self.grid, self.delta, hi_m) - _at(self.grid, self.delta, lo_m)


def _at(grid: np.ndarray, values: np.ndarray, where_m: float) -> float:
    return float(np.interp(where_m, grid, values))


def _span(grid: np.ndarray, lo_m: float, hi_m: float) -> slice:
    lo = int(np.searchsorted(grid, lo_m, side="left"))
    hi = int(np.searchsorted(grid, hi_m, side="right"))
    return slice(lo, max(hi, lo + 1))


def braking_point(resampled: Columns, *, from_m: float, apex_m: float) -> float | None:
    """Distance in m where the brake first passes 10% between from_m and apex_m.

    None when the lap has no brake channel or did not brake there. If the brake is already
    on at from_m the braking started earlier than the window, and from_m is returned.
    """
    brake = resampled.get("brake")
    if brake is None:
        return None
    grid = resampled["lap_dist"]
    window = _span(grid, from_m, apex_m)
    hits = np.flatnonzero(np.asarray(brake[window], dtype=np.float64) > BRAKE_ON)
    return float(grid[window][hits[0]]) if hits.size else None


def _opening(
    pair: _Pair, corner: DetectedCorner, prev_end: float
) -> tuple[float, float | None, float | None]:
    lo = max(prev_end, corner.apex_m - BRAKE_LOOKBACK_M)
    ref_brake, other_brake = (
        braking_point(lap, from_m=lo, apex_m=corner.apex_m) for lap in (pair.ref, pair.other)
    )
    start = min([corner.start_m, *[b for b in (ref_brake, other_brake) if b is not None]])
    return min(max(start, prev_end), corner.apex_m), ref_brake, other_brake


def _speeds_meet(pair: _Pair, after_m: float, limit_m: float) -> float:
    """First distance after after_m where both laps run within SPEED_MATCH_KMH, capped."""
    window = _span(pair.grid, after_m, limit_m)
    gap = np.abs(pair.other_speed[window] - pair.ref_speed[window])
    close = np.flatnonzero(gap <= SPEED_MATCH_KMH)
    meet = float(pair.grid[window][close[0]]) if close.size else limit_m
    return min(max(meet, after_m), limit_m)


def _accounts(pair: _Pair, corners: Sequence[DetectedCorner]) -> list[_Account]:
    """Time accounts of the corners, in order, never overlapping one another."""
    openings = []
    prev_end = 0.0
    for corner in corners:
        openings.append(_opening(pair, corner, prev_end))
        prev_end = max(prev_end, corner.end_m)
    out = []
    for k, corner in enumerate(corners):
        from_m, ref_brake, other_brake = openings[k]
        limit = openings[k + 1][0] if k + 1 < len(corners) else float(pair.grid[-1])
        to_m = min(_speeds_meet(pair, corner.end_m, limit), limit) if corner.end_m < limit else limit
        out.append(_Account(corner, from_m, max(to_m, from_m), ref_brake, other_brake))
    return out


def _corner_row(pair: _Pair, acc: _Account) -> CornerRow:
    corner, grid = acc.corner, pair.grid
    inside = _span(grid, corner.start_m, corner.end_m)
    exit_from = min(max(corner.end_m, acc.from_m), acc.to_m)
    return CornerRow(
        name=corner.name,
        start_m=corner.start_m,
        apex_m=corner.apex_m,
        end_m=corner.end_m,
        from_m=acc.from_m,
        to_m=acc.to_m,
        ref_brake_m=acc.ref_brake_m,
        other_brake_m=acc.other_brake_m,
        ref_min_kmh=float(np.min(pair.ref_speed[inside])),
        other_min_kmh=float(np.min(pair.other_speed[inside])),
        ref_exit_kmh=_at(grid, pair.ref_speed, corner.end_m),
        other_exit_kmh=_at(grid, pair.other_speed, corner.end_m),
        time_delta_s=pair.delta_between(acc.from_m, acc.to_m),
        exit_delta_s=pair.delta_between(exit_from, acc.to_m),
    )


def corner_table(
    ref: Columns,
    other: Columns,
    *,
    track: TrackInfo | None = None,
    corners: Sequence[DetectedCorner] | None = None,
) -> list[CornerRow]:
    """Compare two resampled laps corner by corner (corners found on the reference lap).

    `corners` are the reference lap's corners when already known (stored after the lap's
    analysis); without them they are detected here.
    """
    pair = _Pair.of(ref, other)
    found = detect_corners(ref, track=track) if corners is None else corners
    return [_corner_row(pair, acc) for acc in _accounts(pair, found)]


def segment_table(
    ref: Columns,
    other: Columns,
    *,
    track: TrackInfo | None = None,
    corners: Sequence[DetectedCorner] | None = None,
) -> list[SegmentRow]:
    """Compare two resampled laps on the straights between the corners' time accounts.

    Corner accounts and straights tile the lap, so their time deltas add up to the lap delta.
    """
    pair = _Pair.of(ref, other)
    rows = corner_table(ref, other, track=track, corners=corners)
    ends = [("Start", 0.0), *[(r.name, r.to_m) for r in rows]]
    starts = [*[(r.name, r.from_m) for r in rows], ("Finish", float(pair.grid[-1]))]
    out = []
    for (after, lo), (before, hi) in zip(ends, starts, strict=True):
        if hi - lo < 1e-9:
            continue
        span = _span(pair.grid, lo, hi)
        name = f"{after} \u2192 {before}"
        maxima = float(np.max(pair.ref_speed[span])), float(np.max(pair.other_speed[span]))
        out.append(SegmentRow(name, lo, hi, *maxima, pair.delta_between(lo, hi)))
    return out


# --------------------------------------------------------------------------- lap summary


@dataclass(frozen=True)
class LapSummary:
    """Plain facts about one lap. Units: s, m, km/h, fractions 0..1, %, l, °C, g."""

    duration_s: float | None
    max_speed_kmh: float | None
    avg_speed_kmh: float | None
    avg_throttle: float | None
    full_throttle_pct: float | None
    brake_count: int | None
    fuel_used_l: float | None
    peak_g: float | None
    tyre_temp_avg: dict[str, float]
    brake_temp_max: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _weights(trace: Columns) -> np.ndarray | None:
    """Seconds each frame stands for, so averages do not depend on the frame rate."""
    t = trace.get("t")
    if t is None or len(t) < 2:
        return None
    dt = np.diff(np.asarray(t, dtype=np.float64))
    dt = np.clip(dt, 0.0, 1.0)  # a gap of more than a second is a pause, not driving
    return np.concatenate((dt, dt[-1:]))


def _mean(trace: Columns, name: str, w: np.ndarray | None) -> float | None:
    values = trace.get(name)
    if values is None:
        return None
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values)
    if not ok.any():
        return None
    weights = w[ok] if w is not None and w[ok].sum() > 0 else None
    return float(np.average(values[ok], weights=weights))


def _count_presses(brake: np.ndarray) -> int:
    # Hysteresis: a press starts above 10% and ends below 5%, so a pedal trembling around
    # one threshold is still one press.
    state = np.where(brake > BRAKE_ON, 1, np.where(brake < BRAKE_ON / 2, 0, -1))
    known = np.where(state >= 0, np.arange(state.size), 0)
    filled = state[np.maximum.accumulate(known)]
    filled = np.where(filled < 0, 0, filled)
    return int(np.count_nonzero(np.diff(np.concatenate(([0], filled))) == 1))


def _fuel_used(fuel: np.ndarray) -> float | None:
    fuel = fuel[np.isfinite(fuel)]
    if fuel.size < 2:
        return None
    # Only drops count, so refuelling in a pit stop does not make the lap look frugal.
    return float(np.sum(np.clip(-np.diff(fuel), 0.0, None)))


def _per_wheel(trace: Columns, stem: str, reduce: Any) -> dict[str, float]:
    out = {}
    for wheel in WHEELS:
        values = trace.get(f"{stem}_{wheel}")
        if values is not None and np.isfinite(values).any():
            out[wheel] = float(reduce(values))
    return out


def lap_summary(trace: Columns) -> LapSummary:
    """Summarise one lap trace (raw frames or resampled); missing channels give None/{}."""
    w = _weights(trace)
    speed, throttle, brake, fuel = (trace.get(k) for k in ("speed", "throttle", "brake", "fuel"))
    full = None
    if throttle is not None:
        full_mask = (np.asarray(throttle) >= FULL_THROTTLE).astype(np.float64)
        full = 100.0 * float(np.average(full_mask, weights=w))
    t = trace.get("t")
    return LapSummary(
        duration_s=float(t[-1] - t[0]) if t is not None and len(t) else None,
        max_speed_kmh=float(np.nanmax(speed)) if speed is not None else None,
        avg_speed_kmh=_mean(trace, "speed", w),
        avg_throttle=_mean(trace, "throttle", w),
        full_throttle_pct=full,
        brake_count=_count_presses(np.asarray(brake, dtype=np.float64)) if brake is not None else None,
        fuel_used_l=_fuel_used(np.asarray(fuel, dtype=np.float64)) if fuel is not None else None,
        peak_g=_peak_g(trace),
        tyre_temp_avg=_per_wheel(trace, "tyre_temp", np.nanmean),
        brake_temp_max=_per_wheel(trace, "brake_temp", np.nanmax),
    )


def _peak_g(trace: Columns) -> float | None:
    lat, lon = trace.get("g_lat"), trace.get("g_lon")
    if lat is None or lon is None:
        return None
    return float(np.nanmax(np.hypot(lat, lon)))


def biggest_losses(rows: Iterable[CornerRow], n: int = 3) -> list[CornerRow]:
    """The n corners where the other lap lost most time, worst first."""
    return sorted((r for r in rows if r.time_delta_s > 0), key=lambda r: -r.time_delta_s)[:n]
