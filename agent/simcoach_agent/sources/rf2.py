"""rFactor 2 (and LMU through the same plugin): rF2SharedMemoryMapPlugin buffers.

Each ``$rFactor2SMMP_<Type>$`` view starts with a version block (@0 ``mVersionUpdateBegin``,
@4 ``mVersionUpdateEnd``); the writer bumps Begin, writes, bumps End, so a copy is whole only
when both are equal in it *and* the block has not moved once the copy is done. Structs are ISI's InternalsPlugin #8 types (``#pragma pack(4)``);
TelemInfoV01 (1 888 B) and VehicleScoringInfoV01 (584 B) are shared with LMU's native page,
so the helpers here decode both games.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from ..channels import KELVIN, MS_TO_KMH, WHEELS, Frame
from .base import SessionInfo
from .layout import (
    STANDARD_G,
    Chunk,
    LayoutError,
    clamp,
    cstr,
    f64,
    f64s,
    i32,
    lap_time_or_none,
    sided_temps,
)
from .shm import ShmPage, require_windows

TELEMETRY_SIZE: Final = 241_680
SCORING_SIZE: Final = 75_312
EXTENDED_HEAD: Final = 32  # version block + mVersion[12] + is64bit: all we read of Extended
SUPPORTED_PLUGIN: Final = (3, 7)  # a layout change bumps one of the first two digits
TELEM_VEHICLE: Final = 1888
SCORING_VEHICLE: Final = 584
SCORING_INFO: Final = 548
MAX_VEHICLES: Final = 128
PHASE_PAUSED: Final = 9
CONTROL_LOCAL_PLAYER: Final = 0
MIN_LAP_S: Final = 1.0  # no lap is shorter: a lap start this much newer is another lap
SCORING_SLACK_S: Final = 0.05  # s: scoring's clock may be this far ahead of the start it missed
BUFFERS: Final = {
    "telemetry": ("$rFactor2SMMP_Telemetry$", TELEMETRY_SIZE),
    "scoring": ("$rFactor2SMMP_Scoring$", SCORING_SIZE),
    "extended": ("$rFactor2SMMP_Extended$", EXTENDED_HEAD),
}


@dataclass(frozen=True)
class Scoring:
    """The player's scoring record and the session facts next to it (refreshed at 5 Hz)."""

    track: str
    session: int
    current_et: float  # s, session clock when scoring was written
    track_length: float  # m
    phase: int
    vehicle_id: int
    car: str
    car_class: str
    total_laps: int
    sector: int  # rF2: 0 = sector 3, 1 = sector 1, 2 = sector 2
    lap_dist: float  # m
    best: float
    last: float
    control: int
    in_pits: bool
    flag: int
    count_lap: int  # 0 do not count, 1 lap only, 2 lap and time: the validity signal
    lap_start: float  # s, session clock when the lap scoring counts started
    last_split1: float  # s into the last lap at the end of sector 1 (mLastSector1)
    last_split2: float  # s into the last lap at the end of sector 2 (mLastSector2, cumulative)
    place: int  # 1-based race position
    gap_next: float  # s behind the car one place ahead
    laps_next: int  # whole laps behind it
    gap_leader: float
    laps_leader: int
    air_temp: float  # °C, ScoringInfoV01.mAmbientTemp
    track_temp: float  # °C, ScoringInfoV01.mTrackTemp


def read_scoring(buf: bytes, info_off: int, veh_off: int) -> Scoring:
    (total_laps, sector) = struct.unpack_from("<hb", buf, veh_off + 100)
    gap_next, laps_next, gap_leader, laps_leader, lap_start = struct.unpack_from("<didid", buf, veh_off + 232)
    return Scoring(
        track=cstr(buf, info_off, 64),
        session=i32(buf, info_off + 64),
        current_et=f64(buf, info_off + 68),
        track_length=f64(buf, info_off + 88),
        phase=buf[info_off + 108],
        vehicle_id=i32(buf, veh_off),
        car=cstr(buf, veh_off + 36, 64),
        car_class=cstr(buf, veh_off + 200, 32),
        total_laps=total_laps,
        sector=sector,
        lap_dist=f64(buf, veh_off + 104),
        best=f64(buf, veh_off + 144),
        last=f64(buf, veh_off + 168),
        control=struct.unpack_from("<b", buf, veh_off + 197)[0],
        in_pits=bool(buf[veh_off + 198]),
        flag=buf[veh_off + 504],
        count_lap=buf[veh_off + 506],
        lap_start=lap_start,
        last_split1=f64(buf, veh_off + 152),
        last_split2=f64(buf, veh_off + 160),
        place=buf[veh_off + 199],
        gap_next=gap_next,
        laps_next=laps_next,
        gap_leader=gap_leader,
        laps_leader=laps_leader,
        air_temp=f64(buf, info_off + 228),
        track_temp=f64(buf, info_off + 236),
    )


def find_player(buf: bytes, first_off: int, count: int) -> int | None:
    """Offset of the vehicle scoring record flagged mIsPlayer, if any."""
    for i in range(count):
        off = first_off + i * SCORING_VEHICLE
        if off + SCORING_VEHICLE > len(buf):
            break
        if buf[off + 196]:
            return off
    return None


def player_scoring(buf: bytes, info_off: int, vehicles_off: int, max_vehicles: int) -> Scoring | None:
    """The player's scoring from a ScoringInfoV01 at info_off (mNumVehicles at +104) and its
    VehicleScoringInfoV01 records from vehicles_off; None while the player has no car."""
    count = min(max(i32(buf, info_off + 104), 0), max_vehicles)
    player = find_player(buf, vehicles_off, count)
    return None if player is None else read_scoring(buf, info_off, player)


def player_driving(sc: Scoring | None) -> Scoring | None:
    """The scoring if frames are the player's own driving (not paused, not a replay, not the
    AI), else None."""
    return sc if sc is not None and sc.phase != PHASE_PAUSED and sc.control == CONTROL_LOCAL_PLAYER else None


def session_kind(session: int) -> str:
    if 5 <= session <= 8:
        return "qualifying"
    if 10 <= session <= 13:
        return "race"
    return "practice"  # test day, practice, warm-up


def session_info(game: str, sc: Scoring) -> SessionInfo:
    return SessionInfo(
        game=game,
        track=sc.track,
        car=sc.car,
        kind=session_kind(sc.session),
        car_class=sc.car_class,
        track_length_m=sc.track_length if sc.track_length > 0 else None,
    )


def telemetry_frame(buf: bytes, off: int, sc: Scoring, now: float) -> Frame:
    """One car's TelemInfoV01 at ``off`` plus its scoring record, in channel units."""
    elapsed = f64(buf, off + 12)
    vel = f64s(buf, off + 184, 3)  # m/s, car frame: +x left, +y up, +z back
    speed = math.sqrt(vel[0] ** 2 + vel[1] ** 2 + vel[2] ** 2)
    frame: Frame = {"t": now}
    frame.update(_timing(buf, off, sc, elapsed, speed))
    frame.update(_engine_and_inputs(buf, off))
    frame["speed"] = speed * MS_TO_KMH
    frame.update(_motion(buf, off))
    frame.update(_wheels(buf, off))
    return frame


def _timing(buf: bytes, off: int, sc: Scoring, elapsed: float, speed: float) -> Frame:
    lap_start = f64(buf, off + 24)
    lap = max(sc.total_laps, 0) + 1
    if crossed_line(sc, lap_start):
        # Telemetry (50 Hz) restarted its lap clock at the line; scoring (5 Hz) still
        # describes the lap before: the frame belongs to the new lap, this far into it.
        lap += 1
        dist = speed * max(elapsed - lap_start, 0.0)
    else:
        # Scoring's lap distance is 5 Hz; move it on by speed × age to get 50 Hz distance.
        age = elapsed - sc.current_et
        dist = sc.lap_dist + (speed * age if 0.0 <= age <= 1.0 else 0.0)
    if sc.track_length > 0:
        dist = clamp(dist, 0.0, sc.track_length)
    return {
        "lap": float(lap),
        "lap_dist": max(dist, 0.0),
        "lap_time": max(elapsed - lap_start, 0.0),
        "last_lap_time": lap_time_or_none(sc.last),
        "best_lap_time": lap_time_or_none(sc.best),
        "sector": float(_sector(i32(buf, off + 600), sc.sector)),
        "lap_valid": 1.0 if sc.count_lap == 2 else 0.0,
        "in_pit": 1.0 if sc.in_pits else 0.0,
        "flag": 1.0 if sc.flag == 6 else 0.0,  # rF2 mFlag: 0 green (racing), 6 blue
        **_splits_and_place(sc),
    }


def crossed_line(sc: Scoring, telemetry_lap_start: float) -> bool:
    """True when telemetry has started a lap that scoring has not counted yet.

    Both carry the session time the lap started (mLapStartET); telemetry's moves at the line,
    scoring's up to 200 ms later. It is a new lap only if it started a lap's worth (here: over
    a second) after scoring's, and after scoring was written (or scoring would show it): two
    readings of the same start never differ that much. And only near the end of scoring's
    lap: elsewhere (back to the garage, a reset) it is not a lap scoring will count.
    """
    if telemetry_lap_start < max(sc.lap_start + MIN_LAP_S, sc.current_et - SCORING_SLACK_S):
        return False
    return sc.track_length <= 0 or sc.lap_dist >= 0.5 * sc.track_length


def _sector(telemetry_sector: int, scoring_sector: int) -> int:
    """0-based sector from telemetry's mCurrentSector (pit lane in the sign bit), at 50 Hz;
    scoring's mSector (1, 2, 0 = sector 3, 5 Hz) only if telemetry's is out of range."""
    sector = telemetry_sector & 0x7FFF_FFFF
    if sector <= 2:
        return sector
    return {1: 0, 2: 1, 0: 2}.get(scoring_sector, 0)


def _splits_and_place(sc: Scoring) -> Frame:
    split1, split2 = lap_time_or_none(sc.last_split1), lap_time_or_none(sc.last_split2)
    if not 0 < split1 < split2:
        split1 = split2 = -1.0  # a lap without both splits (out-lap from the garage, reset)
    return {
        "last_split1": split1,
        "last_split2": split2,
        "position": float(sc.place),
        # A gap in laps is not a time: the game's seconds then mean nothing comparable.
        "gap_ahead": _gap(sc.gap_next) if sc.place > 1 and sc.laps_next == 0 else -1.0,
        "gap_leader": _gap(sc.gap_leader) if sc.place > 1 and sc.laps_leader == 0 else -1.0,
        "air_temp": sc.air_temp,
        "track_temp": sc.track_temp,
    }


def _gap(seconds: float) -> float:
    return seconds if math.isfinite(seconds) and 0.0 <= seconds <= 36_000.0 else -1.0


def _engine_and_inputs(buf: bytes, off: int) -> Frame:
    rpm, water, oil = f64s(buf, off + 356, 3)
    throttle, brake, steering, clutch = f64s(buf, off + 388, 4)  # unfiltered = the driver's input
    return {
        "gear": float(clamp(i32(buf, off + 352), -1, 12)),  # -1 R, 0 N
        "rpm": max(rpm, 0.0),
        "max_rpm": max(f64(buf, off + 532), 0.0),
        "water_temp": water,
        "oil_temp": oil,
        "throttle": clamp(throttle, 0.0, 1.0),
        "brake": clamp(brake, 0.0, 1.0),
        "steering": clamp(steering, -1.0, 1.0),
        "clutch": clamp(clutch, 0.0, 1.0),
        "fuel": max(f64(buf, off + 524), 0.0),
        "fuel_capacity": max(f64(buf, off + 608), 0.0),
    }


def _motion(buf: bytes, off: int) -> Frame:
    x, y, z = f64s(buf, off + 160, 3)
    ax, _, az = f64s(buf, off + 208, 3)  # m/s², +x left, +z back
    return {"pos_x": x, "pos_y": y, "pos_z": z, "g_lat": -ax / STANDARD_G, "g_lon": -az / STANDARD_G}


def _wheels(buf: bytes, off: int) -> Frame:
    frame: Frame = {}
    for i, w in enumerate(WHEELS):
        base = off + 848 + 260 * i
        left, centre, right = f64s(buf, base + 128, 3)  # Kelvin, left/centre/right
        frame[f"brake_temp_{w}"] = f64(buf, base + 24)  # °C
        frame[f"tyre_press_{w}"] = f64(buf, base + 120)  # kPa
        frame[f"tyre_temp_{w}"] = centre - KELVIN
        sided_temps(i, left, centre, right, frame, KELVIN)
        frame[f"tyre_wear_{w}"] = clamp((1.0 - f64(buf, base + 152)) * 100.0, 0.0, 100.0)  # mWear 1 = new
    return frame


def whole(buf: bytes | None) -> bool:
    """A plugin buffer copy is whole when mVersionUpdateBegin == mVersionUpdateEnd."""
    return buf is not None and len(buf) >= 8 and buf[0:4] == buf[4:8]


def check_plugin_version(ext: bytes) -> None:
    version = cstr(ext, 8, 12)
    if not version:
        return  # buffer not filled yet
    parts = version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise LayoutError(f"rF2 shared memory plugin reports an unreadable version {version!r}") from None
    if (major, minor) != SUPPORTED_PLUGIN:
        raise LayoutError(
            f"rF2 shared memory plugin {version} is not supported (this agent reads "
            f"{SUPPORTED_PLUGIN[0]}.{SUPPORTED_PLUGIN[1]}.x); install plugin 3.7.x or update simcoach-agent"
        )


class Rf2Decoder:
    def __init__(self, game: str = "rf2") -> None:
        self.game = game
        self._scoring: Scoring | None = None
        self._last_version: bytes | None = None
        self._info: SessionInfo | None = None

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        telemetry = None
        for tag, data in chunks:
            if tag == "extended" and whole(data):
                check_plugin_version(data)
            elif tag == "scoring" and whole(data) and len(data) >= 8 + 4 + SCORING_INFO:
                self._take_scoring(data)
            elif tag == "telemetry":
                telemetry = data
        if telemetry is None or not whole(telemetry) or len(telemetry) < 16:
            return None  # torn or absent
        if telemetry[0:4] == self._last_version:
            return None
        self._last_version = telemetry[0:4]
        sc = player_driving(self._scoring)
        if sc is None:
            return None
        off = self._player_telemetry(telemetry, sc.vehicle_id)
        return None if off is None else telemetry_frame(telemetry, off, sc, now)

    def _take_scoring(self, data: bytes) -> None:
        self._scoring = player_scoring(data, 12, 8 + 4 + SCORING_INFO, MAX_VEHICLES)
        if self._scoring is not None:
            self._info = session_info(self.game, self._scoring)

    @staticmethod
    def _player_telemetry(buf: bytes, vehicle_id: int) -> int | None:
        # Telemetry and scoring arrays are in different orders: join on mID.
        count = min(max(i32(buf, 12), 0), MAX_VEHICLES)
        for i in range(count):
            off = 16 + i * TELEM_VEHICLE
            if off + TELEM_VEHICLE > len(buf):
                break
            if i32(buf, off) == vehicle_id:
                return off
        return None


def trim(tag: str, data: bytes) -> bytes:
    """Drop the unused vehicle slots: keeps recordings small; offsets are unchanged."""
    if tag == "telemetry":
        return data[: 16 + min(max(i32(data, 12), 0), MAX_VEHICLES) * TELEM_VEHICLE]
    if tag == "scoring":
        count = min(max(i32(data, 12 + 104), 0), MAX_VEHICLES)
        return data[: 8 + 4 + SCORING_INFO + count * SCORING_VEHICLE]
    return data


class PluginBuffer(Protocol):
    """What the transport needs of a mapped buffer (ShmPage; a scripted one in tests)."""

    def read(self) -> bytes | None: ...

    def head(self, n: int) -> bytes | None: ...

    def close(self) -> None: ...


def copy_whole(page: PluginBuffer, retries: int) -> bytes | None:
    """A copy of the buffer that no write overlapped, or None after ``retries`` torn copies.

    Begin == End inside the copy only proves no write was under way when the copy *started*
    (the version block is its first 8 bytes); a write that starts during the ~240 KB copy
    bumps Begin after we copied it. So, as the plugin's own readers do, the version block is
    read again after the copy: if it moved, the body may hold the next write, and we retry.
    """
    for _ in range(retries):
        data = page.read()
        if data is None:
            return None
        if whole(data) and page.head(8) == data[:8]:
            return data
    return None


class Rf2Transport:
    """Copies each buffer until its version block says the copy is whole (bounded retries)."""

    game = "rf2"

    def __init__(self, retries: int = 10, pages: Mapping[str, PluginBuffer] | None = None) -> None:
        if pages is None:
            require_windows("rf2")
            pages = {tag: ShmPage(name, size) for tag, (name, size) in BUFFERS.items()}
        self._pages = dict(pages)
        self._retries = retries
        self._seen: dict[str, bytes] = {}

    def poll(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        for tag, page in self._pages.items():
            data = copy_whole(page, self._retries)
            if data is None or self._seen.get(tag) == data[:8]:
                continue  # missing, torn every time, or unchanged since the last poll
            self._seen[tag] = data[:8]
            chunks.append((tag, trim(tag, data)))
        return chunks

    def close(self) -> None:
        for page in self._pages.values():
            page.close()
