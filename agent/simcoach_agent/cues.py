"""Cues pinned to a place on track: say a short text a set time before the car reaches it.

The server sends ``{"type": "cue", ...}`` and ``{"type": "cue_removed", "id"}``; the producer
thread feeds every frame's (lap, lap distance, speed, in pit) to a ``CueBoard``, which returns
the cues due at that frame. A cue is said at most once per lap, and only on a lap on which the
board saw it coming from further out than its lead time ("armed"): a cue pinned a moment
before its point, or a car that appears right in front of it, waits for the next lap instead
of being said too late to act on.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

MIN_SPEED_MS: Final = 1.0  # below this the car is (nearly) stopped: no time to the point
LEAD_RANGE_S: Final = (1.0, 15.0)
TEXT_MAX: Final = 80
REPEATS: Final = ("every_lap", "once")


class CueError(ValueError):
    """A cue message from the server that cannot be used."""


@dataclass(frozen=True)
class Cue:
    id: int
    at_m: float  # lap distance of the point, metres
    text: str
    lead_s: float = 3.0  # seconds before the point to say it
    repeat: str = "every_lap"
    label: str = ""  # what the point is called (a corner), for the printed line

    @classmethod
    def from_message(cls, msg: dict[str, Any]) -> Cue:
        """The cue in a server ``cue`` message; CueError says what is wrong with it."""
        cid, at_m, lead_s = msg.get("id"), msg.get("at_m"), msg.get("lead_s", 3.0)
        text, repeat, label = msg.get("text"), msg.get("repeat", "every_lap"), msg.get("label", "")
        if not isinstance(cid, int) or isinstance(cid, bool) or cid <= 0:
            raise CueError("cue id must be a positive integer")
        if not _number(at_m) or at_m < 0:
            raise CueError("cue at_m must be a distance >= 0")
        if not _number(lead_s) or not LEAD_RANGE_S[0] <= lead_s <= LEAD_RANGE_S[1]:
            raise CueError(f"cue lead_s must be {LEAD_RANGE_S[0]:g}..{LEAD_RANGE_S[1]:g} s")
        if not isinstance(text, str) or not text.strip() or len(text) > TEXT_MAX:
            raise CueError(f"cue text must be 1..{TEXT_MAX} characters")
        if repeat not in REPEATS:
            raise CueError(f"cue repeat must be one of {', '.join(REPEATS)}")
        label = label if isinstance(label, str) else ""
        return cls(cid, float(at_m), text.strip(), float(lead_s), repeat, label[:40])


@dataclass(frozen=True)
class DueCue:
    """A cue to say now, with where the car is: ``before_m`` metres before the point."""

    cue: Cue
    lap: int
    before_m: float
    speed_kmh: float


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class CueBoard:
    """The active cues and which lap each was last armed for and said on.

    ``put``/``remove``/``clear`` come from the uplink's event loop, ``update`` from the producer
    thread: one lock keeps them apart (a handful of cues; the work under it is tiny).
    """

    def __init__(self, track_length_m: float | None = None) -> None:
        self.track_length_m = track_length_m
        self._cues: dict[int, Cue] = {}
        self._armed: dict[int, int] = {}  # cue id -> the lap on which it may be said
        self._said: dict[int, int] = {}  # cue id -> the lap on which it was said
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._cues)  # a glance without the lock: the per-frame "anything to do?"

    def put(self, cue: Cue) -> None:
        """Add or replace a cue (a resend after a reconnect keeps what was said this lap)."""
        with self._lock:
            if self._cues.get(cue.id) != cue:
                self._armed.pop(cue.id, None)
            self._cues[cue.id] = cue

    def remove(self, cue_id: int) -> bool:
        with self._lock:
            self._armed.pop(cue_id, None)
            self._said.pop(cue_id, None)
            return self._cues.pop(cue_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._cues.clear()
            self._armed.clear()
            self._said.clear()

    def cues(self) -> list[Cue]:
        with self._lock:
            return list(self._cues.values())

    def update(self, lap: int, lap_dist: float, speed_kmh: float, in_pit: bool = False) -> list[DueCue]:
        """The cues due at this frame; "once" cues leave the board when they are returned."""
        if not self._cues or not (_number(lap_dist) and _number(speed_kmh)):
            return []
        due: list[DueCue] = []
        with self._lock:
            for cue in list(self._cues.values()):
                hit = self._check(cue, lap, lap_dist, speed_kmh, in_pit)
                if hit is not None:
                    due.append(hit)
                    self._said[cue.id] = hit.lap
                    if cue.repeat == "once":
                        del self._cues[cue.id]
                        self._armed.pop(cue.id, None)
        return due

    def _check(self, cue: Cue, lap: int, lap_dist: float, speed_kmh: float, in_pit: bool) -> DueCue | None:
        ahead, target = self._ahead(cue, lap, lap_dist)
        if ahead is None:
            # the point is behind on this lap: it comes next lap, from far enough out
            self._armed[cue.id] = lap + 1
            return None
        speed = speed_kmh / 3.6
        if in_pit or speed < MIN_SPEED_MS:
            return None  # no sensible "in N seconds" in the pit lane or standing still
        if ahead / speed > cue.lead_s:
            self._armed[cue.id] = target  # still further out than the lead: say it when due
            return None
        if self._armed.get(cue.id) != target or self._said.get(cue.id) == target:
            return None  # first seen inside the lead (too late this lap), or said already
        return DueCue(cue, target, round(ahead, 1), round(speed_kmh, 1))

    def _ahead(self, cue: Cue, lap: int, lap_dist: float) -> tuple[float | None, int]:
        """(metres to the point, the lap on which the car reaches it), None when it is behind.

        With the track's length known, a point just after the line is ahead already on the
        lap before (the car at 6950 m of 7004 is 104 m from a point at 50 m, on the next lap).
        """
        ahead = cue.at_m - lap_dist
        if ahead >= 0:
            return ahead, lap
        length = self.track_length_m
        if length and lap_dist <= length and cue.at_m + length - lap_dist >= 0:
            wrapped = cue.at_m + length - lap_dist
            # only near the line: otherwise the point is simply behind on this lap
            if wrapped < length / 2:
                return wrapped, lap + 1
        return None, lap
