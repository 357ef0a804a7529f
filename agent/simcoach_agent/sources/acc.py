"""Assetto Corsa Competizione: the three ``Local\\acpmf_*`` pages (``#pragma pack(4)``).

Offsets follow Kunos' "ACC Shared Memory v1.8.12" as laid out in SharedFileOut.h. ACC has no
torn-read guard: the transport copies a page, re-reads its ``packetId`` and retries if the game
wrote meanwhile; the decoder drops frames whose physics ``packetId`` did not advance.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Final

from ..channels import PSI_TO_KPA, WHEELS, Frame
from .base import SessionInfo
from .layout import Chunk, clamp, f32, f32s, i32, lap_time_or_none, wstr
from .shm import ShmPage, require_windows

PHYSICS_SIZE: Final = 800
GRAPHICS_SIZE: Final = 1588
STATIC_SIZE: Final = 820  # with trackConfiguration[33]
PAGE_NAMES: Final = {
    "physics": ("Local\\acpmf_physics", PHYSICS_SIZE),
    "graphics": ("Local\\acpmf_graphics", GRAPHICS_SIZE),
    "static": ("Local\\acpmf_static", STATIC_SIZE),
}
STATUS_LIVE: Final = 2
NO_TIME_MS: Final = 2_147_483_647  # ACC writes INT_MAX for "no best lap yet"
# ACC_SESSION_TYPE -> our kind; drift/drag fall back to practice.
SESSION_KIND: Final = {
    0: "practice",
    1: "qualifying",
    2: "race",
    3: "hotlap",
    4: "hotlap",
    7: "hotlap",
    8: "hotlap",
}
# ACC_FLAG_TYPE -> channel flag code (6 penalty is not a flag on track; 8 orange ~ black/orange).
FLAG: Final = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 0, 7: 7, 8: 3}


def track_length_for(track: str) -> float | None:
    """Length in metres from the track table if the agent has one (tracks.track_lookup)."""
    try:
        from .. import tracks
    except ImportError:
        return None
    lookup = getattr(tracks, "track_lookup", None)
    if lookup is None:
        return None
    found = lookup(track)
    if found is None:
        return None
    if isinstance(found, int | float):
        return float(found)
    length = getattr(found, "length_m", None)
    return float(length) if length else None


class AccDecoder:
    game = "acc"

    def __init__(self) -> None:
        self._static: bytes | None = None
        self._graphics: bytes | None = None
        self._last_packet: int | None = None
        self._info: SessionInfo | None = None
        self._length: float | None = None  # metres, from the table or learnt
        self._anchor: tuple[float, float] | None = None  # (normalized pos, distanceTraveled)
        self._sectors = SectorTimes()

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        physics = None
        for tag, data in chunks:
            if tag == "static":
                self._set_static(data)
            elif tag == "graphics":
                self._graphics = data
            elif tag == "physics":
                physics = data
        if physics is None or self._graphics is None or len(physics) < PHYSICS_SIZE:
            return None
        if len(self._graphics) < GRAPHICS_SIZE or i32(self._graphics, 4) != STATUS_LIVE:
            return None  # off, replay or pause: never coach on those
        packet = i32(physics, 0)
        if packet == self._last_packet:
            return None
        self._last_packet = packet
        return self._frame(physics, self._graphics, now)

    def _set_static(self, data: bytes) -> None:
        if len(data) < STATIC_SIZE or data == self._static:
            return
        self._static = data
        track = wstr(data, 134, 33)
        self._length = track_length_for(track)
        self._anchor = None

    def _frame(self, p: bytes, g: bytes, now: float) -> Frame:
        frame: Frame = {"t": now}
        frame.update(_timing(g))
        frame["lap_dist"] = self._lap_dist(f32(g, 248), f32(g, 156))
        frame.update(_car(p))
        frame.update(_wheels(p))
        frame.update(_player_position(g))
        frame.update(self._sectors.feed(i32(g, 168), i32(g, 144)))
        if self._static is not None:
            frame["max_rpm"] = float(i32(self._static, 412))
            frame["fuel_capacity"] = f32(self._static, 416)
        self._update_info(g)
        return frame

    def _lap_dist(self, norm: float, travelled: float) -> float:
        """Metres into the lap: spline position × track length, the length learnt if unknown.

        Without a table entry the length is estimated as Δ distanceTraveled / Δ spline position
        over a stretch of at least 5 % of a lap without crossing the line.
        """
        norm = clamp(norm, 0.0, 1.0)
        if self._length is None:
            if self._anchor is None or norm < self._anchor[0]:
                self._anchor = (norm, travelled)  # first sight, or the line was crossed
            n0, d0 = self._anchor
            if norm - n0 >= 0.05 and travelled > d0:
                self._length = (travelled - d0) / (norm - n0)
            else:
                return max(travelled - d0, 0.0)  # rough until the length is learnt
        return norm * self._length

    def _update_info(self, g: bytes) -> None:
        if self._static is None:
            return
        s = self._static
        self._info = SessionInfo(
            game="acc",
            track=wstr(s, 134, 33),
            car=wstr(s, 68, 33),
            kind=SESSION_KIND.get(i32(g, 8), "practice"),
            track_length_m=self._length,
            extra={"sm_version": wstr(s, 0, 15), "ac_version": wstr(s, 30, 15)},
        )


class SectorTimes:
    """The game's splits of the last lap, from graphics ``lastSectorTime`` (ms).

    ACC publishes one sector's time at a time, so the decoder keeps the last three it saw
    change; they are the finished lap's when they add up to ``iLastTime`` (to 2 ms), and are
    then held for as long as that lap time stands. Two sectors of the same time to the
    millisecond look like one change: that lap then has no splits from the game.
    """

    def __init__(self) -> None:
        self._seen: int | None = None
        self._recent: deque[int] = deque(maxlen=3)
        self._held: tuple[int, float, float] | None = None  # (lap ms, split 1 s, split 2 s)

    def feed(self, last_sector_ms: int, last_lap_ms: int) -> Frame:
        if last_sector_ms != self._seen:
            if self._seen is not None and last_sector_ms > 0:
                self._recent.append(last_sector_ms)
            self._seen = last_sector_ms
        held = self._held
        if held is None or held[0] != last_lap_ms:
            held = self._held = self._match(last_lap_ms)
        if held is None:
            return {"last_split1": -1.0, "last_split2": -1.0}
        return {"last_split1": held[1], "last_split2": held[2]}

    def _match(self, last_lap_ms: int) -> tuple[int, float, float] | None:
        if len(self._recent) < 3 or not 0 < last_lap_ms < NO_TIME_MS:
            return None
        s1, s2, s3 = self._recent
        if abs(s1 + s2 + s3 - last_lap_ms) > 2:
            return None
        return last_lap_ms, s1 / 1000.0, (s1 + s2) / 1000.0


def _ms(v: int) -> float:
    return -1.0 if v == NO_TIME_MS else lap_time_or_none(v / 1000.0)


def _timing(g: bytes) -> Frame:
    current = i32(g, 140)
    return {
        "lap": float(i32(g, 132) + 1),
        "lap_time": max(current, 0) / 1000.0,
        "last_lap_time": _ms(i32(g, 144)),
        "best_lap_time": _ms(i32(g, 148)),
        "sector": float(max(i32(g, 164), 0)),
        "lap_valid": 1.0 if i32(g, 1408) else 0.0,
        "position": float(clamp(i32(g, 136), 0, 255)),
        "in_pit": 1.0 if i32(g, 1236) or i32(g, 160) else 0.0,
        "flag": float(FLAG.get(i32(g, 1224), 0)),
    }


def _car(p: bytes) -> Frame:
    gas, brake, fuel = f32s(p, 4, 3)
    acc_g = f32s(p, 44, 3)  # g, car frame: x lateral, y vertical, z longitudinal
    return {
        "throttle": clamp(gas, 0.0, 1.0),
        "brake": clamp(brake, 0.0, 1.0),
        "fuel": max(fuel, 0.0),  # litres in practice (the PDF says kg)
        "gear": float(i32(p, 16) - 1),  # ACC: 0 = R, 1 = N, 2 = 1st
        "rpm": float(max(i32(p, 20), 0)),
        "steering": clamp(f32(p, 24), -1.0, 1.0),
        "speed": f32(p, 28),  # already km/h
        "g_lat": acc_g[0],
        "g_lon": acc_g[2],
        "clutch": clamp(f32(p, 364), 0.0, 1.0),
        "water_temp": f32(p, 712),
        "air_temp": f32(p, 288),
        "track_temp": f32(p, 292),  # roadTemp
        "tc_active": 1.0 if i32(p, 672) else 0.0,
        "abs_active": 1.0 if i32(p, 676) else 0.0,
    }


def _wheels(p: bytes) -> Frame:
    frame: Frame = {}
    press = f32s(p, 88, 4)  # psi
    core = f32s(p, 152, 4)  # °C
    brake = f32s(p, 348, 4)  # °C
    slip = f32s(p, 640, 4)
    for i, w in enumerate(WHEELS):
        frame[f"tyre_press_{w}"] = press[i] * PSI_TO_KPA
        frame[f"tyre_temp_{w}"] = core[i]
        frame[f"brake_temp_{w}"] = brake[i]
        frame[f"wheel_slip_{w}"] = clamp(slip[i], -1.0, 50.0)
    return frame


def _player_position(g: bytes) -> Frame:
    """World x, y, z of the player: carCoordinates[i] where carID[i] == playerCarID."""
    active = min(max(i32(g, 252), 0), 60)
    player = i32(g, 1216)
    ids = struct.unpack_from("<60i", g, 976)
    for i in range(active):
        if ids[i] == player:
            x, y, z = f32s(g, 256 + 12 * i, 3)
            return {"pos_x": x, "pos_y": y, "pos_z": z}
    return {}


class AccTransport:
    """Copies the pages with a double read: a page whose packetId moved during the copy is torn."""

    game = "acc"

    def __init__(self, retries: int = 3) -> None:
        require_windows("acc")
        self._pages = {tag: ShmPage(name, size) for tag, (name, size) in PAGE_NAMES.items()}
        self._retries = retries
        self._static: bytes | None = None

    def poll(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        for tag in ("physics", "graphics"):
            data = self._stable(self._pages[tag])
            if data is None:
                return []
            chunks.append((tag, data))
        static = self._pages["static"].read()
        if static is not None and static != self._static:
            self._static = static  # static only travels when it changes (new session)
            chunks.insert(0, ("static", static))
        return chunks

    def _stable(self, page: ShmPage) -> bytes | None:
        for _ in range(self._retries):
            data = page.read()
            again = page.read()
            if data is None or again is None:
                return None
            if data[:4] == again[:4]:
                return data
        return None

    def close(self) -> None:
        for page in self._pages.values():
            page.close()
