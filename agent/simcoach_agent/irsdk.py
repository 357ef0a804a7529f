"""The iRacing SDK's data layout, shared by the live reader and the server's `.ibt` importer.

iRacing publishes the same structures in its memory-mapped file (``Local\\IRSDKMemMapFileName``)
and writes them to disk as `.ibt` files (layout: docs/games.md, from the public SDK header
``irsdk_defines.h``). Everything is little-endian with 4-byte ints:

- ``irsdk_header`` (112 B): ver, status (bit 0 = connected), tickRate, sessionInfoUpdate,
  sessionInfoLen, sessionInfoOffset, numVars, varHeaderOffset, numBuf, bufLen, 2 pad ints,
  then ``varBuf[4]`` of {tickCount, bufOffset, 2 pad ints};
- in `.ibt` files only, a 32-byte ``irsdk_diskSubHeader`` right after it: sessionStartDate
  (time_t, 8 B), sessionStartTime and sessionEndTime (double, s), sessionLapCount and
  sessionRecordCount (int);
- ``numVars`` variable headers of 144 B at ``varHeaderOffset``: type, offset, count,
  countAsTime (1 B + 3 pad), name[32], desc[64], unit[32];
- the session info, YAML text of ``sessionInfoLen`` bytes at ``sessionInfoOffset``;
- rows of ``bufLen`` bytes holding every variable at its offset.

Pure stdlib: the agent's dependencies stay few. The session-info YAML is a plain subset (maps
by indentation, lists of maps with ``- ``, scalars), parsed here by a small purpose-built reader.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any, Final

MEMMAP_NAME: Final = "Local\\IRSDKMemMapFileName"
HEADER_SIZE: Final = 112
DISK_SUB_HEADER_SIZE: Final = 32
VAR_HEADER_SIZE: Final = 144
MAX_BUFS: Final = 4
STATUS_CONNECTED: Final = 1
SDK_VERSION: Final = 2
# irsdk_VarType → (struct code, size in bytes): char, bool, int, bitField, float, double
VAR_TYPES: Final = {0: ("c", 1), 1: ("?", 1), 2: ("i", 4), 3: ("I", 4), 4: ("f", 4), 5: ("d", 8)}
NUMPY_TYPES: Final = {0: "u1", 1: "u1", 2: "<i4", 3: "<u4", 4: "<f4", 5: "<f8"}
MAX_VARS: Final = 10_000  # iRacing has ~300; more is garbage
MAX_ROW_BYTES: Final = 1 << 20
MAX_SESSION_INFO: Final = 8 << 20
STANDARD_G: Final = 9.80665
EARTH_RADIUS_M: Final = 6_371_008.8  # mean radius
# irsdk_TrkLoc
TRK_NOT_IN_WORLD, TRK_OFF_TRACK, TRK_IN_PIT_STALL, TRK_APPROACHING_PITS, TRK_ON_TRACK = -1, 0, 1, 2, 3
WHEEL_PREFIX: Final = (("fl", "LF"), ("fr", "RF"), ("rl", "LR"), ("rr", "RR"))
_HEADER_FMT = "<10i2i" + "4i" * MAX_BUFS
_SESSION_KINDS: Final = (
    ("qualif", "qualifying"),
    ("race", "race"),
    ("heat", "race"),
    ("time trial", "hotlap"),
    ("practice", "practice"),
    ("testing", "practice"),
    ("warmup", "practice"),
)


class IrsdkError(ValueError):
    """The bytes do not hold a usable iRacing header, variable table or row; the text says what."""


@dataclass(frozen=True)
class Header:
    ver: int
    status: int
    tick_rate: int
    session_info_update: int
    session_info_len: int
    session_info_offset: int
    num_vars: int
    var_header_offset: int
    num_buf: int
    buf_len: int
    bufs: tuple[tuple[int, int], ...]  # (tickCount, bufOffset) of the numBuf buffers

    @property
    def connected(self) -> bool:
        return bool(self.status & STATUS_CONNECTED)

    def newest(self) -> int:
        """Index of the buffer with the highest tickCount (the one the sim wrote last)."""
        return max(range(len(self.bufs)), key=lambda i: self.bufs[i][0])


@dataclass(frozen=True)
class DiskSubHeader:
    start_date: int  # Unix time the session was recorded
    start_time: float  # SessionTime of the first record, s
    end_time: float
    lap_count: int
    record_count: int


@dataclass(frozen=True)
class VarHeader:
    name: str
    type: int
    offset: int
    count: int
    unit: str
    desc: str

    @property
    def size(self) -> int:
        return VAR_TYPES[self.type][1] * self.count


def parse_header(buf: bytes) -> Header:
    """Decode ``irsdk_header``; IrsdkError when it is short or its counts make no sense."""
    if len(buf) < HEADER_SIZE:
        raise IrsdkError(f"iRacing header: {len(buf)} bytes, shorter than the {HEADER_SIZE}-byte header")
    v = struct.unpack_from(_HEADER_FMT, buf, 0)
    num_buf = v[8]
    if not 1 <= num_buf <= MAX_BUFS:
        raise IrsdkError(f"iRacing header: numBuf is {num_buf}, expected 1 to {MAX_BUFS} (damaged?)")
    if not 0 <= v[6] <= MAX_VARS:
        raise IrsdkError(f"iRacing header: numVars is {v[6]}, expected 0 to {MAX_VARS} (damaged?)")
    if not 0 < v[9] <= MAX_ROW_BYTES:
        raise IrsdkError(f"iRacing header: bufLen is {v[9]} bytes (damaged?)")
    if not 0 <= v[4] <= MAX_SESSION_INFO:
        raise IrsdkError(f"iRacing header: sessionInfoLen is {v[4]} bytes (damaged?)")
    bufs = tuple((v[12 + 4 * i], v[13 + 4 * i]) for i in range(num_buf))
    return Header(
        ver=v[0],
        status=v[1],
        tick_rate=v[2],
        session_info_update=v[3],
        session_info_len=v[4],
        session_info_offset=v[5],
        num_vars=v[6],
        var_header_offset=v[7],
        num_buf=num_buf,
        buf_len=v[9],
        bufs=bufs,
    )


def parse_disk_sub_header(buf: bytes) -> DiskSubHeader:
    end = HEADER_SIZE + DISK_SUB_HEADER_SIZE
    if len(buf) < end:
        raise IrsdkError(f"iRacing .ibt: {len(buf)} bytes, shorter than the {end}-byte headers")
    return DiskSubHeader(*struct.unpack_from("<qddii", buf, HEADER_SIZE))


def _text(raw: bytes) -> str:
    # iRacing writes Windows-1252 in names and units (°, ², accented driver names)
    return raw.split(b"\0", 1)[0].decode("cp1252", errors="replace")


def parse_var_headers(buf: bytes, num_vars: int, buf_len: int) -> dict[str, VarHeader]:
    """The variable table (``buf`` starts at varHeaderOffset), checked against the row size."""
    if len(buf) < num_vars * VAR_HEADER_SIZE:
        raise IrsdkError(
            f"iRacing variable headers: {num_vars} declared need {num_vars * VAR_HEADER_SIZE} bytes, "
            f"only {len(buf)} there (truncated?)"
        )
    found: dict[str, VarHeader] = {}
    for i in range(num_vars):
        at = i * VAR_HEADER_SIZE
        vtype, offset, count = struct.unpack_from("<3i", buf, at)
        name = _text(buf[at + 16 : at + 48])
        if vtype not in VAR_TYPES:
            raise IrsdkError(f"iRacing variable {i} '{name}' has unknown type {vtype}")
        var = VarHeader(
            name, vtype, offset, count, _text(buf[at + 112 : at + 144]), _text(buf[at + 48 : at + 112])
        )
        if count < 1 or offset < 0 or offset + var.size > buf_len:
            raise IrsdkError(
                f"iRacing variable {i} '{name}' ({count} at offset {offset}) lies outside the "
                f"{buf_len}-byte row (damaged?)"
            )
        found[name] = var
    return found


def read_value(row: bytes, var: VarHeader, index: int = 0) -> float:
    """One element of a variable from a row, as a float (bools and chars as 0/1 or the byte)."""
    code, size = VAR_TYPES[var.type]
    raw = struct.unpack_from("<" + code, row, var.offset + index * size)[0]
    return float(raw[0]) if isinstance(raw, bytes) else float(raw)


# ---- session info (YAML subset)


@dataclass(frozen=True)
class _Line:
    col: int  # column of the key
    dash: bool  # the line starts a list item
    key: str
    value: str


def _lines(text: str) -> list[_Line]:
    out: list[_Line] = []
    for raw in text.splitlines():
        body = raw.lstrip(" ")
        if not body or body.startswith("#") or body in ("---", "..."):
            continue
        col = len(raw) - len(body)
        dash = body.startswith("- ") or body == "-"
        if dash:
            body = body[2:].lstrip(" ")
            col = len(raw) - len(body)
        key, sep, value = body.partition(":")
        if not sep:
            continue  # a bare scalar list item; the session info has none we use
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out.append(_Line(col, dash, key.strip(), value))
    return out


def _block(lines: list[_Line], i: int, col: int) -> tuple[dict[str, Any], int]:
    found: dict[str, Any] = {}
    start = i
    while i < len(lines):
        line = lines[i]
        if line.col < col or (line.dash and line.col == col and i != start):
            break
        i += 1
        if line.col > col:
            continue  # deeper than a key we have: stray, skip it
        if line.value:
            found[line.key] = line.value
        else:
            found[line.key], i = _nested(lines, i, line.col)
    return found, i


def _nested(lines: list[_Line], i: int, col: int) -> tuple[Any, int]:
    """The value of a key at ``col`` that had nothing after its colon: a list, a map or ''."""
    if i >= len(lines):
        return "", i
    first = lines[i]
    if first.dash and first.col >= col:
        items = []
        while i < len(lines) and lines[i].dash and lines[i].col == first.col:
            item, i = _block(lines, i, first.col)
            items.append(item)
        return items, i
    if first.col > col:
        return _block(lines, i, first.col)
    return "", i


def parse_session_info(text: str) -> dict[str, Any]:
    """The session-info YAML as nested dicts and lists of strings."""
    return _block(_lines(text), 0, 0)[0]


def _number(text: Any, default: float | None = None) -> float | None:
    """'0.8282 km' → 0.8282; anything unparsable → default."""
    if not isinstance(text, str) or not text.strip():
        return default
    try:
        value = float(text.split()[0])
    except ValueError:
        return default
    return value if math.isfinite(value) else default


@dataclass(frozen=True)
class SessionFacts:
    """What the agent and the importer want from the session info."""

    track: str = ""
    track_display: str = ""
    layout: str = ""
    track_length_m: float | None = None
    origin: tuple[float, float] | None = None  # the track's reference (lat, lon), degrees
    car: str = ""
    car_class: str = ""
    driver: str = ""
    player_car_idx: int = 0
    kinds: dict[int, str] = field(default_factory=dict)  # SessionNum → our kind
    session_types: dict[int, str] = field(default_factory=dict)  # SessionNum → iRacing's words
    current_session: int = 0
    sector_starts: tuple[float, ...] = ()  # lap fractions where sectors start, first 0.0
    redline_rpm: float | None = None
    fuel_max_l: float | None = None

    def kind(self, session_num: int | None = None) -> str:
        return self.kinds.get(self.current_session if session_num is None else session_num, "practice")

    @property
    def track_name(self) -> str:
        base = self.track_display or self.track
        return f"{base} - {self.layout}" if self.layout else base


def session_kind(session_type: str) -> str:
    low = session_type.lower()
    return next((kind for word, kind in _SESSION_KINDS if word in low), "practice")


def session_facts(info: dict[str, Any]) -> SessionFacts:
    """Track, car, driver, sessions and sectors from parsed session info; blanks where absent."""
    weekend = _map(info.get("WeekendInfo"))
    drivers = _map(info.get("DriverInfo"))
    idx = int(_number(drivers.get("DriverCarIdx"), 0) or 0)
    me = next((d for d in _list(drivers.get("Drivers")) if _number(d.get("CarIdx")) == idx), {})
    sessions = _list(_map(info.get("SessionInfo")).get("Sessions"))
    types = {int(_number(s.get("SessionNum"), -1) or 0): str(s.get("SessionType", "")) for s in sessions}
    length_km = _number(weekend.get("TrackLength"))
    lat, lon = _number(weekend.get("TrackLatitude")), _number(weekend.get("TrackLongitude"))
    sectors = _list(_map(info.get("SplitTimeInfo")).get("Sectors"))
    starts = sorted(x for x in (_number(s.get("SectorStartPct")) for s in sectors) if x is not None)
    fuel = _number(drivers.get("DriverCarFuelMaxLtr"))
    fuel_pct = _number(drivers.get("DriverCarMaxFuelPct"), 1.0) or 1.0
    return SessionFacts(
        track=str(weekend.get("TrackName", "")),
        track_display=str(weekend.get("TrackDisplayName", "")),
        layout=str(weekend.get("TrackConfigName", "")),
        track_length_m=length_km * 1000.0 if length_km else None,
        origin=(lat, lon) if lat is not None and lon is not None else None,
        car=str(me.get("CarScreenName") or me.get("CarPath") or ""),
        car_class=str(me.get("CarClassShortName", "")),
        driver=str(me.get("UserName", "")),
        player_car_idx=idx,
        kinds={num: session_kind(kind) for num, kind in types.items()},
        session_types=types,
        current_session=int(_number(_map(info.get("SessionInfo")).get("CurrentSessionNum"), 0) or 0),
        sector_starts=tuple(starts),
        redline_rpm=_number(drivers.get("DriverCarRedLine")),
        fuel_max_l=fuel * fuel_pct if fuel else None,
    )


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---- the channel mapping (one definition for live frames and imported files)

# iRacing variable → (our channel, factor). Arithmetic only, so the same table converts one
# float (live) or a numpy column (import).
SCALED: Final[dict[str, tuple[str, float]]] = {
    "Speed": ("speed", 3.6),  # m/s → km/h
    "RPM": ("rpm", 1.0),
    "Gear": ("gear", 1.0),  # -1 R, 0 N
    "Throttle": ("throttle", 1.0),
    "Brake": ("brake", 1.0),
    "Lap": ("lap", 1.0),
    "LapDist": ("lap_dist", 1.0),
    "OnPitRoad": ("in_pit", 1.0),
    "LongAccel": ("g_lon", 1 / STANDARD_G),  # m/s², + accelerating
    "LatAccel": ("g_lat", -1 / STANDARD_G),  # m/s², iRacing + is left; ours + is a right turn
    "Alt": ("pos_y", 1.0),
    "FuelLevel": ("fuel", 1.0),
    "WaterTemp": ("water_temp", 1.0),
    "OilTemp": ("oil_temp", 1.0),
    "AirTemp": ("air_temp", 1.0),  # °C
    "TrackTempCrew": ("track_temp", 1.0),  # °C, the surface temperature the crew reports
    "BrakeABSactive": ("abs_active", 1.0),
}


def wheel_vars(prefix: str) -> dict[str, str]:
    """The per-wheel variable names of one wheel ("LF" ...): surface temps L/M/R, carcass temps,
    pressure (live: cold pressure only), tread remaining L/M/R, brake line pressure."""
    p = prefix
    return {
        "temp_l": f"{p}tempL",
        "temp_m": f"{p}tempM",
        "temp_r": f"{p}tempR",
        "carcass_l": f"{p}tempCL",
        "carcass_m": f"{p}tempCM",
        "carcass_r": f"{p}tempCR",
        "press": f"{p}pressure",
        "cold_press": f"{p}coldPressure",
        "wear_l": f"{p}wearL",
        "wear_m": f"{p}wearM",
        "wear_r": f"{p}wearR",
    }


def clutch_travel(clutch: Any) -> Any:
    """iRacing's Clutch is engagement (1 = pedal up); our channel is pedal travel."""
    return 1.0 - clutch


def steering_fraction(angle_rad: Any, max_rad: Any) -> Any:
    """SteeringWheelAngle (rad, + left) over the lock → our -1 (left) .. 1 (right)."""
    return -angle_rad / max_rad


def tyre_wear_pct(left: Any, middle: Any, right: Any) -> Any:
    """Tread remaining fractions (1 = new) → our wear in % (0 = new)."""
    return (1.0 - (left + middle + right) / 3.0) * 100.0


def project(lat_deg: Any, lon_deg: Any, origin: tuple[float, float]) -> tuple[Any, Any]:
    """Equirectangular projection around the track's reference point: (east, north) in metres.

    Good to a few centimetres over a circuit; the same origin (the session info's
    TrackLatitude/TrackLongitude) puts live and imported laps of a track on one map.
    """
    lat0, lon0 = math.radians(origin[0]), math.radians(origin[1])
    east = (lon_deg * (math.pi / 180.0) - lon0) * math.cos(lat0) * EARTH_RADIUS_M
    north = (lat_deg * (math.pi / 180.0) - lat0) * EARTH_RADIUS_M
    return east, north


def sector_of(pct: float, starts: tuple[float, ...]) -> int:
    """0-based sector that lap fraction ``pct`` lies in, from the split starts."""
    return max(0, sum(1 for s in starts if pct >= s) - 1)
