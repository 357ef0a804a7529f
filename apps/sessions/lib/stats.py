"""The one definition of every lap statistic: green lap, best lap, best sectors, theoretical
best, consistency and averages.

Pure functions over lap values (no Django, no queries): the session page, the REST API, the
live snapshot, the archive list, compare and the report facts all call these, so one session
shows the same numbers everywhere. Times are in milliseconds.

The rules (DESIGN.md "One lap rule"):
- a lap is *green* when it is timed (a time > 0 that is not marked untimed), valid, complete,
  not partial, and neither an in-lap nor an out-lap;
- the best lap is the fastest green lap;
- best sectors come from green laps only, and only from laps split into the session's sector
  layout (the sector count most green laps have); a sector of 0 ms is never a time;
- the theoretical best is the sum of the best sectors, only when every sector is known;
- consistency is the *sample* standard deviation (n - 1) of the green laps' times: the laps
  are a sample of how the driver can drive, not the whole population. None below 2 laps.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class LapLike(Protocol):
    """What a stored lap (`apps.sessions.models.Lap`) offers; also met by test doubles."""

    number: int
    time_ms: int | None
    sector_ms: Any
    valid: bool
    is_in_lap: bool
    is_out_lap: bool
    stats: Any
    fuel_used_l: float | None


@dataclass(frozen=True)
class LapValue:
    """The values of one lap that statistics read. `key` is the caller's handle (a lap id)."""

    number: int
    time_ms: int | None
    sector_ms: tuple[int, ...] = ()
    valid: bool = True
    in_lap: bool = False
    out_lap: bool = False
    timing: str = "game"
    partial: bool = False
    complete: bool = True
    fuel_used_l: float | None = None
    key: int | None = None

    @property
    def green(self) -> bool:
        return is_green(self)


def lap_value(lap: LapLike, *, key: int | None = None) -> LapValue:
    """A stored lap's values. Laps written before the flags existed count as game-timed,
    complete and whole."""
    flags: Mapping[str, Any] = lap.stats if isinstance(lap.stats, Mapping) else {}
    sectors = lap.sector_ms if isinstance(lap.sector_ms, list | tuple) else ()
    return LapValue(
        number=lap.number,
        time_ms=lap.time_ms,
        sector_ms=tuple(int(s) for s in sectors if isinstance(s, int | float)),
        valid=bool(lap.valid),
        in_lap=bool(lap.is_in_lap),
        out_lap=bool(lap.is_out_lap),
        timing=str(flags.get("timing") or "game"),
        partial=bool(flags.get("partial")),
        complete=flags.get("complete", True) is not False,
        fuel_used_l=lap.fuel_used_l,
        key=key if key is not None else getattr(lap, "pk", None),
    )


def is_timed_whole(lap: LapValue) -> bool:
    """Timed and seen whole: what a reference lap must be (an untimed or partial lap never is)."""
    timed = lap.time_ms is not None and lap.time_ms > 0 and lap.timing != "untimed"
    return timed and lap.complete and not lap.partial


def is_green(lap: LapValue) -> bool:
    return is_timed_whole(lap) and lap.valid and not lap.in_lap and not lap.out_lap


def green_laps(laps: Iterable[LapValue]) -> list[LapValue]:
    return [lap for lap in laps if is_green(lap)]


def best_lap(laps: Iterable[LapValue]) -> LapValue | None:
    """The fastest green lap; on a tie the earlier lap."""
    green = green_laps(laps)
    return min(green, key=lambda lap: (lap.time_ms or 0, lap.number), default=None)


def sector_layout(laps: Iterable[LapValue]) -> int:
    """How many sectors the session's green laps are split into: the count most of them have
    (at least 2; a lap with one "sector" is not split). 0 when no green lap is split or two
    layouts are equally common (the session cannot say which is right)."""
    counts = Counter(len(lap.sector_ms) for lap in green_laps(laps) if len(lap.sector_ms) >= 2)
    ranked = counts.most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return 0
    return ranked[0][0]


def _in_layout(lap: LapValue, layout: int) -> bool:
    # A split into another count, or with an empty sector, is a timing fault (a resumed
    # stream, a missed beacon), not a time the driver did.
    return layout > 0 and len(lap.sector_ms) == layout and all(s > 0 for s in lap.sector_ms)


def best_sectors(laps: Iterable[LapValue]) -> list[int | None]:
    """Per sector of the layout, the fastest green lap's time there (None if no lap has it)."""
    laps = list(laps)
    layout = sector_layout(laps)
    split = [lap for lap in green_laps(laps) if _in_layout(lap, layout)]
    return [min((lap.sector_ms[i] for lap in split), default=None) for i in range(layout)]


def theoretical_best_ms(sectors: Sequence[int | None]) -> int | None:
    """Sum of the best sectors; None unless every sector is known."""
    if not sectors or any(s is None for s in sectors):
        return None
    return sum(s for s in sectors if s is not None)


def consistency_ms(laps: Iterable[LapValue]) -> float | None:
    """Sample standard deviation of the green laps' times, in ms; None with fewer than 2."""
    times = [float(lap.time_ms or 0) for lap in green_laps(laps)]
    return statistics.stdev(times) if len(times) >= 2 else None


def average_ms(laps: Iterable[LapValue]) -> float | None:
    times = [float(lap.time_ms or 0) for lap in green_laps(laps)]
    return statistics.fmean(times) if times else None


def is_best_sector(lap: LapValue, index: int, sectors: Sequence[int | None]) -> bool:
    """Whether this lap set the session's best time in sector `index`."""
    if not is_green(lap) or index >= len(sectors) or not _in_layout(lap, len(sectors)):
        return False
    return lap.sector_ms[index] == sectors[index]


@dataclass(frozen=True)
class SessionStats:
    """Every headline number of a session, from one pass over its laps."""

    laps: int
    green: list[LapValue] = field(default_factory=list)
    best: LapValue | None = None
    best_sectors: list[int | None] = field(default_factory=list)
    theoretical_best_ms: int | None = None
    consistency_ms: float | None = None
    average_ms: float | None = None
    spread_ms: int | None = None

    @property
    def best_ms(self) -> int | None:
        return self.best.time_ms if self.best is not None else None


def session_stats(laps: Iterable[LapValue]) -> SessionStats:
    laps = list(laps)
    green = green_laps(laps)
    sectors = best_sectors(laps)
    times = [lap.time_ms or 0 for lap in green]
    return SessionStats(
        laps=len(laps),
        green=green,
        best=best_lap(laps),
        best_sectors=sectors,
        theoretical_best_ms=theoretical_best_ms(sectors),
        consistency_ms=consistency_ms(laps),
        average_ms=average_ms(laps),
        spread_ms=max(times) - min(times) if times else None,
    )
