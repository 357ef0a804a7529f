"""MoTeC i2 `.ld` logs (as ACC writes them) and their `.ldx` lap-marker sidecars.

Layout (little-endian; protocols.md §5, checked against real ACC files):

- a 1 762-byte header: marker 0x40 at 0, pointer to the first channel descriptor at 0x08 and
  to the first sample at 0x0C, event block pointer at 0x24, device "ADL"/420, date
  "dd/mm/yyyy" at 0x5E and time at 0x7E (local time, no zone), driver, vehicle, venue;
- event block (name, session, comment, u16 venue pointer) → venue block (name, u16
  vehicle pointer) → vehicle block (id, weight, type, comment);
- a doubly linked list of 124-byte channel descriptors, each pointing at its own contiguous
  samples; a value is `(raw / scale × 10^-dec + shift) × mul`. Channels have their own
  rates (ACC: 20, 60, 100 and 200 Hz).

We read the header and descriptors, then one channel at a time (memory stays at one
channel plus the resampled output), and resample everything onto the rate of SPEED (60 Hz
in ACC). ACC quirks, from the real Imola file: G_LAT/G_LON are labelled m/s2 but hold g
(v × yaw rate = 9.7 × G_LAT); TYRE_PRESS is unlabelled and in psi; GEAR is 0 neutral,
1.. gears; CLUTCH is pedal travel in % (100 at standstill); LAP_BEACON stays 0 and laps
live in the `.ldx` (beacon Time in microseconds; i2 numbers the stretch before the first
beacon lap 0, so the file's "Fastest Lap" n is our lap n + 1). There is no distance
channel: lap_dist is integrated speed. The EN_* and TIME channels of newer ACC files run
on for minutes after the others (Barcelona: 621.7 s against 103.2 s): the log ends where
the speed channel ends. Laps between two beacons are timed by them; a log without
beacons is one untimed lap (ACC leaves the beacons out of laps it did not time).

Our own exports (apps/sessions/lib/exports.py) use ACC's channel names and units, put the
session kind in the event's session field and `game=<code>` in the event comment, which
is how we know their game; their STEERANGLE (degrees) is our steering at an assumed lock.
Their `.ldx` says, per stretch between beacons, what beacons alone cannot ("SimCoach
Laps": `7=61833` lap 7 timed in 61.833 s, flags `i` invalid, `o` out-lap, `u` untimed,
`-` no lap); with it, laps are cut at every beacon exactly as the exporter placed them.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET  # noqa: S405 - DTDs are refused before parsing, see parse_ldx
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import BinaryIO

import numpy as np

from apps.sessions.lib.laps import BEACON, UNTIMED
from simcoach_agent.channels import BY_NAME, PSI_TO_KPA

from .limits import (
    LD_MAX_CHANNELS,
    LD_MAX_DEC,
    LD_MAX_EXPANSION,
    LD_MAX_RATE_HZ,
    LD_MAX_SAMPLES,
    LDX_MAX_MARKERS,
    check_time,
)
from .result import (
    ASSUMED_STEER_LOCK_DEG,
    MIN_LAP_S,
    FloatArray,
    ImportedLap,
    ImportedSession,
    ImportFormatError,
    clamp_pedals,
    judge_partial,
    lap_channels,
    laps_from_crossings,
    resample,
    track_length,
)

HEADER_SIZE = 1762
DESCRIPTOR_SIZE = 124
MARKER = 0x40
HEADER_CONSTANTS = (1, 0x4240, 0x000F)  # three u16 at 0x40, constant in every known file
DEVICE_MAGIC = 0xADB0  # u16 at 0x54
PRO_LOGGING_MAGIC = 0x000C81A4  # u32 at 0x5DE
# header field offsets
OFF_META_PTR, OFF_DATA_PTR, OFF_EVENT_PTR = 0x08, 0x0C, 0x24
OFF_CONSTANTS, OFF_SERIAL, OFF_DEVICE, OFF_VERSION = 0x40, 0x46, 0x4A, 0x52
OFF_DEVICE_MAGIC, OFF_N_CHANNELS = 0x54, 0x56
OFF_DATE, OFF_TIME, OFF_DRIVER, OFF_VEHICLE, OFF_VENUE = 0x5E, 0x7E, 0x9E, 0xDE, 0x15E
OFF_PRO_MAGIC, OFF_SHORT_COMMENT = 0x5DE, 0x624
# event block: name[64] session[64] comment[1024] u16 venue_ptr; venue: name[64] +1034 u16 vehicle_ptr
EVENT_SIZE, VENUE_SIZE, VEHICLE_SIZE = 1154, 1100, 260
# descriptor: prev next data count u32; counter class size rate u16; shift mul scale dec s16
DESCRIPTOR_FMT = "<IIIIHHHHhhhh"
G = 9.80665  # m/s² per g
ENCODING = "latin-1"  # i2 runs on Windows; bytes outside ASCII are Windows-1252-ish
OWN_LAPS_ID, OWN_LAPS_GAP = "SimCoach Laps", "-"  # our exports' per-stretch lap facts
_OWN_LAP_TOKEN = re.compile(r"(\d{1,6})([oiu]*)(?:=(\d{1,9}))?|-")

_DTYPES = (
    {(0x07, 2): "<f2", (0x07, 4): "<f4"}
    | {(c, 2): "<i2" for c in (0, 3, 5)}
    | {(c, 4): "<i4" for c in (0, 3, 5)}
)


@dataclass(frozen=True)
class LdHeader:
    meta_ptr: int
    data_ptr: int
    event_ptr: int
    n_channels: int
    device: str
    device_version: int
    serial: int
    date: str
    time: str
    driver: str
    vehicle: str
    venue: str
    short_comment: str
    event: str = ""
    session: str = ""
    comment: str = ""
    vehicle_id: str = ""
    vehicle_weight: int = 0


@dataclass(frozen=True)
class LdChannel:
    index: int
    name: str
    short_name: str
    unit: str
    rate_hz: int
    count: int
    data_ptr: int
    dtype: str
    shift: int
    mul: int
    scale: int
    dec: int

    @property
    def duration_s(self) -> float:
        return self.count / self.rate_hz


@dataclass(frozen=True)
class LdxInfo:
    beacons_s: list[float]  # line crossings, seconds from log start
    total_laps: int | None
    fastest_time_s: float | None
    fastest_lap: int | None  # i2 numbering: 0 is the stretch before the first beacon
    own_laps: list[str] = field(default_factory=list)  # our exports' tokens, one per stretch


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(ENCODING).strip()


def _file_size(f: BinaryIO) -> int:
    f.seek(0, 2)
    return f.tell()


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _check_header(head: bytes, size: int) -> None:
    if size == 0:
        raise ImportFormatError("MoTeC .ld: the file is empty")
    if size < HEADER_SIZE:
        raise ImportFormatError(
            f"MoTeC .ld: the file is {size} bytes, shorter than the {HEADER_SIZE}-byte header (truncated?)"
        )
    (marker,) = struct.unpack_from("<I", head, 0)
    if marker != MARKER:
        raise ImportFormatError(f"MoTeC .ld: header marker is {marker:#x}, expected 0x40 (damaged header?)")
    meta_ptr, data_ptr = struct.unpack_from("<II", head, OFF_META_PTR)
    for what, ptr in (("channel list", meta_ptr), ("sample data", data_ptr)):
        if not HEADER_SIZE <= ptr < size:
            raise ImportFormatError(
                f"MoTeC .ld: {what} pointer {ptr} is outside the file ({size} bytes; truncated or damaged?)"
            )


def _read_blocks(f: BinaryIO, event_ptr: int, size: int) -> dict[str, str | int]:
    """Event → venue → vehicle blocks; missing or out-of-range pointers just leave blanks."""
    found: dict[str, str | int] = {}
    if not HEADER_SIZE <= event_ptr <= size - EVENT_SIZE:
        return found
    ev = _read_at(f, event_ptr, EVENT_SIZE)
    found |= {"event": _text(ev[:64]), "session": _text(ev[64:128]), "comment": _text(ev[128:1152])}
    (venue_ptr,) = struct.unpack_from("<H", ev, 1152)
    if not HEADER_SIZE <= venue_ptr <= size - VENUE_SIZE:
        return found
    venue = _read_at(f, venue_ptr, VENUE_SIZE)
    (vehicle_ptr,) = struct.unpack_from("<H", venue, 1098)
    if not HEADER_SIZE <= vehicle_ptr <= size - VEHICLE_SIZE:
        return found
    veh = _read_at(f, vehicle_ptr, VEHICLE_SIZE)
    (weight,) = struct.unpack_from("<I", veh, 192)
    return found | {"vehicle_id": _text(veh[:64]), "vehicle_weight": weight}


def read_ld_header(f: BinaryIO) -> LdHeader:
    """Decode the header and its event/venue/vehicle blocks; ImportFormatError if damaged."""
    size = _file_size(f)
    head = _read_at(f, 0, HEADER_SIZE)
    _check_header(head, size)
    meta_ptr, data_ptr = struct.unpack_from("<II", head, OFF_META_PTR)
    (event_ptr,) = struct.unpack_from("<I", head, OFF_EVENT_PTR)
    (serial,) = struct.unpack_from("<I", head, OFF_SERIAL)
    (version,) = struct.unpack_from("<H", head, OFF_VERSION)
    (n_channels,) = struct.unpack_from("<I", head, OFF_N_CHANNELS)
    blocks = _read_blocks(f, event_ptr, size)
    return LdHeader(
        meta_ptr=meta_ptr,
        data_ptr=data_ptr,
        event_ptr=event_ptr,
        n_channels=n_channels,
        device=_text(head[OFF_DEVICE : OFF_DEVICE + 8]),
        device_version=version,
        serial=serial,
        date=_text(head[OFF_DATE : OFF_DATE + 16]),
        time=_text(head[OFF_TIME : OFF_TIME + 16]),
        driver=_text(head[OFF_DRIVER : OFF_DRIVER + 64]),
        vehicle=_text(head[OFF_VEHICLE : OFF_VEHICLE + 64]),
        venue=_text(head[OFF_VENUE : OFF_VENUE + 64]),
        short_comment=_text(head[OFF_SHORT_COMMENT : OFF_SHORT_COMMENT + 64]),
        **blocks,  # type: ignore[arg-type]
    )


def _decode_descriptor(raw: bytes, index: int, size: int) -> tuple[LdChannel, int]:
    prev, nxt, data_ptr, count, _counter, cls, width, rate, shift, mul, scale, dec = struct.unpack_from(
        DESCRIPTOR_FMT, raw, 0
    )
    name = _text(raw[32:64]) or f"channel_{index}"
    dtype = _DTYPES.get((cls, width))
    if dtype is None:
        raise ImportFormatError(
            f"MoTeC .ld: channel {index} '{name}' has unknown sample type {cls:#x}/{width}"
        )
    _check_descriptor(
        f"channel {index} '{name}'", rate=rate, dec=dec, end=data_ptr + count * width, size=size
    )
    channel = LdChannel(
        index,
        name,
        _text(raw[64:72]),
        _text(raw[72:84]),
        rate,
        count,
        data_ptr,
        dtype,
        shift,
        mul,
        scale,
        dec,
    )
    return channel, nxt


def _check_descriptor(what: str, *, rate: int, dec: int, end: int, size: int) -> None:
    """Refuse a descriptor whose numbers cannot be true of this file, before reading its data."""
    if rate == 0:
        raise ImportFormatError(f"MoTeC .ld: {what} has a sample rate of 0 Hz")
    if rate > LD_MAX_RATE_HZ:
        raise ImportFormatError(
            f"MoTeC .ld: {what} claims {rate} samples per second; "
            f"at most {LD_MAX_RATE_HZ} Hz is accepted (limit LD_MAX_RATE_HZ)"
        )
    if abs(dec) > LD_MAX_DEC:
        raise ImportFormatError(
            f"MoTeC .ld: {what} has a decimal exponent of {dec}; "
            f"at most ±{LD_MAX_DEC} is accepted (limit LD_MAX_DEC)"
        )
    if end > size:
        raise ImportFormatError(
            f"MoTeC .ld: data of {what} (to byte {end}) runs past the end of the file ({size} bytes; truncated?)"
        )


def _check_budget(channels: list[LdChannel], rate: int, n_timeline: int) -> None:
    """Refuse a file whose timeline would be out of proportion to the samples it holds.

    The output is every channel resampled onto the main rate over the longest channel: one
    descriptor with a patched count or rate (789 110 samples at 1 Hz, SPEED at 65 535 Hz)
    would otherwise make gigabytes out of a few megabytes.
    """
    held = sum(c.count for c in channels)
    if held > LD_MAX_SAMPLES:
        raise ImportFormatError(
            f"MoTeC .ld: {held:,} samples; at most {LD_MAX_SAMPLES:,} are accepted (limit LD_MAX_SAMPLES)"
        )
    cells = n_timeline * (len(channels) + 4)  # + t, lap, lap_time, lap_dist
    if cells > max(LD_MAX_EXPANSION * held, 1_000_000):
        longest = max(channels, key=lambda c: c.duration_s)
        raise ImportFormatError(
            f"MoTeC .ld: channel '{longest.name}' claims {longest.duration_s:,.0f} s "
            f"({longest.count:,} samples at {longest.rate_hz} Hz); on the {rate} Hz base that is "
            f"{n_timeline:,} samples per channel, more than {LD_MAX_EXPANSION}× the data the file holds "
            "(limit LD_MAX_EXPANSION): a damaged descriptor"
        )
    if n_timeline < 2:
        raise ImportFormatError("MoTeC .ld: fewer than two samples")


def read_ld_channels(f: BinaryIO, header: LdHeader) -> list[LdChannel]:
    """Walk the descriptor list; ImportFormatError on a pointer past the end or a loop."""
    size = _file_size(f)
    channels: list[LdChannel] = []
    seen: set[int] = set()
    ptr = header.meta_ptr
    while ptr:
        index = len(channels)
        if index >= LD_MAX_CHANNELS:
            raise ImportFormatError(
                f"MoTeC .ld: more than {LD_MAX_CHANNELS} channels (limit LD_MAX_CHANNELS): damaged channel list?"
            )
        if ptr in seen:
            raise ImportFormatError(
                f"MoTeC .ld: channel descriptor {index} loops back in the list (damaged?)"
            )
        if ptr + DESCRIPTOR_SIZE > size:
            raise ImportFormatError(
                f"MoTeC .ld: channel descriptor {index} points past the end of the file (truncated?)"
            )
        seen.add(ptr)
        channel, ptr = _decode_descriptor(_read_at(f, ptr, DESCRIPTOR_SIZE), index, size)
        channels.append(channel)
    if not channels:
        raise ImportFormatError("MoTeC .ld: the file has no channels")
    return channels


def read_ld_samples(f: BinaryIO, channel: LdChannel) -> FloatArray:
    """One channel's samples, decoded to physical values (float64)."""
    raw = np.frombuffer(_read_at(f, channel.data_ptr, channel.count * int(channel.dtype[-1])), channel.dtype)
    scale = channel.scale or 1  # 0 would divide by zero; loggers mean "unscaled"
    mul = channel.mul or 1
    return (raw.astype(np.float64) / scale * 10.0 ** (-channel.dec) + channel.shift) * mul


def parse_ldx(data: bytes | str) -> LdxInfo:
    """Beacons (line crossings) and Details of an `.ldx` sidecar."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    # a DTD is the only way to make entity bombs or external fetches; .ldx files never have one
    if re.search(r"<!(DOCTYPE|ENTITY)", text, re.IGNORECASE):
        raise ImportFormatError("MoTeC .ldx: DTDs and entities are not allowed")
    _check_markers(text)
    try:
        root = ET.fromstring(text)  # noqa: S314 - DTD refused above
    except ET.ParseError as exc:
        raise ImportFormatError(f"MoTeC .ldx: not well-formed XML ({exc})") from None
    if root.tag != "LDXFile":
        raise ImportFormatError(f"MoTeC .ldx: root element is <{root.tag}>, expected <LDXFile>")
    # markers closer than the shortest lap are one crossing seen twice (or a forged flood)
    beacons = _debounce([_marker_time(m) for m in root.iter("Marker") if m.get("ClassName", "BCN") == "BCN"])
    details = {s.get("Id", ""): s.get("Value", "") for s in root.iter("String")}
    return LdxInfo(
        beacons_s=beacons,
        total_laps=_int_or_none(details.get("Total Laps")),
        fastest_time_s=_lap_time_or_none(details.get("Fastest Time")),
        fastest_lap=_int_or_none(details.get("Fastest Lap")),
        own_laps=details.get(OWN_LAPS_ID, "").split(),
    )


_MARKER_TAG = re.compile(r"<Marker[\s/>]")


def _check_markers(text: str) -> None:
    # counted before parsing: each parsed element costs far more memory than its text
    markers = len(_MARKER_TAG.findall(text))
    if markers > LDX_MAX_MARKERS:
        raise ImportFormatError(
            f"MoTeC .ldx: {markers:,} markers; at most {LDX_MAX_MARKERS:,} are accepted (limit LDX_MAX_MARKERS)"
        )


def _marker_time(marker: ET.Element) -> float:
    try:
        seconds = float(marker.get("Time", "")) / 1e6  # microseconds → seconds
    except ValueError:
        seconds = float("nan")
    if not np.isfinite(seconds):
        raise ImportFormatError(f"MoTeC .ldx: marker Time {marker.get('Time', '')[:40]!r} is not a number")
    return seconds


def _int_or_none(text: str | None) -> int | None:
    # ten digits at most: int() of thousands of digits is slow, and no lap count is that long
    return int(text) if text and text.strip().isdigit() and len(text.strip()) <= 10 else None


def _lap_time_or_none(text: str | None) -> float | None:
    """'1:53.619' or '53.619' → seconds."""
    match = re.fullmatch(r"\s*(?:(\d{1,6}):)?(\d{1,9}(?:\.\d{1,9})?)\s*", text or "")
    if not match:
        return None
    return int(match.group(1) or 0) * 60 + float(match.group(2))


# ACC name → (our name, factor applied after unit conversion is settled)
_ACC: dict[str, tuple[str, float]] = {
    "SPEED": ("speed", 1.0),
    "THROTTLE": ("throttle", 1.0),
    "BRAKE": ("brake", 1.0),
    "CLUTCH": ("clutch", 1.0),
    "RPMS": ("rpm", 1.0),
    "GEAR": ("gear", 1.0),
    "G_LAT": ("g_lat", 1.0),
    "G_LON": ("g_lon", 1.0),
} | {
    f"{stem}_{acc}": (f"{ours}_{w}", 1.0)
    for stem, ours in (("BRAKE_TEMP", "brake_temp"), ("TYRE_PRESS", "tyre_press"))
    for acc, w in (("LF", "fl"), ("RF", "fr"), ("LR", "rl"), ("RR", "rr"))
}
# ACC's labels that lie or are missing (see module docstring)
_ACC_UNITS = {
    "G_LAT": "g",
    "G_LON": "g",
    "GEAR": "",
    **{f"TYRE_PRESS_{w}": "psi" for w in ("LF", "RF", "LR", "RR")},
}
# (source unit in lower case, our unit) → factor
_FACTORS = {
    ("m/s", "km/h"): 3.6,
    ("kph", "km/h"): 1.0,
    ("%", ""): 0.01,
    ("psi", "kPa"): PSI_TO_KPA,
    ("bar", "kPa"): 100.0,
    ("m/s2", "g"): 1 / G,
    ("m/s^2", "g"): 1 / G,
    ("c", "°C"): 1.0,
    ("degc", "°C"): 1.0,
    ("rpm", "1/min"): 1.0,
}
# `game=<code>` in the event comment: written by our exporter (Session.game is ≤ 16 chars)
GAME_TAG = re.compile(r"(?:^|[\s;])game=([a-z0-9_]{1,16})(?:$|[\s;])")
_STEP_CHANNELS = {"gear", "lap", "sector", "lap_valid", "in_pit", "flag", "abs_active", "tc_active"}


def _target(channel: LdChannel, acc: bool, own: bool = False) -> tuple[str, float] | None:
    """Our channel name and the factor from the file's unit, or None to keep it as an extra."""
    if own and channel.name == "STEERANGLE" and channel.unit.lower() == "deg":
        return "steering", 1.0 / ASSUMED_STEER_LOCK_DEG
    if channel.name in BY_NAME and channel.name != "t":
        ours, unit = channel.name, channel.unit  # written by our own exporter
    elif channel.name in _ACC:  # ACC's names are what i2 users know; its lying labels only in ACC's files
        ours, unit = (
            _ACC[channel.name][0],
            _ACC_UNITS.get(channel.name, channel.unit) if acc else channel.unit,
        )
    else:
        return None
    factor = _factor(unit, BY_NAME[ours].unit)
    return (ours, factor) if factor is not None else None


def _factor(unit: str, want: str) -> float | None:
    src = unit.strip().lower()
    return 1.0 if src == want.lower() else _FACTORS.get((src, want))


def _is_acc(channels: list[LdChannel]) -> bool:
    names = {c.name for c in channels}
    return {"SPEED", "RPMS", "STEERANGLE"} <= names


def _our_game(header: LdHeader) -> str | None:
    """The game our exporter wrote into the event comment, if this file is one of ours."""
    match = GAME_TAG.search(header.comment)
    return match.group(1) if match else None


def _speed_channel(channels: list[LdChannel]) -> LdChannel | None:
    return next((c for c in channels if c.name in ("SPEED", "speed")), None)


def _duration(channels: list[LdChannel]) -> tuple[float, list[str]]:
    """The log's length: where the speed channel ends, and a warning for channels running past it."""
    longest = max(c.duration_s for c in channels)
    speed = _speed_channel(channels)
    if speed is None or longest <= speed.duration_s + 1.0:
        return (speed.duration_s if speed else longest), []
    past = [c.name for c in channels if c.duration_s > speed.duration_s + 1.0]
    shown = ", ".join(past[:4]) + (", ..." if len(past) > 4 else "")
    return speed.duration_s, [
        f"MoTeC .ld: {len(past)} channels ({shown}) run {longest:.1f} s, past the driving channels' "
        f"{speed.duration_s:.1f} s; the log is cut where they end"
    ]


def _main_rate(channels: list[LdChannel]) -> int:
    for c in channels:
        if c.name in ("SPEED", "speed"):
            return c.rate_hz
    rates = [c.rate_hz for c in channels]
    return max(set(rates), key=rates.count)


def _started_at(header: LdHeader, tz: tzinfo) -> datetime | None:
    try:
        naive = datetime.strptime(f"{header.date} {header.time}", "%d/%m/%Y %H:%M:%S")  # noqa: DTZ007
    except ValueError:
        return None
    return naive.replace(tzinfo=tz)


def _kind(session: str) -> str | None:
    low = session.lower()
    for word, kind in (
        ("qual", "qualifying"),
        ("race", "race"),
        ("hotlap", "hotlap"),
        ("practice", "practice"),
    ):
        if word in low:
            return kind
    return None


def _beacon_crossings(t: FloatArray, beacon: FloatArray) -> list[float]:
    """Times at which LAP_BEACON changes to a non-zero value (seconds)."""
    edges = np.flatnonzero((beacon[1:] != beacon[:-1]) & (beacon[1:] != 0)) + 1
    return [float(t[i]) for i in edges]


def _debounce(crossings: list[float]) -> list[float]:
    kept: list[float] = []
    for c in sorted(crossings):
        if not kept or c - kept[-1] >= MIN_LAP_S:
            kept.append(c)
    return kept


def _read_all(
    f: BinaryIO, channels: list[LdChannel], t: FloatArray, acc: bool, own: bool
) -> tuple[dict[str, FloatArray], dict[str, FloatArray], dict[str, str]]:
    ours: dict[str, FloatArray] = {"t": t}
    extra: dict[str, FloatArray] = {}
    units: dict[str, str] = {}
    for c in channels:
        check_time()
        values = read_ld_samples(f, c)
        t_src = np.arange(c.count) / c.rate_hz
        target = _target(c, acc, own)
        if target is not None:
            name, factor = target
            ours[name] = resample(t_src, values, t, step=name in _STEP_CHANNELS) * factor
            continue
        key = c.name.lower()
        extra[key] = resample(t_src, values, t, step=c.dtype[1] == "i")
        units[key] = "" if c.unit == ".." else c.unit
    return ours, extra, units


def import_ld(f: BinaryIO, *, ldx: bytes | str | None = None, local_tz: tzinfo = UTC) -> ImportedSession:
    """Read an `.ld` (seekable binary file) and optional `.ldx` sidecar into an ImportedSession.

    The `.ld` date and time are the logging PC's local time without a zone; they are taken
    to be in `local_tz` (UTC unless the caller knows better, e.g. the user's zone).
    """
    header = read_ld_header(f)
    channels = read_ld_channels(f, header)
    own_game = _our_game(header)
    acc = _is_acc(channels)
    rate = _main_rate(channels)
    duration, warnings = _duration(channels)
    _check_budget(channels, rate, int(round(duration * rate)))
    t = np.arange(int(round(duration * rate))) / rate
    ours, extra, units = _read_all(f, channels, t, acc, own_game is not None)
    warnings += [f"MoTeC .ld: found {len(channels)} channels, the header says {header.n_channels}"] * (
        len(channels) != header.n_channels
    )
    if "speed" not in ours:
        raise ImportFormatError("MoTeC .ld: no speed channel (SPEED or speed)")
    clamp_pedals(ours)
    laps, lap_warnings, details = _laps(t, ours, extra, ldx, duration)
    length = track_length(t, ours["speed"], laps)
    laps = judge_partial(t, ours["speed"], laps, length)
    for name, values in lap_channels(t, ours["speed"], laps).items():
        ours.setdefault(name, values)
    return ImportedSession(
        source_format="motec_ld",
        game=own_game or ("acc" if acc else None),
        track=header.venue or header.event or None,
        car=header.vehicle_id or header.vehicle or None,
        kind=_kind(header.session),
        started_at=_started_at(header, local_tz),
        track_length_m=length,
        channels=ours,
        extra=extra,
        extra_units=units,
        laps=laps,
        meta=_meta(header) | details,
        warnings=warnings + lap_warnings,
    )


def _laps(
    t: FloatArray,
    ours: dict[str, FloatArray],
    extra: dict[str, FloatArray],
    ldx: bytes | str | None,
    end: float,
) -> tuple[list[ImportedLap], list[str], dict[str, str]]:
    untimed = "the log is one untimed lap"
    if ldx is not None:
        info = parse_ldx(ldx)
        details = {
            "ldx_total_laps": str(info.total_laps or ""),
            "ldx_fastest_time_s": str(info.fastest_time_s or ""),
        }
        warnings = (
            [] if info.beacons_s else [f"MoTeC .ldx: no beacons (the game did not split the log): {untimed}"]
        )
        if info.own_laps:
            own, own_warnings = _own_laps(info.beacons_s, info.own_laps, end)
            if own is not None:
                return own, [], details
            warnings += own_warnings
        return laps_from_crossings(info.beacons_s, end), warnings, details
    crossings = _debounce(_beacon_crossings(t, extra["lap_beacon"])) if "lap_beacon" in extra else []
    if crossings:
        return laps_from_crossings(crossings, end), [], {}
    warning = f"MoTeC .ld: no lap markers (no .ldx sidecar, LAP_BEACON never set): {untimed}"
    return laps_from_crossings([], end), [warning], {}


def _own_laps(
    beacons: list[float], tokens: list[str], end: float
) -> tuple[list[ImportedLap] | None, list[str]]:
    """Our own export's laps: one stretch per token, cut at every beacon.

    The exporter leaves the start beacon out only for an untimed out-lap (token `ou`) and
    the end beacon only for an untimed last lap (`u`); so the stretches are the beacons'
    intervals plus those two. Tokens that do not fit the beacons are ignored (None).
    """
    matches = [_OWN_LAP_TOKEN.fullmatch(t) for t in tokens]
    leading = bool(matches[0]) and {"o", "u"} <= set(matches[0].group(2) or "")  # type: ignore[union-attr]
    trailing = bool(matches[-1]) and "u" in (matches[-1].group(2) or "")  # type: ignore[union-attr]
    edges = [0.0] * leading + beacons + [end] * (trailing or not beacons)
    if not all(matches) or len(edges) - 1 != len(tokens):
        return None, [
            f"MoTeC .ldx: '{OWN_LAPS_ID}' ({len(tokens)} entries) does not fit its {len(beacons)} beacons; "
            "laps are cut at the beacons alone"
        ]
    laps = []
    for i, match in enumerate(matches):
        assert match is not None  # checked above
        if match.group(0) != OWN_LAPS_GAP:
            laps.append(_own_lap(match, max(edges[i], 0.0), min(edges[i + 1], end)))
    return laps, []


def _own_lap(match: re.Match[str], start: float, end: float) -> ImportedLap:
    flags, ms = match.group(2), match.group(3)
    timed = "u" not in flags
    return ImportedLap(
        number=int(match.group(1)),
        start_t=start,
        end_t=end,
        time_s=int(ms) / 1000 if timed and ms else end - start,
        valid=False if "i" in flags else None,
        complete="o" not in flags,
        timing=BEACON if timed else UNTIMED,
    )


def _meta(header: LdHeader) -> dict[str, str]:
    found = {
        "driver": header.driver,
        "event": header.event,
        "session": header.session,
        "comment": header.comment or header.short_comment,
        "device": f"{header.device} {header.device_version} #{header.serial}",
        "vehicle_weight": str(header.vehicle_weight or ""),
    }
    return {k: v for k, v in found.items() if v}
