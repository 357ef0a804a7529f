"""A car lapping a 1 000 m track, laid out as each game's raw bytes (for recordings/tests).

It starts 800 m into lap 3 at 60 m/s (216 km/h), crosses the line at t ≈ 3.33 s with a lap
time of 50.0 s, and keeps going to 5 s. Polls come at 30 Hz with ``t`` from T0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from gamebytes import (
    acc_pages,
    lmu_page,
    pcars2_page,
    r3e_page,
    rf2_extended,
    rf2_scoring,
    rf2_telemetry,
    udp_game_state,
    udp_race,
    udp_telemetry,
    udp_time_stats,
    udp_timings,
)

from simcoach_agent.sources.lmu import split_page
from simcoach_agent.sources.rf2 import trim

T0 = 1_700_000_000.0
LENGTH, SPEED, START, RATE, SECONDS = 1000.0, 60.0, 800.0, 30, 5.0
LAP_TIME = 50.0  # the lap completed during the recording
Poll = tuple[float, list[tuple[str, bytes]]]


def state(i: int) -> dict[str, Any]:
    """Where the car is at poll i: lap (1-based), metres into it, lap time, last lap time."""
    dt = i / RATE
    dist = START + SPEED * dt
    crossed = dist >= LENGTH
    lap_start = (LENGTH - START) / SPEED  # when the line is crossed
    return {
        "i": i,
        "lap": 4 if crossed else 3,
        "dist": dist - LENGTH if crossed else dist,
        "lap_time": dt - lap_start if crossed else LAP_TIME - lap_start + dt,
        "last": LAP_TIME if crossed else 51.0,
        "completed": 3 if crossed else 2,
        "t": T0 + dt,
    }


def frames() -> Iterator[dict[str, Any]]:
    for i in range(int(SECONDS * RATE)):
        yield state(i)


def acc() -> Iterator[Poll]:
    static = {"carModel": "porsche_991ii_gt3_r", "track": "synthetic", "maxRpm": 9000, "maxFuel": 120.0}
    for s in frames():
        physics = {"packetId": s["i"] + 1, "gas": 1.0, "gear": 5, "rpms": 8000, "speedKmh": SPEED * 3.6}
        graphics = {
            "packetId": s["i"] + 1, "status": 2, "session": 0, "completedLaps": s["completed"],
            "iCurrentTime": int(s["lap_time"] * 1000), "iLastTime": int(s["last"] * 1000),
            "iBestTime": int(LAP_TIME * 1000), "normalizedCarPosition": s["dist"] / LENGTH,
            "distanceTraveled": 5000.0 + SPEED * s["i"] / RATE, "isValidLap": 1,
        }  # fmt: skip
        yield s["t"], acc_pages(physics, graphics, static if s["i"] == 0 else None)


def r3e() -> Iterator[Poll]:
    for s in frames():
        page = r3e_page({
            "version_major": 3, "version_minor": 5, "game_simulation_ticks": 400 + s["i"] * 13,
            "track_name": "Synthetic", "layout_length": LENGTH, "completed_laps": s["completed"],
            "current_lap_valid": 1, "track_sector": 1, "lap_distance": s["dist"],
            "lap_time_best_self": LAP_TIME, "lap_time_previous_self": s["last"],
            "lap_time_current_self": s["lap_time"], "car_speed": SPEED, "gear": 5,
            "vehicle_info.name": "Synthetic GT3",
        })  # fmt: skip
        yield s["t"], [("r3e", page)]


def _isi(s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    et = 100.0 + s["i"] / RATE
    info = {"mTrackName": "Synthetic", "mSession": 1, "mCurrentET": et, "mLapDist": LENGTH, "mGamePhase": 5}
    scored = {
        "mID": 1, "mVehicleName": "Synthetic LMP2", "mTotalLaps": s["completed"], "mSector": 1,
        "mLapDist": s["dist"], "mBestLapTime": LAP_TIME, "mLastLapTime": s["last"], "mIsPlayer": 1,
        "mControl": 0, "mCountLapFlag": 2, "mLapStartET": et - s["lap_time"],
    }  # fmt: skip
    car = {
        "mID": 1,
        "mElapsedTime": et,
        "mLapStartET": et - s["lap_time"],
        "mLocalVel": (0.0, 0.0, -SPEED),
        "mGear": 5,
    }
    return info, scored, car


def rf2() -> Iterator[Poll]:
    for s in frames():
        info, scored, car = _isi(s)
        chunks = [("telemetry", trim("telemetry", rf2_telemetry([car], version=s["i"] + 1)))]
        if s["i"] % 6 == 0:  # scoring is a 5 Hz buffer
            chunks.insert(0, ("scoring", trim("scoring", rf2_scoring(info, [scored], version=s["i"] + 1))))
        if s["i"] == 0:
            chunks.insert(0, ("extended", rf2_extended()))
        yield s["t"], chunks


def lmu() -> Iterator[Poll]:
    for s in frames():
        info, scored, car = _isi(s)
        scoring, telemetry = split_page(lmu_page(info, [scored], [car]))
        yield s["t"], [scoring, telemetry]


def ams2() -> Iterator[Poll]:
    for s in frames():
        values = {
            "mVersion": 14, "mGameState": 2, "mSessionState": 1, "mViewedParticipantIndex": 0,
            "mTrackLocation": "Synthetic", "mTrackLength": LENGTH, "mBestLapTime": LAP_TIME,
            "mLastLapTime": s["last"], "mCurrentTime": s["lap_time"], "mSpeed": SPEED, "mGear": 5,
            "mSequenceNumber": 2 * (s["i"] + 1), "mCarName": "Synthetic GT3",
        }  # fmt: skip
        part = {"mIsActive": True, "mCurrentLapDistance": s["dist"], "mLapsCompleted": s["completed"]}
        yield s["t"], [("pcars2", pcars2_page(values, [part]))]


def iracing() -> Iterator[Poll]:
    from irsdkbytes import FakeSim, IracingTransportFor, driving, session_yaml

    sim = FakeSim(session_yaml(length_km=LENGTH / 1000))
    transport = IracingTransportFor(sim)
    for s in frames():
        # iRacing posts the finished lap's time about half a second after the line
        posted = s["lap"] == 4 and s["lap_time"] >= 0.5
        sim.write(s["i"] + 1, driving(
            SessionTime=100.0 + s["i"] / RATE, Lap=s["lap"], LapCompleted=s["completed"],
            LapDist=s["dist"], LapDistPct=s["dist"] / LENGTH, LapCurrentLapTime=s["lap_time"],
            LapLastLapTime=LAP_TIME if posted else 51.0, LapBestLapTime=LAP_TIME, Speed=SPEED, Gear=5,
        ))  # fmt: skip
        yield s["t"], transport.poll()


def ams2_udp() -> Iterator[Poll]:
    n = 0
    for s in frames():
        packets = []
        if s["i"] % 30 == 0:
            packets += [
                udp_game_state(n + 1, 2, 1),
                udp_race(n + 2, {"sTrackLength": LENGTH, "sTrackLocation": "Synthetic"}),
            ]
        me = {"sCurrentLapDistance": int(s["dist"]), "sCurrentLap": s["lap"], "sCurrentTime": s["lap_time"]}
        packets.append(udp_timings(n + 3, [me]))
        packets.append(udp_time_stats(n + 4, [{"sFastestLapTime": LAP_TIME, "sLastLapTime": s["last"]}]))
        packets.append(
            udp_telemetry(n + 5, {"sSpeed": SPEED, "sGearNumGears": 0x65, "sUnfilteredThrottle": 255})
        )
        n += 5
        yield s["t"], [("udp", p) for p in packets]


GAMES: dict[str, tuple[str, Callable[[], Iterator[Poll]]]] = {
    "acc": ("acc", acc),
    "r3e": ("r3e", r3e),
    "rf2": ("rf2", rf2),
    "lmu": ("lmu", lmu),
    "ams2": ("ams2", ams2),
    "ams2-udp": ("ams2", ams2_udp),
    "iracing": ("iracing", iracing),
}
