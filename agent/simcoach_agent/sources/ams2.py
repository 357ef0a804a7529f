"""Automobilista 2: the ``$pcars2$`` page (Project CARS 2 shared memory v14) and PC2 UDP.

Shared memory (default C alignment, 20 700 B): ``mSequenceNumber`` @7320 is bumped before and
after every write, so an odd value means "being written"; a copy is whole only if the number
was even and unchanged across it.

UDP (port 5606, ``#pragma pack(1)``): every datagram starts with a 12-byte PacketBase
(u32 mPacketNumber, u32 mCategoryPacketNumber, u8 partial index, u8 partial count, u8 type,
u8 version). Telemetry (type 0, 538 B or 559 B) carries the car; timings (3), race definition
(1), game state (4) and time stats (7) carry what the frame needs besides. Datagrams can be
lost, duplicated or reordered: each type keeps its newest ``mPacketNumber`` and older ones are
dropped. The legacy Project CARS 1 format (u16 build, u8 type|sequence; 1 367 / 1 347 /
1 028 B) is recognised by its sizes and decoded too.
"""

from __future__ import annotations

import socket
import struct
from typing import Final

from ..channels import MS_TO_KMH, WHEELS, Frame
from .base import SessionInfo
from .layout import (
    STANDARD_G,
    Chunk,
    LayoutError,
    PolledSource,
    clamp,
    cstr,
    f32,
    f32s,
    i8,
    i16,
    i32,
    lap_time_or_none,
    sided_temps,
    u16,
    u32,
)
from .shm import ShmPage, require_windows

# ---- shared enums -------------------------------------------------------------------------

GAME_PLAYING: Final = 2
SESSION_KIND: Final = {1: "practice", 2: "practice", 3: "qualifying", 4: "race", 5: "race", 6: "hotlap"}
# PC2 flag colours -> channel flag: green, blue, white (slow car / final lap), red->black,
# yellow, double yellow, black&white, black/orange, black, chequered.
FLAG: Final = {0: 0, 1: 7, 2: 1, 3: 4, 4: 4, 5: 3, 6: 2, 7: 2, 8: 3, 9: 3, 10: 3, 11: 5}
CAR_ABS: Final = 1 << 4
CAR_TCS: Final = 1 << 6

# ---- shared memory ------------------------------------------------------------------------

SHM_NAME: Final = "$pcars2$"
SHM_SIZE: Final = 20_700
SHM_VERSION: Final = 14
SEQUENCE_AT: Final = 7320
PARTICIPANTS_AT: Final = 28
PARTICIPANT_SIZE: Final = 100


class Ams2ShmDecoder:
    game = "ams2"

    def __init__(self) -> None:
        self._last_seq: int | None = None
        self._info: SessionInfo | None = None

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        page = next((d for tag, d in chunks if tag == "pcars2"), None)
        if page is None or len(page) < SHM_SIZE:
            return None
        version = u32(page, 0)
        if version == 0:
            return None  # the game has not written the page yet
        if version != SHM_VERSION:
            raise LayoutError(
                f"AMS2 shared memory version {version} is not supported (this agent reads "
                f"{SHM_VERSION}); set Options > System > Shared Memory to 'Project CARS 2', "
                "or update simcoach-agent"
            )
        seq = u32(page, SEQUENCE_AT)
        if seq % 2 or seq == self._last_seq:
            return None  # being written, or nothing new
        self._last_seq = seq
        if u32(page, 8) != GAME_PLAYING:
            return None  # menus, paused, replay
        viewed = i32(page, 20)
        if not 0 <= viewed < 64:
            return None
        self._info = _shm_info(page)
        return _shm_frame(page, viewed, now)


def _shm_info(p: bytes) -> SessionInfo:
    length = f32(p, 6704)
    variation = cstr(p, 6640, 64)
    location = cstr(p, 6576, 64)
    return SessionInfo(
        game="ams2",
        track=f"{location}:{variation}" if variation else location,
        car=cstr(p, 6444, 64),
        car_class=cstr(p, 6508, 64),
        kind=SESSION_KIND.get(u32(p, 12), "practice"),
        track_length_m=length if length > 0 else None,
    )


def _shm_frame(p: bytes, viewed: int, now: float) -> Frame:
    part = PARTICIPANTS_AT + viewed * PARTICIPANT_SIZE
    x, y, z = f32s(p, part + 68, 3)
    frame: Frame = {
        "t": now,
        "lap": float(u32(p, part + 88) + 1),  # mLapsCompleted + 1
        "lap_dist": max(f32(p, part + 80), 0.0),
        "sector": float(clamp(i32(p, part + 96), 0, 9)),  # 0-based, -1 unset
        "position": float(clamp(u32(p, part + 84), 0, 255)),  # mRacePosition, 1-based, 0 unset
        "lap_time": max(f32(p, 6724), 0.0),
        "gap_ahead": _gap(f32(p, 6728)),  # mSplitTimeAhead
        "last_lap_time": lap_time_or_none(f32(p, 6720)),
        "best_lap_time": lap_time_or_none(f32(p, 6716)),
        "lap_valid": 0.0 if p[6712] else 1.0,
        "in_pit": 1.0 if u32(p, 6808) != 0 else 0.0,
        "flag": float(FLAG.get(u32(p, 6800), 0)),
        "pos_x": x,
        "pos_y": y,
        "pos_z": z,
    }
    frame.update(_shm_car(p))
    frame.update(_shm_wheels(p))
    return frame


def _shm_car(p: bytes) -> Frame:
    throttle, brake, steering, clutch = f32s(p, 6428, 4)  # unfiltered: the driver's input
    flags = u32(p, 6816)
    oil, _, water, _, _, fuel_frac, capacity, speed, rpm, max_rpm = f32s(p, 6820, 10)
    ax, _, az = f32s(p, 6956, 3)  # m/s², car frame (+x left, +z back, as rF2's)
    return {
        "throttle": clamp(throttle, 0.0, 1.0),
        "brake": clamp(brake, 0.0, 1.0),
        "steering": clamp(steering, -1.0, 1.0),
        "clutch": clamp(clutch, 0.0, 1.0),
        "oil_temp": oil,
        "water_temp": water,
        "fuel": max(fuel_frac, 0.0) * max(capacity, 0.0),  # mFuelLevel is a 0..1 fraction
        "fuel_capacity": max(capacity, 0.0),
        "speed": speed * MS_TO_KMH,
        "rpm": max(rpm, 0.0),
        "max_rpm": max(max_rpm, 0.0),
        "gear": float(clamp(i32(p, 6876), -1, 12)),  # -1 R, 0 N
        "abs_active": 1.0 if flags & CAR_ABS or p[6888] else 0.0,
        "tc_active": 1.0 if flags & CAR_TCS else 0.0,
        "g_lat": -ax / STANDARD_G,
        "g_lon": -az / STANDARD_G,
    }


def _shm_wheels(p: bytes) -> Frame:
    frame: Frame = {}
    temp = f32s(p, 7072, 4)  # °C
    wear = f32s(p, 7136, 4)  # 0 new .. 1 gone
    brake = f32s(p, 7184, 4)  # °C
    # The header calls mAirPressure PSI, but AMS2 writes hundredths of a bar (kPa), as over UDP:
    # a real capture holds ~162 (PSI would be 11 bar), CREST2 dashboards show it / 100 as bar,
    # and the SMS UDP streamer copies it unscaled into sAirPressure.
    press = f32s(p, 7372, 4)
    left, centre, right = f32s(p, 20584, 4), f32s(p, 20600, 4), f32s(p, 20616, 4)  # °C
    for i, w in enumerate(WHEELS):
        frame[f"tyre_temp_{w}"] = temp[i]
        frame[f"tyre_wear_{w}"] = clamp(wear[i] * 100.0, 0.0, 100.0)
        frame[f"brake_temp_{w}"] = brake[i]
        frame[f"tyre_press_{w}"] = press[i]
        sided_temps(i, left[i], centre[i], right[i], frame, 0.0)
    return frame


class Ams2ShmTransport:
    """The CREST2 recipe: skip odd sequence numbers, copy, keep the copy if the number held."""

    game = "ams2"

    def __init__(self, retries: int = 3) -> None:
        require_windows("ams2")
        self._page = ShmPage(SHM_NAME, SHM_SIZE)
        self._retries = retries

    def poll(self) -> list[Chunk]:
        for _ in range(self._retries):
            data = self._page.read()
            if data is None:
                return []
            seq = data[SEQUENCE_AT : SEQUENCE_AT + 4]
            again = self._page.read()
            if again is not None and seq[0] % 2 == 0 and again[SEQUENCE_AT : SEQUENCE_AT + 4] == seq:
                return [("pcars2", data)]
        return []

    def close(self) -> None:
        self._page.close()


# ---- UDP ----------------------------------------------------------------------------------

UDP_PORT: Final = 5606
HEADER: Final = struct.Struct("<IIBBBB")
TELEMETRY, RACE_DEFINITION, PARTICIPANTS, TIMINGS, GAME_STATE, TIME_STATS, VEHICLE_NAMES = 0, 1, 2, 3, 4, 7, 8
TELEMETRY_SIZES: Final = (538, 556, 559)
FULL_POSITION_AT: Final = 542  # only in the later (559-byte) revision
PC1_TELEMETRY, PC1_STRINGS, PC1_MORE_STRINGS = 1367, 1347, 1028
RESTART_GAP: Final = 10_000  # a packet number this far back means the game restarted


class Ams2UdpDecoder:
    """Keeps the latest state of every packet type; a telemetry packet yields a frame."""

    game = "ams2"

    def __init__(self) -> None:
        self._newest: dict[int, int] = {}
        self._state: int | None = None  # game state; None until a game-state packet arrives
        self._session = 0
        self._track = ("", "")
        self._length = 0.0
        self._timings: bytes | None = None
        self._stats: bytes | None = None
        self._names: dict[int, str] = {}
        self._vehicles: dict[int, str] = {}
        self._car_class = ""
        self._car = ""
        self._info: SessionInfo | None = None

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        newest: Frame | None = None
        for _, data in chunks:
            frame = self.packet(data, now)
            if frame is not None:
                newest = frame
        return newest

    def packet(self, data: bytes, now: float) -> Frame | None:
        """One datagram; returns a frame if it was fresh telemetry of a car being driven."""
        if len(data) in (PC1_TELEMETRY, PC1_STRINGS, PC1_MORE_STRINGS):
            return self._pc1(data, now)
        if len(data) < HEADER.size:
            return None
        number, _, part, parts, kind, _ = HEADER.unpack_from(data)
        if not self._fresh(kind, part, number):
            return None
        if kind == TELEMETRY and len(data) >= TELEMETRY_SIZES[0]:
            return self._telemetry(data, now)
        self._other(kind, part, parts, data)
        return None

    def _fresh(self, kind: int, part: int, number: int) -> bool:
        key = kind * 256 + part  # parts of one multi-part message are separate streams
        last = self._newest.get(key)
        if last is not None and last - RESTART_GAP < number <= last:
            return False  # duplicate or out of order: an older state than what we hold
        self._newest[key] = number
        return True

    def _other(self, kind: int, part: int, parts: int, data: bytes) -> None:
        if kind == GAME_STATE and len(data) >= 15:
            self._state, self._session = data[14] & 0x07, data[14] >> 4
        elif kind == RACE_DEFINITION and len(data) >= 176:
            self._length = f32(data, 44)
            self._track = (cstr(data, 48, 64), cstr(data, 112, 64))
        elif kind == TIMINGS and len(data) >= 33 + 30:
            self._timings = data
        elif kind == TIME_STATS and len(data) >= 16 + 24:
            self._stats = data
        elif kind == PARTICIPANTS and len(data) >= 16 + 64:
            self._participant_names(part, data)
        elif kind == VEHICLE_NAMES:
            self._vehicle_names(data)

    def _participant_names(self, part: int, data: bytes) -> None:
        # Part k (1-based) of a multi-part participants message holds names 16(k-1) .. 16k-1.
        first = max(part - 1, 0) * 16
        for i in range(min(16, (len(data) - 16) // 64)):
            name = cstr(data, 16 + 64 * i, 64)
            if name:
                self._names[first + i] = name

    def _vehicle_names(self, data: bytes) -> None:
        if len(data) != 1164:
            return  # the 1 452-byte last part lists class names
        for i in range(16):
            off = 12 + 72 * i
            name = cstr(data, off + 6, 64)
            if name:
                self._vehicles[u16(data, off)] = name

    def _telemetry(self, t: bytes, now: float) -> Frame | None:
        if self._state != GAME_PLAYING or self._timings is None:
            return None  # not driving, or we cannot place the car on the lap yet
        viewed = i8(t, 12)
        stride = 32 if len(self._timings) >= 33 + 32 * 32 else 30
        part = 33 + viewed * stride
        if viewed < 0 or part + 30 > len(self._timings):
            return None
        frame: Frame = {"t": now}
        frame.update(_udp_timing(self._timings, part))
        frame["gap_ahead"] = _gap(f32(self._timings, 21))  # sSplitTimeAhead, of the viewed car
        frame.update(self._lap_times(viewed))
        frame.update(_udp_car(t))
        frame.update(_udp_wheels(t))
        frame.update(_udp_position(t, self._timings, part))
        self._update_info(u16(self._timings, part + 18) & 0x7FFF)
        return frame

    def _lap_times(self, viewed: int) -> Frame:
        if self._stats is None:
            return {"last_lap_time": -1.0, "best_lap_time": -1.0}
        stride = 32 if len(self._stats) >= 16 + 32 * 32 else 24
        off = 16 + viewed * stride
        if off + 8 > len(self._stats):
            return {"last_lap_time": -1.0, "best_lap_time": -1.0}
        best, last = f32s(self._stats, off, 2)
        return {"last_lap_time": lap_time_or_none(last), "best_lap_time": lap_time_or_none(best)}

    def _update_info(self, car_index: int) -> None:
        location, variation = self._track
        self._info = SessionInfo(
            game="ams2",
            track=f"{location}:{variation}" if variation else location,
            car=self._vehicles.get(car_index, self._car),
            car_class=self._car_class,
            kind=SESSION_KIND.get(self._session, "practice"),
            track_length_m=self._length if self._length > 0 else None,
        )

    # ---- Project CARS 1 legacy packets (as in shared/fixtures/ams2/*.bin) -------------------

    def _pc1(self, data: bytes, now: float) -> Frame | None:
        kind = data[2] & 0x03
        if kind == 1 and len(data) == PC1_STRINGS:
            self._car, self._car_class = cstr(data, 3, 64), cstr(data, 67, 64)
            self._track = (cstr(data, 131, 64), cstr(data, 195, 64))
            return None
        if kind != 0 or len(data) != PC1_TELEMETRY:
            return None
        pc1 = decode_pc1_telemetry(data)
        self._state, self._session = pc1.game_state, pc1.session_state
        self._length = pc1.track_length
        self._update_info(-1)
        if pc1.game_state != GAME_PLAYING:
            return None
        pc1.frame["t"] = now
        return pc1.frame


def _gap(seconds: float) -> float:
    """A split time to the car ahead in seconds; -1 for none: the game's unset (negative, or 0
    when nobody is ahead) and garbage."""
    return seconds if 0.0 < seconds <= 36_000.0 else -1.0


def _udp_timing(tm: bytes, part: int) -> Frame:
    return {
        "lap": float(max(tm[part + 21], 1)),  # sCurrentLap: the lap being driven, 1-based
        "lap_dist": float(u16(tm, part + 12)),
        "sector": float(min(tm[part + 15] & 0x07, 9)),
        "position": float(tm[part + 14] & 0x7F),  # the top bit says whether the car is active
        "flag": float(FLAG.get(tm[part + 16] & 0x07, 0)),
        "in_pit": 1.0 if tm[part + 17] & 0x07 else 0.0,
        "lap_valid": 0.0 if tm[part + 20] & 0x08 else 1.0,  # race-state bit 3 = lap invalidated
        "lap_time": max(f32(tm, part + 22), 0.0),
    }


def _udp_car(t: bytes) -> Frame:
    gear = t[45] & 0x0F
    ax, _, az = f32s(t, 100, 3)  # m/s², car frame
    return {
        "throttle": t[13] / 255.0,
        "brake": t[14] / 255.0,
        "steering": clamp(i8(t, 15) / 127.0, -1.0, 1.0),
        "clutch": t[16] / 255.0,
        "abs_active": 1.0 if t[17] & CAR_ABS else 0.0,
        "tc_active": 1.0 if t[17] & CAR_TCS else 0.0,
        "oil_temp": float(i16(t, 18)),
        "water_temp": float(i16(t, 22)),
        "fuel_capacity": float(t[28]),
        "fuel": max(f32(t, 32), 0.0) * t[28],
        "speed": f32(t, 36) * MS_TO_KMH,
        "rpm": float(u16(t, 40)),
        "max_rpm": float(u16(t, 42)),
        "gear": -1.0 if gear == 15 else float(gear),  # low nibble, 15 = reverse
        "g_lat": -ax / STANDARD_G,
        "g_lon": -az / STANDARD_G,
    }


def _udp_wheels(t: bytes) -> Frame:
    frame: Frame = {}
    for i, w in enumerate(WHEELS):
        frame[f"tyre_temp_{w}"] = float(t[176 + i])  # °C
        frame[f"tyre_wear_{w}"] = t[196 + i] / 255.0 * 100.0
        frame[f"brake_temp_{w}"] = float(i16(t, 208 + 2 * i))
        # u16 hundredths of a bar, which is kPa: the real PC1 capture reads 181 (1.81 bar) and
        # the pcars2-udp2csv race log (psi from value / 100 bar) agrees. A value above the
        # channel's 1 000 kPa is not a tyre: the producer leaves it out and says so in its log.
        frame[f"tyre_press_{w}"] = float(u16(t, 352 + 2 * i))
    return frame


def _udp_position(t: bytes, tm: bytes, part: int) -> Frame:
    if len(t) >= FULL_POSITION_AT + 12:
        x, y, z = f32s(t, FULL_POSITION_AT, 3)
    else:  # quantised to whole metres, plus two quarter-metre bits each for x and z
        sector = tm[part + 15]
        x = i16(tm, part) + ((sector >> 6) & 3) / 4.0
        y = float(i16(tm, part + 2))
        z = i16(tm, part + 4) + ((sector >> 4) & 3) / 4.0
    return {"pos_x": x, "pos_y": y, "pos_z": z}


class Pc1Telemetry:
    """The facts of one Project CARS 1 telemetry datagram (1 367 B, packed, little-endian)."""

    def __init__(self, build: int, sequence: int, game_state: int, session_state: int) -> None:
        self.build = build
        self.sequence = sequence
        self.game_state = game_state
        self.session_state = session_state
        self.viewed = 0
        self.participants = 0
        self.track_length = 0.0
        self.frame: Frame = {}


def decode_pc1_telemetry(d: bytes) -> Pc1Telemetry:
    if len(d) != PC1_TELEMETRY or d[2] & 0x03 != 0:
        raise LayoutError(f"not a Project CARS 1 telemetry packet ({len(d)} bytes)")
    pc1 = Pc1Telemetry(u16(d, 0), d[2] >> 2, d[3] & 0x07, d[3] >> 4)
    pc1.viewed, pc1.participants = i8(d, 4), i8(d, 5)
    pc1.track_length = f32(d, 1360)
    pc1.frame = _pc1_frame(d, max(pc1.viewed, 0))
    return pc1


def _pc1_frame(d: bytes, viewed: int) -> Frame:
    best, last, current = f32s(d, 12, 3)
    part = 464 + 16 * viewed  # sParticipantInfo[56], 16 B each
    laps = d[part + 9] & 0x7F
    gear = d[128] & 0x0F
    frame: Frame = {
        "lap": float(laps + 1),
        "lap_dist": float(u16(d, part + 6)),
        "sector": float(max((d[part + 11] & 0x07) - 1, 0)),  # 1-based in PC1
        "lap_time": max(current, 0.0),
        "last_lap_time": lap_time_or_none(last),
        "best_lap_time": lap_time_or_none(best),
        "lap_valid": 0.0 if d[10] & 0x08 else 1.0,
        "in_pit": 1.0 if d[99] & 0x07 else 0.0,
        "throttle": d[113] / 255.0,
        "brake": d[112] / 255.0,
        "clutch": d[114] / 255.0,
        "steering": clamp(i8(d, 115) / 127.0, -1.0, 1.0),
        "speed": f32(d, 120) * MS_TO_KMH,
        "rpm": float(u16(d, 124)),
        "max_rpm": float(u16(d, 126)),
        "gear": -1.0 if gear == 15 else float(gear),
        "oil_temp": float(i16(d, 100)),
        "water_temp": float(i16(d, 104)),
        "fuel_capacity": float(d[111]),
        "fuel": max(f32(d, 116), 0.0) * d[111],
    }
    for i, w in enumerate(WHEELS):
        frame[f"tyre_temp_{w}"] = float(d[276 + i])
        frame[f"brake_temp_{w}"] = float(i16(d, 328 + 2 * i))
        frame[f"tyre_press_{w}"] = float(u16(d, 440 + 2 * i))  # hundredths of a bar = kPa
    return frame


class Ams2UdpTransport:
    """Drains the non-blocking socket; hands datagrams out oldest-first by mPacketNumber."""

    game = "ams2"
    kind = "ams2-udp"

    def __init__(self, port: int = UDP_PORT, host: str = "0.0.0.0", max_batch: int = 2000) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self._max_batch = max_batch

    def poll(self) -> list[Chunk]:
        packets: list[bytes] = []
        while len(packets) < self._max_batch:
            try:
                packets.append(self._sock.recv(2048))
            except (BlockingIOError, InterruptedError):
                break
        packets.sort(key=_packet_number)
        return [("udp", p) for p in packets]

    def close(self) -> None:
        self._sock.close()


def _packet_number(data: bytes) -> int:
    if len(data) in (PC1_TELEMETRY, PC1_STRINGS, PC1_MORE_STRINGS) or len(data) < 4:
        return 0  # PC1 has only a 6-bit sequence: keep arrival order
    return u32(data, 0)


class Ams2UdpSource(PolledSource):
    """AMS2 over UDP: ``Ams2UdpSource(port=5606, host="0.0.0.0")``."""

    def __init__(self, port: int = UDP_PORT, host: str = "0.0.0.0") -> None:
        super().__init__(Ams2UdpTransport(port, host), Ams2UdpDecoder())
