"""Lap segmentation over the frame stream, from the game's own lap counter and timing.

Pure: no Django. The state is a small JSON-able dict saved with every stored batch, so a
reconnecting agent (or a restarted server) carries on exactly where the last batch left off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from apps.sessions.lib.laps import GAME, UNTIMED, CompletedLap, lap_truth
from apps.traces.lib.columns import Columns

# How long to wait for the game to publish the finished lap's time before measuring it
# ourselves: games update the lap counter and the last-lap time on different ticks.
GAME_TIME_GRACE_S = 2.0
# Frames further apart than this left a hole (an agent restarted, a rig that slept): what
# happened in it (a sector boundary, the line) was not seen, so no time is read across it.
FRAME_GAP_S = 1.0
# A game may publish the new lap's sector a few ticks after its lap counter: sector readings
# in the first second of a lap are not boundaries.
SECTOR_LAG_S = 1.0


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
    # The session's sector layout: the highest sector index seen + 1. A lap whose splits do
    # not fit it (a boundary missed in a hole, a glitching sector reading) keeps no sectors
    # rather than wrong ones. Saved with the state, so a resumed stream keeps the layout.
    sector_count: int = 0
    splits_broken: bool = False  # a split of this lap was missed or read across a hole
    last_t: float | None = None  # t of the last frame seen, to find holes across batches


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
            hole = self._hole_before(cols, int(i))
            if lap[i] > (self.s.lap or 0):
                self._close(cols, int(i), end_unseen=hole)
            self._begin(cols, int(i), first=False, after_hole=hole)
            start = int(i)
        self._scan(cols, start, len(lap))
        done += self._resolve_pending(cols, start, len(lap))
        if len(lap):
            self.s.last_t = float(cols["t"][-1])
        return done

    def _hole_before(self, cols: Columns, i: int) -> bool:
        before = float(cols["t"][i - 1]) if i > 0 else self.s.last_t
        return before is not None and float(cols["t"][i]) - before > FRAME_GAP_S

    def _begin(self, cols: Columns, i: int, *, first: bool, after_hole: bool = False) -> None:
        s = self.s
        s.lap = int(cols["lap"][i])
        s.t_start = float(cols["t"][i])
        s.started_in_pit = bool(_at(cols, "in_pit", i, 0.0))
        # Joined mid-lap: a lap we did not see from the line has no full trace. The first lap
        # of a stream may have begun a moment before (200 m of grace); the first lap after a
        # hole began in the hole, out of sight.
        joined = (first and float(cols["lap_dist"][i]) > 200.0) or after_hole
        s.partial = joined and not s.started_in_pit
        s.fuel_start = _at(cols, "fuel", i, None)
        # Seen crossing the line, the car is in sector 0 whatever a lagging reading says (a
        # game may update the sector a tick after the lap counter); joined, where it is.
        sector = int(_at(cols, "sector", i, 0.0) or 0) if first or after_hole else 0
        s.sector, s.splits, s.invalid, s.in_pit_seen_late = max(sector, 0), [], False, False
        s.splits_broken = s.sector != 0  # a lap begun past the first boundary cannot split it
        s.sector_count = max(s.sector_count, s.sector + 1)
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
            self._scan_sectors(cols, a, b)

    def _scan_sectors(self, cols: Columns, a: int, b: int) -> None:
        s = self.s
        sec = cols["sector"][a:b].astype(np.int64)
        for j in np.flatnonzero(sec != np.concatenate(([s.sector], sec[:-1]))):
            now = int(sec[j])
            if now == s.sector or float(cols["t"][a + j]) - s.t_start < SECTOR_LAG_S:
                # Back from a glitch to where the lap already was; or the last lap's sector
                # read a tick after the line (no car reaches a boundary a second after it).
                continue
            if now < s.sector:
                # Mid-lap a sector never goes back: an unknown reading (a game reports 0 or -1
                # while it starts up, as after an agent restart). Moving back would count the
                # next step forward as a new boundary and split the lap into too many sectors.
                continue
            if now == s.sector + 1 and not self._hole_before(cols, a + int(j)):
                split = float(cols["lap_time"][a + j])
                s.splits_broken |= bool(s.splits) and split <= s.splits[-1]
                s.splits.append(split)
            else:  # a boundary skipped, or crossed while no frames came: its time is unknown
                s.splits_broken = True
            s.sector = now
            s.sector_count = max(s.sector_count, now + 1)

    def _close(self, cols: Columns, i: int, *, end_unseen: bool = False) -> None:
        """The counter moved on at frame i: park the finished lap until its time is known."""
        s = self.s
        fuel_end = _at(cols, "fuel", i, None)
        # All sectors seen, each split once: anything else is a layout we cannot trust.
        whole = not s.splits_broken and s.sector_count >= 2 and len(s.splits) == s.sector_count - 1
        s.pending = {
            "number": s.lap,
            "t_start": s.t_start,
            "t_end": float(cols["t"][i]),
            "splits": list(s.splits) if whole else [],
            "end_unseen": end_unseen,
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
            changed = np.flatnonzero(np.abs(last - self.s.prev_game_last) > 1e-6)
            if changed.size:
                self.s.prev_game_last = float(last[changed[0]])
                game = self.s.prev_game_last
                splits = _game_splits(cols, a + int(changed[0]), b, game) if game > 0 else None
                # -1 posted for the lap (iRacing after a lap it does not count): untimed.
                return [self._finish_by_rule(game, splits, may_measure=False)]
        if float(cols["t"][b - 1]) - p["t_end"] < GAME_TIME_GRACE_S and "last_lap_time" in cols:
            return []
        measured = p["t_end"] - p["t_start"]
        # Unchanged but equal to what we measured: two laps to the same thousandth.
        if "last_lap_time" in cols and abs(float(cols["last_lap_time"][b - 1]) - measured) < 0.05:
            game = float(cols["last_lap_time"][b - 1])
            return [self._finish_by_rule(game, _game_splits(cols, b - 1, b, game), may_measure=False)]
        # A game that publishes lap times but posted none for this lap did not time it; only a
        # source without lap times at all is timed by our own clock (DESIGN: one lap rule).
        return [self._finish_by_rule(None, None, may_measure="last_lap_time" not in cols)]

    def _finish_by_rule(
        self, game_s: float | None, splits: list[float] | None, *, may_measure: bool
    ) -> CompletedLap:
        p = self.s.pending
        assert p is not None
        # Distance is judged by `partial` (joined mid-lap, a hole in the stream), not here.
        truth = lap_truth(
            given_s=game_s,
            measured_s=p["t_end"] - p["t_start"],
            distance_m=None,
            track_length_m=None,
            may_measure=may_measure,
            line_to_line=not p["partial"] and not p.get("end_unseen"),
        )
        return self._finish(truth.timing, truth.time_s, splits)

    def _finish(self, timing: str, time_s: float, game_splits: list[float] | None = None) -> CompletedLap:
        p = self.s.pending
        assert p is not None
        self.s.pending = None
        candidates = game_splits or p["splits"]
        splits = candidates if all(0 < x < time_s for x in candidates) else []
        bounds = [0.0, *splits, time_s]
        sectors = [round(b - a, 3) for a, b in zip(bounds, bounds[1:], strict=False)] if splits else []
        # A lap that ended in a hole and has no game time: measured across the hole, its
        # duration is not its time, so it is kept as partial (never valid, best or a statistic).
        partial = p["partial"] or (timing != GAME and bool(p.get("end_unseen")))
        if partial:
            sectors = []  # the line (and so the last split) was never seen
        return CompletedLap(
            number=p["number"],
            t_start=p["t_start"],
            t_end=p["t_end"],
            time_s=time_s,
            timing=timing,
            sectors_s=sectors,
            valid=p["valid"] and timing != UNTIMED and not partial,
            is_out_lap=p["is_out_lap"],
            is_in_lap=p["is_in_lap"],
            partial=partial,
            fuel_used_l=p["fuel_used_l"],
        )


def _game_splits(cols: Columns, a: int, b: int, time_s: float) -> list[float] | None:
    """The game's own sector splits of the lap whose time it published at frame a, if it gives
    them (last_split1/2): exact, where splits seen in the sector channel are only as fine as
    the frame rate. The first frame of [a, b) that still shows this lap time and splits that
    fit inside it: a game may publish the splits a tick after the time."""
    if "last_split1" not in cols or "last_split2" not in cols:
        return None
    s1, s2 = cols["last_split1"][a:b], cols["last_split2"][a:b]
    same_lap = np.abs(cols["last_lap_time"][a:b] - time_s) < 1e-6
    fits = np.flatnonzero(same_lap & (s1 > 0) & (s1 < s2) & (s2 < time_s))
    return [float(s1[fits[0]]), float(s2[fits[0]])] if fits.size else None


def _at(cols: Columns, name: str, i: int, default: float | None) -> float | None:
    return float(cols[name][i]) if name in cols else default
