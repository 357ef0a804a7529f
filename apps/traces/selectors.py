"""Reads of the trace store that every app shares."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from .lib.columns import Columns
from .tracestore import get_trace_store


class LapWindow(Protocol):
    """What a lap read needs of a lap (sessions' Lap has it; traces cannot import sessions)."""

    @property
    def session_id(self) -> int: ...

    @property
    def t_start(self) -> float: ...

    @property
    def t_end(self) -> float: ...


def lap_trace(*, lap: LapWindow, channels: Iterable[str] | None = None) -> Columns:
    """The one read of a lap's frames: sorted by time, `t` always in, every channel when None.

    Ask only for the channels you use: a whole lap is sixty channels, and reading and
    decoding them all is most of the cost of a read.
    """
    wanted = None if channels is None else sorted(set(channels))
    return get_trace_store().read(session_id=lap.session_id, t0=lap.t_start, t1=lap.t_end, channels=wanted)
