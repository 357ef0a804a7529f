"""Cue discipline: which of the live coach's messages are actually said to the driver.

The rules (rules.py) say everything they see, each rule quiet only for its own cool-down. A
driver can take in a handful of calls a lap, so between the rules and the wire this layer:

- drops what is **late**: a message about a frame more than ``fresh_s`` behind the newest frame
  the socket has seen, or that the agent says it has read (the coaching of a backlog the agent
  replays after an outage). Advice
  about a corner the car left a minute ago is worse than none.
- holds back a **repeat**: the same rule and key (a wheel, a sector) speaks once a lap. The
  rules' cool-downs still space repeats across laps.
- holds back what is over the lap's **budget** (``budget`` spoken messages a lap), the most
  useful first when one batch brings more candidates than there is room for.

A ``critical`` message skips the budget and does not use it up: "box this lap" or a tyre about
to fail must never lose its place to an earlier info call, and letting it take a slot would
silence the rest of the lap's coaching because of one emergency. It is still said once a lap
(the repeat rule): the driver heard it, and hearing it every ten seconds adds nothing.

Nothing is lost silently: every message gets a verdict, counted per reason; the socket sends
only the spoken ones to the agent, and viewers see all of them marked. Laps are told by the
messages' own ``lap`` (the lap the message is said in): another lap number starts a new lap
(a late message's does not).

Pure and cheap: O(messages log messages) per batch, no per-frame work, no Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Final, Literal, Protocol

Verdict = Literal["spoken", "repeat", "budget", "late"]

DEFAULT_BUDGET: Final = 6  # spoken messages a lap, critical ones not counted
DEFAULT_FRESH_S: Final = 2.0  # s of frame time a message may trail the newest frame

SEVERITY_RANK: Final = {"critical": 0, "warn": 1, "info": 2}

# Most useful first, within one severity. What ends the race or breaks the car comes before
# what costs time now, which comes before what costs time over a stint, then technique hints
# the driver can act on next lap, then setup observations (nothing to do from the cockpit),
# and trivia last:
#   fuel_box         running dry ends the race; it is only useful before the pit entry
#   tyre_critical    a tyre about to fail or blister
#   brake_fade       no brakes at the next corner is a crash
#   lock_up          flat-spotting a tyre now; an immediate technique fix
#   wheel_spin       tyre wear and lost exit speed now
#   tyre_hot         grip going away over the next laps
#   over_rev         engine damage in long races, lost drive
#   tyre_pressure_*  grip and wear for the stint
#   fuel_status      strategy, but "box" covers the urgent case
#   sector_delta     where the lap was won or lost, just now
#   live_delta       pace, but the dash shows it all the time
#   coasting, overlap, early_shift   technique hints for the next laps
#   brake_cold, tyre_cold            warm-up: they fix themselves by driving
#   tyre_camber      a setup change, nothing to do while driving
#   g_peak           a number for the curious
RULE_RANK: Final[tuple[str, ...]] = (
    "fuel_box",
    "tyre_critical",
    "brake_fade",
    "lock_up",
    "wheel_spin",
    "tyre_hot",
    "over_rev",
    "tyre_pressure_low",
    "tyre_pressure_high",
    "fuel_status",
    "sector_delta",
    "live_delta",
    "coasting",
    "overlap",
    "early_shift",
    "brake_cold",
    "tyre_cold",
    "tyre_camber",
    "g_peak",
)
_RANK: Final = {rule: i for i, rule in enumerate(RULE_RANK)}  # a rule not listed: after all of them


class Cue(Protocol):
    """What discipline reads of a message (rules.Message has it)."""

    @property
    def rule(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def t(self) -> float: ...
    @property
    def lap(self) -> int | None: ...


@dataclass
class Tally:
    """Messages per verdict. ``held`` = repeat + budget (late ones were never due to be said)."""

    spoken: int = 0
    repeat: int = 0
    budget: int = 0
    late: int = 0

    def add(self, verdict: Verdict) -> None:
        setattr(self, verdict, getattr(self, verdict) + 1)

    @property
    def held(self) -> int:
        return self.repeat + self.budget

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "held": self.held}


def usefulness(cue: Cue) -> tuple[int, int, float]:
    """Sort key, most useful first: severity, then the rule's rank, then the earlier frame."""
    return SEVERITY_RANK.get(cue.severity, len(SEVERITY_RANK)), _RANK.get(cue.rule, len(_RANK)), cue.t


@dataclass
class Discipline:
    """One session's discipline; feed it each batch of the rules' messages (``judge``)."""

    budget: int = DEFAULT_BUDGET
    fresh_s: float = DEFAULT_FRESH_S
    lap: int | None = None  # the lap being coached
    said: set[tuple[str, str]] = field(default_factory=set)  # (rule, key) spoken this lap
    spent: int = 0  # this lap's budget used (critical messages use none)
    lap_tally: Tally = field(default_factory=Tally)
    total: Tally = field(default_factory=Tally)

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise ValueError(f"a lap's coaching budget must be 0 or more, got {self.budget}")
        if not self.fresh_s > 0:
            raise ValueError(f"the freshness limit must be more than 0 s, got {self.fresh_s}")

    def judge(self, cues: Iterable[Cue], *, newest_t: float | None = None) -> list[Verdict]:
        """A verdict for each cue, in the order given. ``newest_t``: the newest frame time the
        socket has seen (None: nothing is late)."""
        cues = list(cues)
        verdicts: list[Verdict] = ["spoken"] * len(cues)
        # Lap by lap, most useful first within a lap: a batch across the line closes one lap's
        # budget before it opens the next.
        order = sorted(range(len(cues)), key=lambda i: (self._lap_of(cues[i]), usefulness(cues[i])))
        for i in order:
            verdicts[i] = self._one(cues[i], newest_t)
        return verdicts

    def resume(self, counts: Mapping[str, object] | None) -> None:
        """Carry on the session totals of an earlier ``counts()`` (a reconnect's new socket)."""
        for verdict in ("spoken", "repeat", "budget", "late"):
            value = (counts or {}).get(verdict)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                setattr(self.total, verdict, value)

    def counts(self) -> dict[str, object]:
        """The counters for screens: the session's, and this lap's."""
        return {**self.total.as_dict(), "lap": self.lap, "this_lap": self.lap_tally.as_dict()}

    def _lap_of(self, cue: Cue) -> int:
        # A message without a lap (an older rule) is said in the lap being coached.
        lap = cue.lap if cue.lap is not None else self.lap
        return lap if lap is not None else -1

    def _one(self, cue: Cue, newest_t: float | None) -> Verdict:
        if newest_t is not None and newest_t - cue.t > self.fresh_s:
            verdict: Verdict = "late"  # about a lap long gone, perhaps: it moves nothing
        else:
            if cue.lap is not None and cue.lap != self.lap:
                # any change: a game that restarts its lap count must not keep a spent budget
                self.lap, self.said, self.spent, self.lap_tally = cue.lap, set(), 0, Tally()
            verdict = self._verdict(cue)
        if verdict == "spoken":
            self.said.add((cue.rule, cue.key))
            self.spent += cue.severity != "critical"
        self.lap_tally.add(verdict)
        self.total.add(verdict)
        return verdict

    def _verdict(self, cue: Cue) -> Verdict:
        if (cue.rule, cue.key) in self.said:
            return "repeat"
        if cue.severity == "critical":
            return "spoken"
        return "spoken" if self.spent < self.budget else "budget"
