"""iRacing: the SDK's memory-mapped file ``Local\\IRSDKMemMapFileName`` (layout in irsdk.py).

The sim writes each tick's variables into the oldest of ``numBuf`` (3) row buffers and then
bumps that buffer's ``tickCount``. The transport reads the header, copies the newest row, and
re-reads that buffer's ``tickCount``: if it moved, the sim rewrote the row while we copied it,
and we copy again. The session-info YAML is copied only when ``sessionInfoUpdate`` changes
(and kept only if it did not change during the copy); the variable table only when it moves.

Chunks: ``irsdk_vars`` (u32 bufLen + the 144-byte headers), ``irsdk_yaml`` (the YAML bytes)
and ``irsdk_row`` (i32 tickCount + the row). The decoder looks variables up once per table,
so a recording holds the table and the YAML once and then only rows.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from .. import irsdk
from ..channels import Frame
from ..irsdk import IrsdkError, SessionFacts, VarHeader
from .base import SessionInfo
from .layout import Chunk, LayoutError, clamp, lap_time_or_none, sided_temps
from .shm import ShmPage, require_windows

MEMMAP_SIZE: Final = 1164 * 1024  # the SDK's IRSDK memory-mapped file size
RETRIES: Final = 3
# irsdk_Flags bits → our flag code, most important first (black covers repair/disqualify).
FLAG_BITS: Final = (
    (0x00010000 | 0x00020000 | 0x00100000, 3),  # black, disqualify, repair
    (0x00000001, 5),  # chequered
    (0x00000020, 1),  # blue
    (0x00000008 | 0x00000100 | 0x00004000 | 0x00008000, 2),  # yellow, waving, caution
    (0x00000002, 4),  # white
    (0x00000004, 7),  # green
)


class Memory(Protocol):
    """Byte access to the sim's mapped file; the Windows mapping or a test's bytearray."""

    def read_at(self, offset: int, size: int) -> bytes | None: ...

    def close(self) -> None: ...


class IrsdkMemory(ShmPage):
    """The mapped file, read in slices (a whole-page copy at 60 Hz would be 70 MB/s)."""

    def read_at(self, offset: int, size: int) -> bytes | None:
        if self._mm is None and not self._open():
            return None
        assert self._mm is not None
        if offset < 0 or offset + size > self.size:
            return None
        return self._mm[offset : offset + size]


class IracingTransport:
    game = "iracing"

    def __init__(self, memory: Memory | None = None, retries: int = RETRIES) -> None:
        if memory is None:
            require_windows("iracing")
            memory = IrsdkMemory(irsdk.MEMMAP_NAME, MEMMAP_SIZE)
        self._memory = memory
        self._retries = retries
        self._table: tuple[int, int, int] | None = None  # (varHeaderOffset, numVars, bufLen) sent
        self._info_update: int | None = None
        self._last_tick: int | None = None

    def poll(self) -> list[Chunk]:
        header = self._header()
        if header is None or not header.connected:
            self._table = self._info_update = self._last_tick = None  # a new session will follow
            return []
        chunks: list[Chunk] = []
        if self._table != (header.var_header_offset, header.num_vars, header.buf_len):
            table = self._memory.read_at(header.var_header_offset, header.num_vars * irsdk.VAR_HEADER_SIZE)
            if table is None:
                return []
            chunks.append(("irsdk_vars", struct.pack("<I", header.buf_len) + table))
            self._table = (header.var_header_offset, header.num_vars, header.buf_len)
        if header.session_info_update != self._info_update:
            chunks += self._session_info(header)
        row = self._newest_row()
        if row is not None:
            chunks.append(row)
        return chunks

    def _header(self) -> irsdk.Header | None:
        raw = self._memory.read_at(0, irsdk.HEADER_SIZE)
        if raw is None:
            return None
        try:
            return irsdk.parse_header(raw)
        except IrsdkError:
            return None  # zeros while the sim starts up

    def _session_info(self, header: irsdk.Header) -> list[Chunk]:
        text = self._memory.read_at(header.session_info_offset, header.session_info_len)
        again = self._header()
        if text is None or again is None or again.session_info_update != header.session_info_update:
            return []  # rewritten while we copied: try on the next poll
        self._info_update = header.session_info_update
        return [("irsdk_yaml", text.split(b"\0", 1)[0])]

    def _newest_row(self) -> Chunk | None:
        for _ in range(self._retries):
            header = self._header()
            if header is None:
                return None
            i = header.newest()
            tick, offset = header.bufs[i]
            if tick == self._last_tick:
                return None  # nothing new since the last poll
            row = self._memory.read_at(offset, header.buf_len)
            after = self._header()
            if row is None or after is None:
                return None
            if after.bufs[i][0] == tick:  # not rewritten while we copied
                self._last_tick = tick
                return ("irsdk_row", struct.pack("<i", tick) + row)
        return None

    def close(self) -> None:
        self._memory.close()


@dataclass
class _LapClock:
    """When the current lap started, in SessionTime: iRacing's LapCurrentLapTime restarts only
    when the lap time is posted, half a second after the line."""

    lap: int | None = None
    start: float | None = None  # SessionTime at the line; None until we saw a crossing
    clean: bool = True  # no off-track and no new incident since the lap began
    incidents: float | None = None
    last_time: float = 0.0
    last_pct: float = 0.0

    def update(self, lap: int, session_time: float, pct: float) -> None:
        if self.lap is not None and lap != self.lap:
            self.clean, self.incidents = True, None
        if self.lap is not None and lap == self.lap + 1:
            self.start = self._crossing(session_time, pct)
        elif self.lap is not None and lap != self.lap:
            self.start = None  # a reset or a new session: the game's clock until the next line
        self.lap, self.last_time, self.last_pct = lap, session_time, pct

    def judge(self, surface: float | None, incidents: float | None) -> bool:
        """Still valid: iRacing has no lap-valid flag; an off-track or a new incident is what
        makes it refuse a qualifying lap."""
        if surface == irsdk.TRK_OFF_TRACK:
            self.clean = False
        if incidents is not None:
            if self.incidents is not None and incidents != self.incidents:
                self.clean = False
            self.incidents = incidents if self.incidents is None else self.incidents
        return self.clean

    def _crossing(self, now: float, pct: float) -> float:
        before, after = self.last_pct, pct + 1.0
        if 0.5 < before < 1.0 < after < 1.5 and now > self.last_time:
            return self.last_time + (now - self.last_time) * (1.0 - before) / (after - before)
        return now

    def lap_time(self, session_time: float, game: float | None) -> float:
        if self.start is None:
            return max(game or 0.0, 0.0)  # joined mid-lap: the game's clock is all we have
        return max(session_time - self.start, 0.0)


class IracingDecoder:
    game = "iracing"

    def __init__(self) -> None:
        self._vars: dict[str, VarHeader] = {}
        self._scaled: list[tuple[VarHeader, str, float]] = []
        self._row_len = 0
        self._facts: SessionFacts | None = None
        self._info: SessionInfo | None = None
        self._last_tick: int | None = None
        self._clock = _LapClock()

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        frame: Frame | None = None
        for tag, data in chunks:
            if tag == "irsdk_vars":
                self._set_vars(data)
            elif tag == "irsdk_yaml":
                self._facts = irsdk.session_facts(irsdk.parse_session_info(data.decode("cp1252", "replace")))
            elif tag == "irsdk_row":
                frame = self._row(data, now) or frame
        return frame

    def _set_vars(self, data: bytes) -> None:
        (buf_len,) = struct.unpack_from("<I", data, 0)
        table = data[4:]
        try:
            self._vars = irsdk.parse_var_headers(table, len(table) // irsdk.VAR_HEADER_SIZE, buf_len)
        except IrsdkError as exc:
            raise LayoutError(f"iRacing: {exc}; update simcoach-agent") from None
        self._row_len = buf_len
        self._clock = _LapClock()
        # resolved once per table: the scaled channels' variables, in the table's layout
        self._scaled = [(self._vars[v], name, f) for v, (name, f) in irsdk.SCALED.items() if v in self._vars]
        missing = [name for name in ("Speed", "Lap", "LapDist") if name not in self._vars]
        if missing:
            raise LayoutError(f"iRacing: the sim publishes no {', '.join(missing)}; update simcoach-agent")

    def _get(self, row: bytes, name: str) -> float | None:
        var = self._vars.get(name)
        return None if var is None else irsdk.read_value(row, var)

    def _row(self, data: bytes, now: float) -> Frame | None:
        (tick,) = struct.unpack_from("<i", data, 0)
        row = data[4:]
        if not self._vars or len(row) < self._row_len or tick == self._last_tick:
            return None
        self._last_tick = tick
        if self._get(row, "IsOnTrack") == 0 or self._get(row, "IsReplayPlaying"):
            return None  # in the garage, in menus or watching a replay (absent: assume driving)
        if self._get(row, "PlayerTrackSurface") == irsdk.TRK_NOT_IN_WORLD:
            return None  # the car is not placed yet: a blank row (Lap 0 at latitude 0)
        frame = _Row(self, row).frame(now)
        self._info = _session_info(self._facts, self._get(row, "SessionNum"))
        return frame


class _Row:
    """One row turned into a frame, with the decoder's variables and session facts."""

    def __init__(self, dec: IracingDecoder, row: bytes) -> None:
        self.dec, self.row = dec, row
        self.facts = dec._facts or SessionFacts()

    def get(self, name: str) -> float | None:
        return self.dec._get(self.row, name)

    def frame(self, now: float) -> Frame:
        frame: Frame = {"t": now}
        for var, name, factor in self.dec._scaled:
            value = irsdk.read_value(self.row, var)
            if math.isfinite(value):
                frame[name] = value * factor
        for name in ("throttle", "brake"):
            if name in frame:
                frame[name] = clamp(frame[name], 0.0, 1.0)
        frame |= self._driver() | self._timing() | self._position() | self._tyres()
        frame["lap_dist"] = max(frame.get("lap_dist", 0.0), 0.0)
        return frame

    def _driver(self) -> Frame:
        out: Frame = {}
        clutch, angle, lock = (
            self.get("Clutch"),
            self.get("SteeringWheelAngle"),
            self.get("SteeringWheelAngleMax"),
        )
        if clutch is not None:
            out["clutch"] = clamp(irsdk.clutch_travel(clutch), 0.0, 1.0)
        if angle is not None and lock:
            out["steering"] = clamp(irsdk.steering_fraction(angle, lock), -1.0, 1.0)
        if self.facts.redline_rpm:
            out["max_rpm"] = self.facts.redline_rpm
        if self.facts.fuel_max_l:
            out["fuel_capacity"] = self.facts.fuel_max_l
        flags = self.get("SessionFlags")
        if flags is not None:
            out["flag"] = float(next((code for bits, code in FLAG_BITS if int(flags) & bits), 0))
        return out

    def _timing(self) -> Frame:
        lap = int(self.get("Lap") or 0)
        pct = self.get("LapDistPct") or 0.0
        session_time = self.get("SessionTime") or 0.0
        clock = self.dec._clock
        clock.update(lap, session_time, pct)
        valid = clock.judge(self.get("PlayerTrackSurface"), self.get("PlayerCarMyIncidentCount"))
        out: Frame = {
            "lap": float(max(lap, 0)),
            "lap_valid": 1.0 if valid else 0.0,
            "lap_time": clock.lap_time(session_time, self.get("LapCurrentLapTime")),
            "last_lap_time": lap_time_or_none(self.get("LapLastLapTime") or -1.0),
            "best_lap_time": lap_time_or_none(self.get("LapBestLapTime") or -1.0),
        }
        if self.facts.sector_starts:
            out["sector"] = float(irsdk.sector_of(pct, self.facts.sector_starts))
        return out

    def _position(self) -> Frame:
        lat, lon = self.get("Lat"), self.get("Lon")
        if lat is None or lon is None or (lat == 0 and lon == 0):
            return {}
        origin = self.facts.origin or (lat, lon)
        east, north = irsdk.project(lat, lon, origin)
        return {"pos_x": east, "pos_z": north}

    def _three(self, names: tuple[str, str, str]) -> tuple[float, float, float] | None:
        a, b, c = (self.get(n) for n in names)
        return None if a is None or b is None or c is None else (a, b, c)

    def _tyres(self) -> Frame:
        out: Frame = {}
        for i, (w, prefix) in enumerate(irsdk.WHEEL_PREFIX):
            v = irsdk.wheel_vars(prefix)
            # live, iRacing publishes carcass temperatures (updated in the pits) and cold pressure
            temps = self._three((v["temp_l"], v["temp_m"], v["temp_r"])) or self._three(
                (v["carcass_l"], v["carcass_m"], v["carcass_r"])
            )
            if temps is not None:
                left, middle, right = temps
                out[f"tyre_temp_{w}"] = middle
                sided_temps(i, left, middle, right, out, 0.0)
            press = self.get(v["press"])
            press = self.get(v["cold_press"]) if press is None else press
            if press is not None:
                out[f"tyre_press_{w}"] = press  # kPa
            wear = self._three((v["wear_l"], v["wear_m"], v["wear_r"]))
            if wear is not None:
                out[f"tyre_wear_{w}"] = clamp(irsdk.tyre_wear_pct(*wear), 0.0, 100.0)
        return out


def _session_info(facts: SessionFacts | None, session_num: float | None) -> SessionInfo | None:
    if facts is None:
        return None  # the YAML has not arrived yet
    num = None if session_num is None else int(session_num)
    extra = {
        "driver": facts.driver,
        "track_id": facts.track,
        "session_type": facts.session_types.get(facts.current_session if num is None else num, ""),
    }
    return SessionInfo(
        game="iracing",
        track=facts.track_name or "unknown",
        car=facts.car or "unknown",
        kind=facts.kind(num),
        car_class=facts.car_class,
        track_length_m=facts.track_length_m,
        extra={k: v for k, v in extra.items() if v},
    )


def is_ibt(path: str | Path) -> bool:
    """The file starts with an SDK header followed by the disk sub-header (not a recording)."""
    with open(path, "rb") as f:
        head = f.read(irsdk.HEADER_SIZE + irsdk.DISK_SUB_HEADER_SIZE)
    try:
        header = irsdk.parse_header(head)
    except IrsdkError:
        return False
    return header.ver == irsdk.SDK_VERSION and header.var_header_offset >= len(head)


def polls_from_ibt(path: str | Path) -> Iterator[tuple[float, list[Chunk]]]:
    """An `.ibt` file as the polls a recording of the live sim would hold.

    The file's rows have the live rows' layout, so a real drive can be replayed through the
    live decoder (tests, bench/agent.py). Times: the file's start date plus each row's tick.
    """
    with open(path, "rb") as f:
        head = f.read(irsdk.HEADER_SIZE + irsdk.DISK_SUB_HEADER_SIZE)
        header, sub = irsdk.parse_header(head), irsdk.parse_disk_sub_header(head)
        f.seek(header.var_header_offset)
        table = f.read(header.num_vars * irsdk.VAR_HEADER_SIZE)
        f.seek(header.session_info_offset)
        yaml = f.read(header.session_info_len).split(b"\0", 1)[0]
        f.seek(header.bufs[0][1])
        first = [("irsdk_vars", struct.pack("<I", header.buf_len) + table), ("irsdk_yaml", yaml)]
        for i in range(sub.record_count):
            row = f.read(header.buf_len)
            if len(row) < header.buf_len:
                raise IrsdkError(f"{path}: the file ends inside record {i} of {sub.record_count}")
            chunks = [*(first if i == 0 else []), ("irsdk_row", struct.pack("<i", i + 1) + row)]
            yield sub.start_date + i / header.tick_rate, chunks
