"""Corner history: how a driver goes through each corner of a track, session after session.

Pure (numpy, no Django): the stored per-lap corner measures of green laps in (what `lap_analyse` keeps in
`Lap.stats["analysis"]`), per-session numbers, trends in words and the weakest corners out.
No trace is read. Units: s, m (lap distance), km/h. A braking point with a larger distance
is later. "Lost" is the median time through a corner minus the reference lap's time there.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import numpy as np

from apps.traces.lib.analysis import DetectedCorner, braking_point
from apps.traces.lib.columns import Columns
from simcoach_site.lib.units import (
    STORED,
    Units,
    distance_from_m,
    distance_unit,
    fmt_distance,
    speed_from_kmh,
)

# The stored lap analysis's version: 2 added each corner's time through it, braking point and
# exit speed (what history reads). Laps analysed before are found and done again
# (selectors.lap_ids_unanalysed, the periodic sweep).
ANALYSIS_VERSION: Final = 2
TIME_CHANGE_S: Final = 0.02  # smaller changes through a corner are noise, not progress
BRAKE_CHANGE_M: Final = 3.0
SPEED_CHANGE_KMH: Final = 1.0
WEAK_LOSS_S: Final = 0.01  # a corner losing less than this to the reference is not weak
BRAKE_SEARCH_M: Final = 150.0  # how far before a corner's start its braking point is looked for


@dataclass(frozen=True)
class CornerMeasure:
    """One lap through one corner."""

    time_s: float | None
    brake_m: float | None
    min_kmh: float | None
    exit_kmh: float | None


@dataclass(frozen=True)
class SessionLaps:
    """The green laps of one session that carry corner measures, by corner name."""

    session_id: int
    date: str
    laps: Sequence[Mapping[str, CornerMeasure]]


@dataclass(frozen=True)
class SessionCorner:
    """One corner in one session: medians over its green laps, best and consistency."""

    session_id: int
    date: str
    laps: int
    best_s: float | None
    median_s: float | None
    sd_s: float | None  # sample standard deviation of the time through it
    lost_s: float | None  # median minus the reference lap's time here
    brake_m: float | None
    min_kmh: float | None
    exit_kmh: float | None


@dataclass(frozen=True)
class CornerHistory:
    name: str
    reference_s: float | None
    sessions: list[SessionCorner] = field(default_factory=list)

    @property
    def now(self) -> SessionCorner | None:
        return self.sessions[-1] if self.sessions else None

    def change(self, attr: str) -> float | None:
        """Last session minus first session with a value, None with fewer than two."""
        values = [getattr(s, attr) for s in self.sessions if getattr(s, attr) is not None]
        return values[-1] - values[0] if len(values) >= 2 else None

    def trend(self, units: Units = STORED) -> str:
        return trend_words(self, units)

    def to_dict(self, units: Units = STORED) -> dict[str, Any]:
        return {
            "corner": self.name,
            "reference_s": self.reference_s,
            "sessions": [asdict(s) for s in self.sessions],
            "trend": self.trend(units),
        }


def corner_measures(resampled: Columns, corners: Sequence[DetectedCorner]) -> dict[str, dict[str, Any]]:
    """Per corner of one resampled lap: time through it (s), braking point (m), exit speed (km/h).

    `lap_analyse` stores these beside the lap's corners so history reads sessions of laps
    without their traces. The braking point is searched from BRAKE_SEARCH_M before the
    corner's start, never back into the corner before it.
    """
    grid, speed, t = resampled["lap_dist"], resampled["speed"], resampled.get("t")
    out: dict[str, dict[str, Any]] = {}
    prev_end = 0.0
    for c in corners:
        lo = int(np.searchsorted(grid, c.start_m))
        hi = min(int(np.searchsorted(grid, c.end_m)), grid.size - 1)
        time_s = float(t[hi] - t[lo]) if t is not None and hi > lo else None
        brake = braking_point(resampled, from_m=max(prev_end, c.start_m - BRAKE_SEARCH_M), apex_m=c.apex_m)
        exit_kmh = float(speed[hi]) if np.isfinite(speed[hi]) else None
        out[c.name] = {"time_s": time_s, "brake_m": brake, "exit_kmh": exit_kmh}
        prev_end = c.end_m
    return out


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def _r(value: float | None, digits: int) -> float | None:
    # + 0.0 turns -0.0 into 0.0: "-0.0 s" reads like a change that is not there.
    return None if value is None else round(value, digits) + 0.0


def session_corner(laps: SessionLaps, name: str, reference_s: float | None) -> SessionCorner | None:
    rows = [lap[name] for lap in laps.laps if name in lap]
    if not rows:
        return None
    times = [r.time_s for r in rows if r.time_s is not None]
    median = _median(times)
    lost = median - reference_s if median is not None and reference_s is not None else None
    return SessionCorner(
        session_id=laps.session_id,
        date=laps.date,
        laps=len(rows),
        best_s=_r(min(times), 3) if times else None,
        median_s=_r(median, 3),
        sd_s=_r(statistics.stdev(times), 3) if len(times) >= 2 else None,
        lost_s=_r(lost, 3),
        brake_m=_r(_median([r.brake_m for r in rows]), 0),
        min_kmh=_r(_median([r.min_kmh for r in rows]), 1),
        exit_kmh=_r(_median([r.exit_kmh for r in rows]), 1),
    )


def corner_history(
    sessions: Sequence[SessionLaps], names: Sequence[str], reference: Mapping[str, CornerMeasure]
) -> list[CornerHistory]:
    """Per corner of the track's set (in lap order), its numbers in each session, oldest first."""
    out = []
    for name in names:
        ref = reference.get(name)
        ref_s = ref.time_s if ref is not None else None
        rows = [row for s in sessions if (row := session_corner(s, name, ref_s)) is not None]
        out.append(CornerHistory(name, ref_s, rows))
    return out


def _signed(value: float, digits: int) -> str:
    # A real minus sign: the page and the report print the same "−0.21 s".
    text = f"{abs(value):.{digits}f}"
    return f"−{text}" if value < 0 else f"+{text}"


def trend_words(history: CornerHistory, units: Units = STORED) -> str:
    """ "T5: −0.21 s over 4 sessions; braking 9 m later; minimum +3.1 km/h" (in `units`)."""
    n = len(history.sessions)
    if n < 2:
        return f"{history.name}: one session so far" if n else f"{history.name}: no laps yet"
    changes = {attr: history.change(attr) for attr in ("median_s", "brake_m", "min_kmh", "exit_kmh")}
    return change_words(history.name, n, changes, units)


def change_words(name: str, sessions: int, changes: Mapping[str, float | None], units: Units) -> str:
    """A corner's changes over `sessions` sessions (keys median_s, brake_m, min_kmh, exit_kmh,
    stored units) as the trend sentence, in the reader's units: the page and the report panel
    both say it through here."""
    parts = []
    time = changes.get("median_s")
    if time is not None and abs(time) >= TIME_CHANGE_S:
        parts.append(f"{_signed(time, 2)} s over {sessions} sessions")
    else:
        parts.append(f"no change in time over {sessions} sessions")
    brake = changes.get("brake_m")
    if brake is not None and abs(brake) >= BRAKE_CHANGE_M:
        parts.append(f"braking {fmt_distance(abs(brake), units)} {'later' if brake > 0 else 'earlier'}")
    for attr, label in (("min_kmh", "minimum"), ("exit_kmh", "exit")):
        change = changes.get(attr)
        if change is not None and abs(change) >= SPEED_CHANGE_KMH:
            shown = speed_from_kmh(change, units.speed)
            parts.append(f"{label} {_signed(shown, 1)} {units.speed}")
    return f"{name}: " + "; ".join(parts)


def weakest(histories: Sequence[CornerHistory], n: int = 3) -> list[CornerHistory]:
    """The corners losing most to the reference in the latest session, worst first."""
    latest = max((h.now.session_id for h in histories if h.now is not None), default=None)
    losing = [
        h
        for h in histories
        if h.now is not None
        and h.now.session_id == latest
        and h.now.lost_s is not None
        and h.now.lost_s >= WEAK_LOSS_S
    ]
    return sorted(losing, key=lambda h: -(h.now.lost_s or 0.0) if h.now else 0.0)[:n]


def measure_of(stored: Mapping[str, Any], corners: Sequence[Mapping[str, Any]]) -> dict[str, CornerMeasure]:
    """A lap's corner measures from its stored analysis ("corner_measures" and "corners")."""
    minimum = {c["name"]: c.get("min_speed_kmh") for c in corners if "name" in c}
    return {
        name: CornerMeasure(m.get("time_s"), m.get("brake_m"), minimum.get(name), m.get("exit_kmh"))
        for name, m in stored.items()
        if isinstance(m, Mapping)
    }


def history_facts(histories: Sequence[CornerHistory]) -> dict[str, Any]:
    """What the report may cite about the driver's past at this track: the changes and the
    weakest corners now, rounded as the page shows them."""
    rows = []
    for h in histories:
        if len(h.sessions) < 2:
            continue
        rows.append(
            {
                "corner": h.name,
                "sessions": len(h.sessions),
                "time_change_s": _r(h.change("median_s"), 2),
                "brake_change_m": _r(h.change("brake_m"), 0),
                "min_speed_change_kmh": _r(h.change("min_kmh"), 1),
                "exit_speed_change_kmh": _r(h.change("exit_kmh"), 1),
                "trend": h.trend(),
            }
        )
    weak = [{"corner": h.name, "lost_s": _r(h.now.lost_s, 2)} for h in weakest(histories) if h.now]
    sessions = max((len(h.sessions) for h in histories), default=0)
    return {"sessions": sessions, "corners": rows, "weakest": weak}


@dataclass(frozen=True)
class Spark:
    """A small multiple: one value per session as an SVG polyline in a w×h box."""

    label: str
    unit: str
    points: str  # "x,y x,y ..." for <polyline points>
    dots: list[tuple[float, float]]
    first: float | None
    last: float | None


def spark(label: str, unit: str, values: Sequence[float | None], w: float = 150, h: float = 36) -> Spark:
    """Values scaled into the box (higher value, higher on the chart); gaps are skipped."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if not known:
        return Spark(label, unit, "", [], None, None)
    lo, hi = min(v for _, v in known), max(v for _, v in known)
    span, pad = (hi - lo) or 1.0, 3.0
    step = (w - 2 * pad) / max(1, len(values) - 1)
    dots = [(round(pad + i * step, 1), round(h - pad - (v - lo) / span * (h - 2 * pad), 1)) for i, v in known]
    return Spark(label, unit, " ".join(f"{x},{y}" for x, y in dots), dots, known[0][1], known[-1][1])


def sparks(history: CornerHistory, units: Units = STORED) -> list[Spark]:
    rows = history.sessions

    def dist(v: float | None) -> float | None:
        return None if v is None else distance_from_m(v, units)

    def speed(v: float | None) -> float | None:
        return None if v is None else speed_from_kmh(v, units.speed)

    return [
        spark("time", "s", [r.median_s for r in rows]),
        spark("braking point", distance_unit(units), [dist(r.brake_m) for r in rows]),
        spark("minimum", units.speed, [speed(r.min_kmh) for r in rows]),
        spark("exit", units.speed, [speed(r.exit_kmh) for r in rows]),
    ]
