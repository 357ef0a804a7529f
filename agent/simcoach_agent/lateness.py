"""Coaching that arrives too late is not said.

The server drops what it knows to be late, but only the agent knows where the car is now: after
an outage the server coaches the replayed backlog, and a slow link or a busy server can hold a
message past its moment. A ``coaching`` message carries the time ``t`` of the frame that caused
it, the ``lap`` it is meant for and, for advice about a place ahead, ``until_m``, the lap
distance after which it is useless (docs/protocol.md). It is late when ``t`` is more than
``limit_s`` behind the newest frame the agent has read, or when the car has passed ``until_m``
(later on that lap, or on a later lap). A message without these fields (an older server) is
said as before. Late messages are counted, never printed nor spoken.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

log = logging.getLogger(__name__)

DEFAULT_LIMIT_S: Final = 2.0  # s of frame time, the server's default too


class Position(NamedTuple):
    """The newest frame the agent read: its time (s), lap and lap distance (m)."""

    t: float
    lap: int
    lap_dist: float


@dataclass
class Lateness:
    """Judges coaching messages against the car's newest position; counts the late ones."""

    limit_s: float = DEFAULT_LIMIT_S
    stale: int = 0  # too far behind the newest frame
    passed: int = 0  # about a place the car has passed

    def __post_init__(self) -> None:
        if not self.limit_s > 0:
            raise ValueError(f"the lateness limit must be more than 0 s, got {self.limit_s}")

    @property
    def late(self) -> int:
        return self.stale + self.passed

    def admit(self, msg: dict[str, Any], now: Position | None) -> bool:
        """Whether to say ``msg`` (a coaching message) with the car at ``now``; counts a no."""
        reason = self.why_late(msg, now)
        if reason == "stale":
            self.stale += 1
        elif reason == "passed":
            self.passed += 1
        if reason is not None:
            log.info("coaching came too late (%s), not said: %s", reason, msg.get("text", ""))
        return reason is None

    def why_late(self, msg: dict[str, Any], now: Position | None) -> str | None:
        """ "stale", "passed", or None when the message is in time (or cannot be judged)."""
        if now is None:
            return None
        t = _number(msg.get("t"))
        if t is not None and now.t - t > self.limit_s:
            return "stale"
        lap, until_m = _number(msg.get("lap")), _number(msg.get("until_m"))
        if lap is not None and until_m is not None:
            if now.lap > lap or (now.lap == lap and now.lap_dist > until_m):
                return "passed"
        return None

    def as_dict(self) -> dict[str, int]:
        return {"late": self.late, "stale": self.stale, "passed": self.passed}


def _number(value: object) -> float | None:
    # Fields from the wire: anything but a finite number means "not given".
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)
