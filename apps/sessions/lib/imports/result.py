"""What every importer returns, and the lap arithmetic they share.

An importer turns one file into an `ImportedSession`: our channels (names and units from
`simcoach_agent.channels`) on one time base `t` (seconds from the start of the log), the
source's other channels under their own lower-case names in `extra`, and the laps it found.
Nothing here touches Django: the service that stores a session reads these plain objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from apps.sessions.lib.laps import (
    BEACON,
    GAME,
    UNTIMED,
    LapTruth,
    lap_truth,
)
from simcoach_agent.channels import BY_NAME

FloatArray = NDArray[np.float64]

# Full lock of a steering wheel (centre to one side) where a file gives none: Garage 61's
# angles in rad and our own .ld exports' STEERANGLE in degrees are scaled by it to our
# `steering` (-1 .. 1). 270° (a 540° wheel) keeps the real laps' peaks (87–96°) in range.
ASSUMED_STEER_LOCK_DEG = 270.0

# A lap shorter than this is a glitch (a double beacon, a reset), not a lap; seconds.
MIN_LAP_S = 5.0


class ImportFormatError(ValueError):
    """The file is not in a format we read, or is damaged; the message says what is wrong."""


@dataclass(frozen=True)
class ImportedLap:
    """One lap as found in the file. Times are seconds on the session's `t` base.

    `number` is the game's lap number when the file has one (Crew Chief), else it counts
    from 1 for the first (possibly partial) stretch of the log. `time_s` is the lap's time
    by `timing` (see `lap_truth`): the game's or the beacons' time, or for a "measured" or
    "untimed" lap its duration `end_t - start_t`. `complete` is true when the lap runs
    line to line: it starts and ends on line crossings the file records, or the game timed
    it (lap 1 from a standing or rolling start); out-laps and the lap the log stops in are
    not complete.
    """

    number: int
    start_t: float
    end_t: float
    time_s: float
    valid: bool | None = None
    sectors_s: list[float] | None = None
    complete: bool = True
    # Where `time_s` comes from: "game" (the game's own lap time), "beacon" (the file's own
    # lap markers), "measured" (our duration over a lap whose distance covers the track) or
    # "untimed" (the game gave no time: `time_s` is then only the measured duration).
    timing: str = "measured"
    # The distance covered falls well short of the track (a reset, a tow, the log's edges).
    partial: bool = False


def with_truth(lap: ImportedLap, truth: LapTruth) -> ImportedLap:
    """The lap carrying the rule's verdict: its time, timing and partial flag."""
    return replace(lap, time_s=truth.time_s, timing=truth.timing, partial=truth.partial)


@dataclass
class ImportedSession:
    """One imported file: metadata, aligned channels, extras and laps."""

    source_format: str
    game: str | None
    track: str | None
    car: str | None
    kind: str | None
    started_at: datetime | None
    track_length_m: float | None
    channels: dict[str, FloatArray]
    extra: dict[str, FloatArray] = field(default_factory=dict)
    extra_units: dict[str, str] = field(default_factory=dict)
    laps: list[ImportedLap] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)  # driver, event, device ... as found
    warnings: list[str] = field(default_factory=list)

    @property
    def units(self) -> dict[str, str]:
        """Unit of every channel and extra, by name ("" for dimensionless)."""
        ours = {name: BY_NAME[name].unit for name in self.channels if name in BY_NAME}
        return {**ours, **self.extra_units}


def cumulative_distance(t: FloatArray, speed_kmh: FloatArray) -> FloatArray:
    """Distance travelled since t[0] in metres, trapezoidal integral of speed over time."""
    if len(t) < 2:
        return np.zeros(len(t))
    v = np.nan_to_num(speed_kmh) / 3.6  # metres per second
    steps = np.diff(t) * (v[1:] + v[:-1]) / 2
    return np.concatenate(([0.0], np.cumsum(steps)))


def laps_from_crossings(crossings: Sequence[float], t_end: float) -> list[ImportedLap]:
    """Cut [0, t_end] into laps at the line crossings (seconds on the `t` base).

    A lap between two crossings is timed by them (BEACON). The stretch before the first
    crossing is lap 1 (an out-lap or a lap joined late) and the stretch after the last one
    is the lap the log stops in; both are incomplete and untimed. A crossing less than
    MIN_LAP_S from either end of the log means the log starts (or ends) on the line: no
    stretch of a few samples there becomes a lap of its own, and the crossing, even just
    past the log's end, still times its lap (a lap exported from the line to the line).
    Partial laps are judged afterwards (`judge_partial`), once the track length is known.
    """
    marks = sorted(c for c in crossings if -MIN_LAP_S < c < t_end + MIN_LAP_S)
    starts_on_line = bool(marks) and marks[0] < MIN_LAP_S
    ends_on_line = bool(marks) and marks[-1] > t_end - MIN_LAP_S and (len(marks) > 1 or not starts_on_line)
    inner = [c for c in marks if MIN_LAP_S <= c <= t_end - MIN_LAP_S]
    edges = [marks[0] if starts_on_line else 0.0, *inner, marks[-1] if ends_on_line else t_end]
    laps: list[ImportedLap] = []
    for i in range(len(edges) - 1):
        start, end = edges[i], edges[i + 1]
        if end - start <= 0:
            continue
        complete = (i > 0 or starts_on_line) and (i < len(edges) - 2 or ends_on_line)
        start_t, end_t = max(start, 0.0), min(end, t_end)
        timing, time_s = (BEACON, end - start) if complete else (UNTIMED, end_t - start_t)
        laps.append(ImportedLap(len(laps) + 1, start_t, end_t, time_s, None, None, complete, timing))
    return laps


def judge_partial(
    t: FloatArray, speed_kmh: FloatArray, laps: Sequence[ImportedLap], track_length_m: float | None
) -> list[ImportedLap]:
    """The laps with the one lap rule applied on their driven distance (speed integral)."""
    judged = []
    for lap in laps:
        given = lap.time_s if lap.timing in (GAME, BEACON) else None
        truth = lap_truth(
            given_s=given,
            given_by=lap.timing,
            measured_s=lap.end_t - lap.start_t,
            distance_m=lap_distance(t, speed_kmh, lap),
            track_length_m=track_length_m,
        )
        judged.append(with_truth(lap, truth))
    return judged


def lap_channels(t: FloatArray, speed_kmh: FloatArray, laps: Sequence[ImportedLap]) -> dict[str, FloatArray]:
    """Per-sample `lap`, `lap_time` (s) and `lap_dist` (m, integrated speed) for the laps."""
    lap = np.zeros(len(t))
    lap_time = np.zeros(len(t))
    lap_dist = np.zeros(len(t))
    dist = cumulative_distance(t, speed_kmh)
    for one, (first, stop) in zip(laps, _lap_slices(t, laps), strict=True):
        # each sample belongs to the lap whose [start, end) holds it; the last lap keeps its end
        if stop <= first:
            continue
        lap[first:stop] = one.number
        lap_time[first:stop] = t[first:stop] - one.start_t
        lap_dist[first:stop] = dist[first:stop] - dist[first]
    return {"lap": lap, "lap_time": lap_time, "lap_dist": lap_dist}


def _lap_slices(t: FloatArray, laps: Sequence[ImportedLap]) -> list[tuple[int, int]]:
    """Sample index range [first, stop) of each lap in the sorted `t` (the last runs to the end).

    Binary search, not a mask over every sample per lap: a file with thousands of laps
    would otherwise cost laps × samples.
    """
    starts = np.searchsorted(t, [one.start_t for one in laps], side="left")
    stops = np.searchsorted(t, [one.end_t for one in laps], side="left")
    if len(laps):
        stops[-1] = len(t)
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def lap_distance(t: FloatArray, speed_kmh: FloatArray, lap: ImportedLap) -> float:
    """Metres driven in one lap: speed integrated between its start and end times."""
    inside = t[np.searchsorted(t, lap.start_t, side="right") : np.searchsorted(t, lap.end_t, side="left")]
    grid = np.concatenate(([lap.start_t], inside, [lap.end_t]))
    v = np.interp(grid, t, np.nan_to_num(speed_kmh))
    return float(cumulative_distance(grid, v)[-1])


def track_length(t: FloatArray, speed_kmh: FloatArray, laps: Sequence[ImportedLap]) -> float | None:
    """Median distance of the complete laps in metres, or None without a complete lap.

    The median, not the mean: a lap through the pit lane or with an off is longer or
    shorter than the track, and there are rarely more of those than clean laps.
    """
    dists = [lap_distance(t, speed_kmh, lap) for lap in laps if lap.complete and not lap.partial]
    return float(np.median(dists)) if dists else None


def resample(t_src: FloatArray, values: FloatArray, t: FloatArray, *, step: bool = False) -> FloatArray:
    """Values of one channel at the times `t`.

    Linear interpolation for continuous quantities; `step` holds the previous sample
    instead, for gears, flags and counters, which must never take in-between values.
    """
    if len(t_src) == 0:
        return np.full(len(t), np.nan)
    if not step:
        return np.interp(t, t_src, values)
    idx = np.clip(np.searchsorted(t_src, t, side="right") - 1, 0, len(t_src) - 1)
    return values[idx]


PEDALS = ("throttle", "brake", "clutch")


def clamp_pedals(channels: dict[str, FloatArray]) -> None:
    """Clip pedal channels to 0..1 in place; games log float noise such as -1.4e-9."""
    for name in PEDALS:
        if name in channels:
            np.clip(channels[name], 0.0, 1.0, out=channels[name])


def csv_number(text: str) -> float:
    """A CSV cell as a number: true/false as 1/0, empty or unparsable as NaN."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return 1.0 if low == "true" else 0.0
    try:
        return float(low) if low else np.nan
    except ValueError:
        return np.nan
