"""RaceRoom: the ``$R3E`` page, header r3e.h major version 3 (``#pragma pack(1)``, 43 996 B).

R3E has no write counter; ``player.game_simulation_ticks`` (1/400 s) advances with every
physics step, so the transport copies the page twice and keeps it only if the ticks agree, and
the decoder keeps a frame only if the ticks advanced.
"""

from __future__ import annotations

from typing import Final

from ..channels import MS_TO_KMH, WHEELS, Frame
from .base import SessionInfo
from .layout import (
    RAD_S_TO_RPM,
    Chunk,
    LayoutError,
    clamp,
    cstr,
    f32,
    f32s,
    f64s,
    i32,
    lap_time_or_none,
    sided_temps,
)
from .shm import ShmPage, require_windows

PAGE_NAME: Final = "$R3E"
PAGE_SIZE: Final = 43_996  # v3.5; minor versions only repurpose or append
VERSION_MAJOR: Final = 3
SESSION_KIND: Final = {0: "practice", 1: "qualifying", 2: "race", 3: "practice"}
# r3e_flags int32 fields (-1 no data, 0 off, 1 on) by offset, most important first.
FLAG_FIELDS: Final = ((968, 3), (976, 5), (932, 2), (964, 1), (980, 4), (972, 7))


class R3eDecoder:
    game = "r3e"

    def __init__(self) -> None:
        self._last_ticks: int | None = None
        self._info: SessionInfo | None = None

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        page = next((d for tag, d in chunks if tag == "r3e"), None)
        if page is None or len(page) < 2012:
            return None
        major = i32(page, 0)
        if major == 0:
            return None  # the game has not filled the page yet
        if major != VERSION_MAJOR:
            raise LayoutError(
                f"RaceRoom shared memory version {major}.{i32(page, 4)} is not supported "
                f"(this agent reads {VERSION_MAJOR}.x); update simcoach-agent"
            )
        if i32(page, 20) or i32(page, 24) or i32(page, 28):
            return None  # paused, in menus or in a replay
        ticks = i32(page, 44)
        if ticks == self._last_ticks:
            return None
        self._last_ticks = ticks
        self._info = _session_info(page)
        return _frame(page, now)


def _session_info(p: bytes) -> SessionInfo:
    length = f32(p, 736)
    layout = cstr(p, 664, 64)
    track = cstr(p, 600, 64)
    return SessionInfo(
        game="r3e",
        track=f"{track} - {layout}" if layout else track,
        car=cstr(p, 1196, 64),
        kind=SESSION_KIND.get(i32(p, 780), "practice"),
        track_length_m=length if length > 0 else None,
        extra={"track_id": str(i32(p, 728)), "layout_id": str(i32(p, 732)), "model_id": str(i32(p, 1268))},
    )


def _frame(p: bytes, now: float) -> Frame:
    frame: Frame = {"t": now}
    frame.update(_timing(p))
    frame.update(_car(p))
    frame.update(_wheels(p))
    return frame


def _timing(p: bytes) -> Frame:
    completed = i32(p, 1028)
    sector = i32(p, 1036)  # 1..3, 0 or -1 = unknown
    frame: Frame = {
        "lap": float(max(completed, 0) + 1),
        "lap_dist": max(f32(p, 1040), 0.0),
        "lap_time": max(f32(p, 1100), 0.0),
        "last_lap_time": lap_time_or_none(f32(p, 1084)),
        "best_lap_time": lap_time_or_none(f32(p, 1068)),
        "sector": float(max(sector - 1, 0)),
        "lap_valid": 0.0 if i32(p, 1032) == 0 else 1.0,
        "in_pit": 1.0 if i32(p, 848) == 1 else 0.0,
        "flag": 0.0,
    }
    for off, code in FLAG_FIELDS:
        if i32(p, off) == 1:
            frame["flag"] = float(code)
            break
    frame.update(_splits(f32s(p, 1088, 3), f32(p, 1084)))
    front = f32(p, 1124)  # time_delta_front, -1 = N/A
    frame["position"] = float(clamp(i32(p, 988), 0, 255))
    frame["gap_ahead"] = front if 0.0 <= front <= 36_000.0 else -1.0
    return frame


def _splits(previous: tuple[float, ...], last_lap: float) -> Frame:
    """The game's splits of the last lap from sector_time_previous_self.

    Readers of the header treat these as cumulative (the third is the lap time); the header
    does not say, so the third value decides: the lap time means cumulative, a sum that makes
    the lap time means per sector. Anything else is not this lap's, and gives none.
    """
    s1, s2, s3 = previous
    if last_lap > 0 and 0 < s1 < s2 and abs(s3 - last_lap) < 0.002:
        return {"last_split1": s1, "last_split2": s2}
    if last_lap > 0 and min(s1, s2, s3) > 0 and abs(s1 + s2 + s3 - last_lap) < 0.002:
        return {"last_split1": s1, "last_split2": s1 + s2}
    return {"last_split1": -1.0, "last_split2": -1.0}


def _car(p: bytes) -> Frame:
    x, y, z = f64s(p, 56, 3)
    gx, _, gz = f64s(p, 296, 3)  # g, car frame, +X left, +Z back
    frame: Frame = {
        "speed": f32(p, 1392) * MS_TO_KMH,
        "rpm": max(f32(p, 1396), 0.0) * RAD_S_TO_RPM,
        "max_rpm": max(f32(p, 1400), 0.0) * RAD_S_TO_RPM,
        "steering": clamp(f32(p, 1524), -1.0, 1.0),
        "pos_x": x,
        "pos_y": y,
        "pos_z": z,
        "g_lat": -gx,  # positive = pushed towards the right
        "g_lon": -gz,  # positive = accelerating
    }
    gear = i32(p, 1408)
    if gear >= -1:  # -2 = N/A
        frame["gear"] = float(gear)
    for name, off in (("throttle", 1500), ("brake", 1508), ("clutch", 1516)):
        v = f32(p, off)
        if v >= 0.0:  # -1 = N/A
            frame[name] = clamp(v, 0.0, 1.0)
    for name, off in (("fuel", 1456), ("fuel_capacity", 1460), ("water_temp", 1480), ("oil_temp", 1484)):
        v = f32(p, off)
        if v >= 0.0:
            frame[name] = v
    return frame


def _wheels(p: bytes) -> Frame:
    frame: Frame = {}
    wear = f32s(p, 1680, 4)  # 1.0 = new, -1 = N/A
    press = f32s(p, 1712, 4)  # kPa
    for i, w in enumerate(WHEELS):
        left, centre, right = f32s(p, 1744 + 24 * i, 3)
        if centre >= 0.0:
            frame[f"tyre_temp_{w}"] = centre
            sided_temps(i, left, centre, right, frame, 0.0)
        brake = f32(p, 1856 + 16 * i)
        if brake >= 0.0:
            frame[f"brake_temp_{w}"] = brake
        if press[i] >= 0.0:
            frame[f"tyre_press_{w}"] = press[i]
        if wear[i] >= 0.0:
            frame[f"tyre_wear_{w}"] = clamp((1.0 - wear[i]) * 100.0, 0.0, 100.0)
    return frame


class R3eTransport:
    game = "r3e"

    def __init__(self, retries: int = 3) -> None:
        require_windows("r3e")
        self._page = ShmPage(PAGE_NAME, PAGE_SIZE)
        self._retries = retries

    def poll(self) -> list[Chunk]:
        for _ in range(self._retries):
            data = self._page.read()
            again = self._page.read()
            if data is None or again is None:
                return []
            if data[44:48] == again[44:48]:  # simulation ticks unchanged during the copy
                return [("r3e", data)]
        return []

    def close(self) -> None:
        self._page.close()
