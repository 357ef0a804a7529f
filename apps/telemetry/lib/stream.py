"""The rig stream's rules, kept apart from the socket: which frames are new, when the live
rules run over them. Plain and synchronous, so they are tested without a WebSocket; the rig
consumer (consumers.py) only moves messages between these and the services."""

from __future__ import annotations

import math
from typing import Any, Final

from apps.coaching.lib.rules import MAX_GAP_S
from apps.traces.lib.columns import Columns, concat_columns, same_channels
from simcoach_agent.channels import BY_NAME
from simcoach_agent.wire import PROTOCOL_VERSION, WireError

COACH_EVERY_S: Final = 0.5  # seconds of frames the live rules see per call


def protocol_mismatch(theirs: object) -> str | None:
    """Why a hello's protocol version is refused (the reason names the side to upgrade), or None."""
    if theirs == PROTOCOL_VERSION:
        return None
    side = "agent" if isinstance(theirs, int) and theirs < PROTOCOL_VERSION else "server"
    return f"agent speaks protocol {theirs}, server speaks {PROTOCOL_VERSION}: upgrade the {side}"


def hello_newest_t(hello: dict[str, Any]) -> float | None:
    """The newest frame time the agent has read, from its hello (None: not said, an older agent).

    Coaching about frames far behind it is late: the frames that follow are a backlog."""
    value = hello.get("newest_t")
    if value is None:
        return None
    t = BY_NAME["t"]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not t.lo <= value <= t.hi:
        raise WireError(f"hello's newest_t must be a frame time in seconds ({t.lo:g} to {t.hi:g})")
    return float(value)


class SequenceGate:
    """Where a session's stream stands on one socket: the next frame not yet seen.

    A spool replay repeats frames (the store drops them and acks again), so only what follows
    ``next_seq`` is fresh for the live rules and viewers; a batch past it is a gap and refused
    (an ack must always mean "everything up to here is stored").
    """

    def __init__(self, next_seq: int) -> None:
        self.next_seq = next_seq

    def admit(self, seq: int, n: int) -> int | None:
        """Take frames seq..seq+n-1: how many leading ones were seen before (the rest are
        fresh), or None if all were. Raises WireError on a gap."""
        if seq > self.next_seq:
            raise WireError(f"sequence gap: expected {self.next_seq}, got {seq}")
        if seq + n <= self.next_seq:
            return None
        seen = self.next_seq - seq
        self.next_seq = seq + n
        return seen


class CoachCadence:
    """Gathers fresh batches into runs of ``every_s`` seconds for the live coaching rules.

    Their cost is mostly per call (dozens of numpy calls on a handful of frames), and a
    coaching call half a second later reads the same. Only back-to-back batches are joined:
    the rules see a jump in time between two calls (and forget what it breaks), never inside one.
    """

    def __init__(self, every_s: float = COACH_EVERY_S) -> None:
        self.every_s = every_s
        self._pending: list[Columns] = []

    def add(self, cols: Columns) -> list[Columns]:
        """Take a fresh batch; return the runs now ready for the rules (none, one or two)."""
        ready = []
        if self._pending and not continues(self._pending[-1], cols):
            ready.append(self._join())
        self._pending.append(cols)
        if cols["t"][-1] - self._pending[0]["t"][0] >= self.every_s:
            ready.append(self._join())
        return ready

    def take(self) -> Columns | None:
        """Whatever is gathered, now (before a lap closes, or the session ends)."""
        return self._join() if self._pending else None

    def _join(self) -> Columns:
        frames = concat_columns(self._pending)
        self._pending = []
        return frames


def continues(before: Columns, after: Columns) -> bool:
    """Whether ``after`` follows ``before`` closely enough to be one run for the rules."""
    return same_channels(before, after) and 0.0 <= after["t"][0] - before["t"][-1] <= MAX_GAP_S
