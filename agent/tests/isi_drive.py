"""A car driving an out-lap and a flying lap, as rF2/LMU pages at the game's own rates.

Telemetry is written every 20 ms (50 Hz); scoring every 200 ms (5 Hz) and describes the car
as it was at its own tick, which is what makes scoring lag telemetry at the line and at each
sector boundary. The truth (lap, distance, sector, the game's splits) is known for every
frame, so a test can hold the decoders and the lap segmentation to it.

The flying lap is the one from issue 17: 76.861 s, splits 23.913 / 25.536 / 27.412 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from gamebytes import lmu_page, rf2_extended, rf2_scoring, rf2_telemetry

from simcoach_agent.channels import Frame
from simcoach_agent.sources.lmu import split_page
from simcoach_agent.sources.rf2 import trim

LENGTH = 4000.0  # m
TELEMETRY_DT = 0.02  # s, 50 Hz
SCORING_DT = 0.2  # s, 5 Hz
T0 = 1_700_000_000.0  # wall clock of session time 0
PIT_EXIT_S = 3.0  # the out-lap's first seconds are in the pit lane
Polls = Iterator[tuple[float, list[tuple[str, bytes]]]]  # (wall time, chunks) per telemetry write


@dataclass(frozen=True)
class Lap:
    start: float  # session time (ET) at the line
    sectors: tuple[float, float, float]  # s

    @property
    def time(self) -> float:
        return sum(self.sectors)

    @property
    def splits(self) -> tuple[float, float]:
        return self.sectors[0], self.sectors[0] + self.sectors[1]


OUT_LAP = Lap(10.0, (21.5, 19.25, 19.75))  # 60.5 s from the garage
FLYING = Lap(OUT_LAP.start + OUT_LAP.time, (23.913, 25.536, 27.412))  # 76.861 s
LAPS = (OUT_LAP, FLYING)
END = FLYING.start + FLYING.time + 3.0  # a little of the next lap, so the game times this one


@dataclass(frozen=True)
class Truth:
    et: float
    lap: int  # 1-based, as the lap channel counts
    lap_time: float
    dist: float
    sector: int  # 0-based
    speed: float  # m/s


def truth(et: float) -> Truth:
    laps = (*LAPS, Lap(FLYING.start + FLYING.time, FLYING.sectors))
    n = max((i for i, lap in enumerate(laps) if lap.start <= et), default=0)
    lap = laps[n]
    into = max(et - lap.start, 0.0)  # before the first: waiting in the garage
    speed = LENGTH / lap.time
    sector = 0 if into < lap.splits[0] else 1 if into < lap.splits[1] else 2
    return Truth(et, n + 1, into, speed * into, sector, speed)


def _scoring_fields(et: float, game_splits_out_lap: bool) -> dict[str, Any]:
    s = truth(et)
    done = LAPS[: s.lap - 1]  # laps finished by then
    last = done[-1] if done else None
    splits = (
        last.splits if last is not None and (last is not OUT_LAP or game_splits_out_lap) else (-1.0, -1.0)
    )
    return {
        "mID": 3, "mVehicleName": "Oreca 07 #22", "mTotalLaps": s.lap - 1,
        "mSector": (1, 2, 0)[s.sector], "mLapDist": s.dist, "mLapStartET": et - s.lap_time,
        "mLastLapTime": last.time if last else -1.0, "mLastSector1": splits[0],
        "mLastSector2": splits[1], "mBestLapTime": last.time if last else -1.0,
        "mIsPlayer": 1, "mControl": 0, "mInPits": int(s.lap == 1 and s.lap_time < PIT_EXIT_S),
        "mPlace": 4, "mTimeBehindNext": 1.25, "mLapsBehindNext": 0, "mTimeBehindLeader": 9.5,
        "mLapsBehindLeader": 0, "mVehicleClass": "LMP2", "mCountLapFlag": 2,
    }  # fmt: skip


def _telemetry_fields(et: float) -> dict[str, Any]:
    s = truth(et)
    pit = s.lap == 1 and s.lap_time < PIT_EXIT_S
    sector = s.sector | (0x8000_0000 if pit else 0)  # the pit lane rides in the sign bit
    return {
        "mID": 3,
        "mElapsedTime": et,
        "mLapStartET": et - s.lap_time,
        "mLocalVel": (0.0, 0.0, -s.speed),
        "mCurrentSector": sector - (1 << 32) if sector >= 1 << 31 else sector,
        "mGear": 4,
    }


def _scoring_tick(et: float) -> float:
    return math.floor(round(et / SCORING_DT, 6)) * SCORING_DT


def ets() -> Iterator[float]:
    n = 0
    while (et := OUT_LAP.start + n * TELEMETRY_DT) < END:
        yield round(et, 6)
        n += 1


INFO = {"mTrackName": "Sebring", "mSession": 10, "mLapDist": LENGTH, "mGamePhase": 5}


def rf2_polls(*, game_splits_out_lap: bool = True) -> Iterator[tuple[float, list[tuple[str, bytes]]]]:
    """(wall time, chunks) per telemetry write, as Rf2Transport hands them out."""
    last_tick = None
    for n, et in enumerate(ets()):
        chunks = [("telemetry", trim("telemetry", rf2_telemetry([_telemetry_fields(et)], version=n + 1)))]
        tick = _scoring_tick(et)
        if tick != last_tick:
            last_tick = tick
            info = {**INFO, "mCurrentET": tick}
            scoring = rf2_scoring(info, [_scoring_fields(tick, game_splits_out_lap)], version=n + 1)
            chunks.insert(0, ("scoring", trim("scoring", scoring)))
        if n == 0:
            chunks.insert(0, ("extended", rf2_extended()))
        yield T0 + et, chunks


def lmu_polls(*, game_splits_out_lap: bool = True) -> Iterator[tuple[float, list[tuple[str, bytes]]]]:
    """(wall time, chunks) per telemetry write of the LMU_Data page."""
    for et in ets():
        tick = _scoring_tick(et)
        info = {**INFO, "mCurrentET": tick}
        page = lmu_page(info, [_scoring_fields(tick, game_splits_out_lap)], [_telemetry_fields(et)])
        yield T0 + et, split_page(page)


@cache
def decoded_drive(
    decoder_type: type, polls: Callable[..., Polls], game_splits_out_lap: bool = True
) -> tuple[Frame, ...]:
    """The drive's frames (`rf2_polls` or `lmu_polls`) through a fresh decoder of this type.

    Decoded once per process and shared by every test module that reads them (seconds of CPU
    each); frames are dicts, so callers copy before changing one."""
    decoder = decoder_type()
    frames = (decoder.feed(chunks, t) for t, chunks in polls(game_splits_out_lap=game_splits_out_lap))
    return tuple(f for f in frames if f is not None)
