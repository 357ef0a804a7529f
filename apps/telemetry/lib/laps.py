"""Lap segmentation over the frame stream, from the game's own lap counter and timing.

Pure: no Django. The state is a small JSON-able dict saved with every stored batch, so a
reconnecting agent (or a restarted server) carries on exactly where the last batch left off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apps.sessions.lib.laps import CompletedLap
from apps.traces.lib.columns import Columns

# How long to wait for the game to publish the finished lap's time before measuring it
# ourselves: games update the lap counter and the last-lap time on different ticks.
GAME_TIME_GRACE_S = 2.0


@dataclass
class LapState:
    lap: int | None = None
    t_start: float = 0.0
    started_in_pit: bool = False
    partial: bool = False
    fuel_start: float | None = None
    sector: int = 0
    splits: list[float] = field(default_factory=list)  # lap_time at each sector boundary
    invalid: bool = False
    in_pit_seen_late: bool = False
    prev_game_last: float = -1.0  # the game's last_lap_time before the pending lap ended
    pending: dict[str, Any] | None = None  # a finished lap waiting for the game's time


class LapTracker:
    def __init__(self, state: dict[str, Any] | None = None) -> None:
        # Its own copy of `splits`, the one value the tracker changes in place (`pending` is
        # only ever replaced): the caller's state stays as it was, and a failed write leaves
        # the cursor untouched without a deep copy per batch.
        state = state or {}
        self.s = LapState(**{**state, "splits": list(state.get("splits", ()))})

    def state(self) -> dict[str, Any]:
        return {**vars(self.s), "splits": list(self.s.splits)}

    def feed(self, cols: Columns) -> list[CompletedLap]:
        """Advance over a batch of frames; return the laps whose times are now known."""
        done: list[CompletedLap] = []
        lap = cols["lap"].astype(np.int64)
        start = 0
        if self.s.lap is None:
            self._begin(cols, 0, first=True)
        # Indices where the lap counter moves on: each closes the lap before it.
        previous = np.concatenate((np.array([self.s.lap], dtype=np.int64), lap[:-1]))
        for i in np.flatnonzero(lap != previous):
            self._scan(cols, start, int(i))
            done += self._resolve_pending(cols, start, int(i))
            if lap[i] > (self.s.lap or 0):
                self._close(cols, int(i))
            self._begin(cols, int(i), first=False)
            start = int(i)
        self._scan(cols, start, len(lap))
        done += self._resolve_pending(cols, start, len(lap))
        return done

    def _begin(self, cols: Columns, i: int, *, first: bool) -> None:
        s = self.s
        s.lap = int(cols["lap"][i])
        s.t_start = float(cols["t"][i])
        s.started_in_pit = bool(_at(cols, "in_pit", i, 0.0))
        # Joined mid-lap: a lap we did not see from the line has no full trace.
        s.partial = first and not s.started_in_pit and float(cols["lap_dist"][i]) > 200.0
        s.fuel_start = _at(cols, "fuel", i, None)
        s.sector, s.splits, s.invalid, s.in_pit_seen_late = (
            int(_at(cols, "sector", i, 0.0) or 0),
            [],
            False,
            False,
        )
        if first:
            s.prev_game_last = float(_at(cols, "last_lap_time", i, -1.0) or -1.0)

    def _scan(self, cols: Columns, a: int, b: int) -> None:
        """Accumulate sector splits, validity and pit state over frames [a, b) of the lap."""
        if a >= b:
            return
        s = self.s
        if "lap_valid" in cols and not bool(np.all(cols["lap_valid"][a:b] > 0.5)):
            s.invalid = True
        if (
            "in_pit" in cols
            and bool(np.any(cols["in_pit"][a:b] > 0.5))
            and float(cols["lap_dist"][b - 1]) > 0
        ):
            s.in_pit_seen_late = bool(cols["in_pit"][b - 1] > 0.5)
        if "sector" in cols:
            sec = cols["sector"][a:b].astype(np.int64)
            for j in np.flatnonzero(sec != np.concatenate(([s.sector], sec[:-1]))):
                if sec[j] == s.sector + 1:
                    s.splits.append(float(cols["lap_time"][a + j]))
                s.sector = int(sec[j])

    def _close(self, cols: Columns, i: int) -> None:
        """The counter moved on at frame i: park the finished lap until its time is known."""
        s = self.s
        fuel_end = _at(cols, "fuel", i, None)
        s.pending = {
            "number": s.lap,
            "t_start": s.t_start,
            "t_end": float(cols["t"][i]),
            "splits": list(s.splits),
            "valid": not s.invalid and not s.partial,
            "is_out_lap": s.started_in_pit,
            "is_in_lap": s.in_pit_seen_late or bool(_at(cols, "in_pit", i, 0.0)),
            "partial": s.partial,
            "fuel_used_l": (s.fuel_start - fuel_end)
            if s.fuel_start is not None and fuel_end is not None
            else None,
        }

    def _resolve_pending(self, cols: Columns, a: int, b: int) -> list[CompletedLap]:
        p = self.s.pending
        if p is None or a >= b:
            return []
        if "last_lap_time" in cols:
            last = cols["last_lap_time"][a:b]
            changed = np.flatnonzero((np.abs(last - self.s.prev_game_last) > 1e-6) & (last > 0))
            if changed.size:
                self.s.prev_game_last = float(last[changed[0]])
                return [self._finish("game", self.s.prev_game_last)]
        if float(cols["t"][b - 1]) - p["t_end"] < GAME_TIME_GRACE_S and "last_lap_time" in cols:
            return []
        measured = p["t_end"] - p["t_start"]
        # Unchanged but equal to what we measured: two laps to the same thousandth.
        if "last_lap_time" in cols and abs(float(cols["last_lap_time"][b - 1]) - measured) < 0.05:
            return [self._finish("game", float(cols["last_lap_time"][b - 1]))]
        return [self._finish("measured", measured)]

    def _finish(self, timing: str, time_s: float) -> CompletedLap:
        p = self.s.pending
        assert p is not None
        self.s.pending = None
        splits = [x for x in p["splits"] if 0 < x < time_s]
        bounds = [0.0, *splits, time_s]
        sectors = [round(b - a, 3) for a, b in zip(bounds, bounds[1:], strict=False)] if splits else []
        return CompletedLap(
            number=p["number"],
            t_start=p["t_start"],
            t_end=p["t_end"],
            time_s=time_s,
            timing=timing,
            sectors_s=sectors,
            valid=p["valid"],
            is_out_lap=p["is_out_lap"],
            is_in_lap=p["is_in_lap"],
            partial=p["partial"],
            fuel_used_l=p["fuel_used_l"],
        )


def _at(cols: Columns, name: str, i: int, default: float | None) -> float | None:
    return float(cols[name][i]) if name in cols else default
