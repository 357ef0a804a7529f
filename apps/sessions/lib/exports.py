"""Lap and session exports: CSV (streamed row by row), Parquet and MoTeC i2 `.ld` + `.ldx`.

The `.ld` writer lays a file out like ACC does (protocols.md §5): the 1 762-byte header
with its constants, then the vehicle, venue and event blocks, the doubly linked channel
descriptors and float32 samples, every channel at `rate_hz`. Channels ACC also logs go
out under ACC's names and units (SPEED in m/s, THROTTLE/BRAKE/CLUTCH in %, RPMS, GEAR,
STEERANGLE in degrees at an assumed lock ...), so MoTeC i2 math and layouts made for ACC
work and our importer reads them back; the others keep our names and units. The session
kind goes in the event's session field and `game=<code>` in the event comment (MoTeC has
no game field). The `.ldx` carries one beacon per line crossing, which is where i2 takes
laps from, including one at the log's start when the lap starts on the line.

A session's `.ldx` (`laps_motec_ldx`) also says, in a Details string i2 shows and ignores
("SimCoach Laps"), each stretch's lap number and whether the game timed it: beacons alone
would time every lap between two of them, so an untimed pit lap would come back timed.

CSV and Parquet carry the same columns (`export_table`): TIME (s from the log's start), LAP
(our lap number), then every channel under the name the `.ld` gives it; speeds, pressures
and temperatures in the user's units when `units` is given (the download does: a driver who
reads psi gets TYRE_PRESS_LF [psi], one who reads bar [bar]), else in the `.ld`'s units. The
`.ld` itself always keeps ACC's units: that is what MoTeC i2's ACC layouts and maths expect.
"""

from __future__ import annotations

import csv
import io
import json
import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from apps.sessions.lib.imports import motec as ld
from apps.sessions.lib.imports.result import ASSUMED_STEER_LOCK_DEG
from simcoach_agent.channels import BY_NAME, MS_TO_KMH, PSI_TO_KPA
from simcoach_site.lib.units import QUANTITY, Units, display_unit, linear

DEVICE_SERIAL = 12007  # any number; i2 shows it as the logger serial
DEVICE_VERSION = 420
DESCRIPTOR_COUNTER_BASE = 0x2EE1  # ACC numbers its descriptors from here
_WHEELS = (("fl", "LF"), ("fr", "RF"), ("rl", "LR"), ("rr", "RR"))
# our channel → (ACC's name, ACC's unit, factor from our unit); read back by motec._ACC
ACC_NAMES: dict[str, tuple[str, str, float]] = {
    "speed": ("SPEED", "m/s", 1 / MS_TO_KMH),
    "throttle": ("THROTTLE", "%", 100.0),
    "brake": ("BRAKE", "%", 100.0),
    "clutch": ("CLUTCH", "%", 100.0),
    "rpm": ("RPMS", "1/min", 1.0),
    "gear": ("GEAR", "", 1.0),
    "g_lat": ("G_LAT", "g", 1.0),
    "g_lon": ("G_LON", "g", 1.0),
    # steering wheel angle: our -1..1 at the lock motec.py assumes for our own files
    "steering": ("STEERANGLE", "deg", ASSUMED_STEER_LOCK_DEG),
    **{f"brake_temp_{w}": (f"BRAKE_TEMP_{acc}", "C", 1.0) for w, acc in _WHEELS},
    **{f"tyre_press_{w}": (f"TYRE_PRESS_{acc}", "psi", 1 / PSI_TO_KPA) for w, acc in _WHEELS},
}


def _equal_lengths(columns: Mapping[str, np.ndarray]) -> int:
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _heading(name: str, unit: str) -> str:
    return f"{name} [{unit}]" if unit else name


def _cells(values: np.ndarray, integer: bool) -> list[str]:
    # Python floats from tolist() format several times faster than numpy scalars.
    if integer:
        return [str(v) for v in values.astype(np.int64).tolist()]
    return ["" if v != v else f"{v:.9g}" for v in values.tolist()]  # v != v: NaN; 9 digits round-trip float32


CSV_ROWS_PER_CHUNK = 2000  # rows formatted and yielded at once: streaming, in few writes


def lap_csv(columns: Mapping[str, np.ndarray], units: Mapping[str, str]) -> Iterator[str]:
    """CSV text (header first, rows ending in CRLF), one row per sample, in chunks of rows.

    Headers carry units, e.g. `SPEED [m/s]`; an empty float cell is a missing sample.
    """
    n = _equal_lengths(columns)
    names = list(columns)
    arrays = [np.asarray(columns[c]) for c in names]
    integer = [np.issubdtype(a.dtype, np.integer) for a in arrays]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_heading(c, units.get(c, "")) for c in names])
    yield buffer.getvalue()
    for i in range(0, n, CSV_ROWS_PER_CHUNK):
        buffer.seek(0)
        buffer.truncate()
        cells = [_cells(a[i : i + CSV_ROWS_PER_CHUNK], integer[k]) for k, a in enumerate(arrays)]
        writer.writerows(zip(*cells, strict=True))
        yield buffer.getvalue()


def _put(buf: bytearray, offset: int, text: str, size: int) -> None:
    raw = text.encode(ld.ENCODING, "replace")[: size - 1]  # keep a NUL terminator
    buf[offset : offset + len(raw)] = raw


def _header(
    *,
    n_channels: int,
    meta_ptr: int,
    data_ptr: int,
    event_ptr: int,
    driver: str,
    vehicle: str,
    venue: str,
    started_at: datetime,
    comment: str,
) -> bytearray:
    head = bytearray(ld.HEADER_SIZE)
    struct.pack_into("<I", head, 0, ld.MARKER)
    struct.pack_into("<II", head, ld.OFF_META_PTR, meta_ptr, data_ptr)
    struct.pack_into("<I", head, ld.OFF_EVENT_PTR, event_ptr)
    struct.pack_into("<HHHI", head, ld.OFF_CONSTANTS, *ld.HEADER_CONSTANTS, DEVICE_SERIAL)
    _put(head, ld.OFF_DEVICE, "ADL", 8)
    struct.pack_into("<HHI", head, ld.OFF_VERSION, DEVICE_VERSION, ld.DEVICE_MAGIC, n_channels)
    _put(head, ld.OFF_DATE, started_at.strftime("%d/%m/%Y"), 16)
    _put(head, ld.OFF_TIME, started_at.strftime("%H:%M:%S"), 16)
    _put(head, ld.OFF_DRIVER, driver, 64)
    _put(head, ld.OFF_VEHICLE, vehicle, 64)
    _put(head, ld.OFF_VENUE, venue, 64)
    struct.pack_into("<I", head, ld.OFF_PRO_MAGIC, ld.PRO_LOGGING_MAGIC)
    _put(head, ld.OFF_SHORT_COMMENT, comment, 64)
    return head


def _blocks(
    base: int, *, vehicle: str, venue: str, event: str, session: str, comment: str
) -> tuple[bytes, int]:
    """Vehicle, venue and event blocks laid out from `base`; returns them and the event pointer."""
    vehicle_block = bytearray(ld.VEHICLE_SIZE)
    _put(vehicle_block, 0, vehicle, 64)
    venue_ptr = base + ld.VEHICLE_SIZE
    venue_block = bytearray(ld.VENUE_SIZE)
    _put(venue_block, 0, venue, 64)
    struct.pack_into("<H", venue_block, 1098, base)  # the vehicle block sits at `base`
    event_ptr = venue_ptr + ld.VENUE_SIZE
    event_block = bytearray(ld.EVENT_SIZE)
    _put(event_block, 0, event, 64)
    _put(event_block, 64, session, 64)
    _put(event_block, 128, comment, 1024)
    struct.pack_into("<H", event_block, 1152, venue_ptr)
    return bytes(vehicle_block + venue_block + event_block), event_ptr


def _descriptor(
    i: int, n: int, meta_ptr: int, data_ptr: int, count: int, rate: int, name: str, unit: str
) -> bytes:
    here = meta_ptr + i * ld.DESCRIPTOR_SIZE
    prev = here - ld.DESCRIPTOR_SIZE if i else 0
    nxt = here + ld.DESCRIPTOR_SIZE if i < n - 1 else 0
    raw = bytearray(ld.DESCRIPTOR_SIZE)
    # float32 samples (class 7, 4 bytes), stored as is: shift 0, mul 1, scale 1, 0 decimals
    struct.pack_into(
        ld.DESCRIPTOR_FMT,
        raw,
        0,
        prev,
        nxt,
        data_ptr,
        count,
        DESCRIPTOR_COUNTER_BASE + i,
        0x07,
        4,
        rate,
        0,
        1,
        1,
        0,
    )
    _put(raw, 32, name, 32)
    _put(raw, 64, name[:7], 8)
    _put(raw, 72, unit, 12)
    return bytes(raw)


def lap_motec_ld(
    columns: Mapping[str, np.ndarray],
    *,
    driver: str,
    vehicle: str,
    venue: str,
    event: str,
    started_at: datetime,
    rate_hz: int,
    units: Mapping[str, str] | None = None,
    session: str = "",
    game: str = "",
) -> bytes:
    """A MoTeC i2 `.ld` file holding `columns`, each sampled at `rate_hz` from the lap start.

    `t` is left out (time is implied by the rate). Our channels that ACC also logs take
    ACC's names and units (ACC_NAMES); the rest keep their names, in `units` or our
    channel table's. `session` is the session kind as i2 shows it ("Practice"), `game` our
    game code. `started_at` is written as its wall-clock date and time; i2 has no time zone.
    """
    if not 1 <= rate_hz <= 0xFFFF or int(rate_hz) != rate_hz:
        raise ValueError(f"rate_hz must be a whole number of Hz in 1..65535, not {rate_hz}")
    names = [c for c in columns if c != "t"]
    count = _equal_lengths({c: columns[c] for c in names})
    written = [_as_written(c, np.asarray(columns[c], dtype=np.float64), units or {}) for c in names]
    blocks, event_ptr = _blocks(
        ld.HEADER_SIZE,
        vehicle=vehicle,
        venue=venue,
        event=event,
        session=session,
        comment=f"game={game}" if game else "",
    )
    meta_ptr = ld.HEADER_SIZE + len(blocks)
    data_ptr = meta_ptr + len(names) * ld.DESCRIPTOR_SIZE
    descriptors = b"".join(
        _descriptor(i, len(names), meta_ptr, data_ptr + i * count * 4, count, int(rate_hz), name, unit)
        for i, (name, unit, _) in enumerate(written)
    )
    data = b"".join(values.astype("<f4").tobytes() for _, _, values in written)
    header = _header(
        n_channels=len(names),
        meta_ptr=meta_ptr,
        data_ptr=data_ptr,
        event_ptr=event_ptr,
        driver=driver,
        vehicle=vehicle,
        venue=venue,
        started_at=started_at,
        comment=event,
    )
    return bytes(header) + blocks + descriptors + data


def _as_written(name: str, values: np.ndarray, units: Mapping[str, str]) -> tuple[str, str, np.ndarray]:
    """A channel's name, unit and values as the .ld holds them (ACC's where ACC logs it)."""
    if name in ACC_NAMES and name not in units:
        acc_name, unit, factor = ACC_NAMES[name]
        return acc_name, unit, values * factor
    return name, units.get(name, BY_NAME[name].unit if name in BY_NAME else ""), values


def _lap_clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds * 1000), 60_000)
    return f"{minutes}:{rest / 1000:06.3f}"


def lap_motec_ldx(lap_times_s: Sequence[float], *, start_s: float = 0.0) -> str:
    """The `.ldx` sidecar for laps of the given times, the first starting `start_s` into the log.

    One beacon per line crossing (Time in microseconds), the first at `start_s` even when
    that is the log's start: a lap exported from the line then reads back as a timed lap,
    not as an out-lap. i2 numbers the stretch before the first beacon lap 0, so "Fastest
    Lap" is the fastest lap's index in `lap_times_s` plus one. No lap times: only the start
    beacon, and the log reads back as one untimed lap.
    """
    if any(t <= 0 for t in lap_times_s) or start_s < 0:
        raise ValueError("lap times must be positive and start_s not negative")
    crossings = [start_s, *(start_s + np.cumsum(lap_times_s))]
    details = ""
    if len(lap_times_s):
        best = int(np.argmin(lap_times_s))
        details = (
            f'   <String Id="Total Laps" Value="{len(crossings) + 1}"/>\n'
            f'   <String Id="Fastest Time" Value={quoteattr(_lap_clock(lap_times_s[best]))}/>\n'
            f'   <String Id="Fastest Lap" Value="{best + 1}"/>\n'
        )
    return _ldx_document(crossings, details)


# --------------------------------------------------------------------------- whole sessions

OWN_LAPS_ID, GAP = ld.OWN_LAPS_ID, ld.OWN_LAPS_GAP  # the .ldx Details string motec.py reads back
# A lap starting within this of the previous lap's end beacon starts on that beacon (stored
# lap edges are a frame apart at a line crossing). Seconds.
JOIN_S = 2.0
# A timed lap's end beacon goes one lap time after its start beacon (so i2 shows the game's
# time) when that is within this of where the lap was stored to end; otherwise (a log that
# starts mid-lap, frames missing) at the stored end, so beacons never drift off the trace. s.
SNAP_S = 0.25


@dataclass(frozen=True)
class LapMark:
    """One stored lap as the `.ldx` writer needs it; times in seconds from the log's start."""

    number: int
    start_s: float
    end_s: float
    time_s: float | None  # the lap's time when it is timed; None for an untimed lap
    valid: bool
    out_lap: bool = False

    @property
    def token(self) -> str:
        # e.g. "7=61833" (timed, ms), "7i=63790" (timed, invalid), "1ou" (untimed out-lap)
        flags = ("o" if self.out_lap else "") + ("i" if self.time_s is not None and not self.valid else "")
        if self.time_s is None:
            return f"{self.number}{flags}u"
        return f"{self.number}{flags}={round(self.time_s * 1000)}"


@dataclass(frozen=True)
class Beacons:
    """Line crossings (s), one token per stretch, and i2's lap index of each of our laps."""

    crossings: list[float]
    tokens: list[str]
    i2_laps: dict[int, int]  # our lap number → i2's (0 is the stretch before the first beacon)


def lap_beacons(laps: Sequence[LapMark]) -> Beacons:
    """Where the beacons go: one at each line crossing of the stored laps.

    An untimed out-lap at the start gets no start beacon and an untimed last lap no end
    beacon, which is how i2 (and any reader of beacons) sees an out-lap and the lap a log
    stops in. A lap starting more than JOIN_S after the previous one's end beacon gets its
    own start beacon, and the stretch between is a GAP. The tokens carry what beacons
    cannot: lap numbers, the exact lap times, untimed and invalid laps, out-laps.
    """
    crossings: list[float] = []
    tokens: list[str] = []
    i2_laps: dict[int, int] = {}
    for i, lap in enumerate(laps):
        if not (i == 0 and lap.out_lap and lap.time_s is None):
            if not crossings or lap.start_s - crossings[-1] > JOIN_S:
                tokens += [GAP] if crossings else []
                crossings.append(lap.start_s)
        start = crossings[-1] if crossings else lap.start_s
        i2_laps[lap.number] = len(crossings)
        tokens.append(lap.token)
        end = lap.end_s
        if lap.time_s is not None and abs(start + lap.time_s - lap.end_s) <= SNAP_S:
            end = start + lap.time_s
        if lap.time_s is not None or i < len(laps) - 1:
            crossings.append(max(end, start + 0.001))
    return Beacons(crossings, tokens, i2_laps)


def laps_motec_ldx(laps: Sequence[LapMark]) -> str:
    """The `.ldx` for a log holding `laps` (beacons by `lap_beacons`, our lap tokens)."""
    if any(lap.time_s is not None and lap.time_s <= 0 for lap in laps):
        raise ValueError("lap times must be positive")
    beacons = lap_beacons(laps)
    details = f'   <String Id="{OWN_LAPS_ID}" Value="{" ".join(beacons.tokens)}"/>\n'
    timed = [lap for lap in laps if lap.time_s is not None]
    if timed:
        best = min(timed, key=lambda lap: lap.time_s or 0.0)
        details += (
            f'   <String Id="Total Laps" Value="{len(beacons.crossings) + 1}"/>\n'
            f'   <String Id="Fastest Time" Value={quoteattr(_lap_clock(best.time_s or 0.0))}/>\n'
            f'   <String Id="Fastest Lap" Value="{beacons.i2_laps[best.number]}"/>\n'
        )
    return _ldx_document(beacons.crossings, details)


def _ldx_document(crossings: Sequence[float], details: str) -> str:
    markers = "".join(
        f'     <Marker Version="100" ClassName="BCN" Name="{i}, id=99" Flags="13" Time="{t * 1e6:.17e}"/>\n'
        for i, t in enumerate(crossings)
    )
    return (
        '<?xml version="1.0"?>\n<LDXFile Locale="English_United States.1252" DefaultLocale="C" Version="1.6">\n'
        " <Layers>\n  <Layer>\n   <MarkerBlock>\n"
        f'    <MarkerGroup Name="Beacons" Index="0">\n{markers}    </MarkerGroup>\n'
        "   </MarkerBlock>\n   <RangeBlock/>\n  </Layer>\n"
        f"  <Details>\n{details}  </Details>\n </Layers>\n</LDXFile>\n"
    )


# --------------------------------------------------------------------------- CSV and Parquet tables

# Our columns that ACC has no name for, named like ACC's (upper case) in tables.
TABLE_NAMES = {"t": ("TIME", "s"), "lap": ("LAP", "")}


@dataclass(frozen=True)
class ExportColumn:
    name: str  # as written: ACC's where ACC logs the channel (SPEED), else ours
    unit: str  # as written (m/s, %, ...)
    values: np.ndarray  # int64 for counters and flags with every sample, else float64


def export_table(columns: Mapping[str, np.ndarray], units: Units | None = None) -> list[ExportColumn]:
    """Our columns (names from the channel table) under the names and units of the `.ld`.

    `t` becomes TIME and `lap` LAP; without `units` the rest are converted exactly as
    `lap_motec_ld` does, so a CSV, a Parquet file and an `.ld` of one lap hold the same
    numbers. With `units`, speeds, pressures and temperatures are in those units instead
    (under the same names: SPEED [mph], TYRE_PRESS_LF [bar]).
    """
    table: list[ExportColumn] = []
    for name, raw in columns.items():
        values = np.asarray(raw)
        if name in TABLE_NAMES:
            table.append(ExportColumn(*TABLE_NAMES[name], values))
            continue
        shown = _in_units(name, values, units)
        if shown is not None:
            table.append(shown)
            continue
        written, unit, scaled = _as_written(name, values.astype(np.float64), {})
        keep_ints = np.issubdtype(values.dtype, np.integer) and ACC_NAMES.get(name, ("", "", 1.0))[2] == 1.0
        table.append(ExportColumn(written, unit, values if keep_ints else scaled))
    return table


def _in_units(name: str, values: np.ndarray, units: Units | None) -> ExportColumn | None:
    """The column in the user's units, or None when `units` is None or it is no speed,
    pressure or temperature."""
    stored = BY_NAME[name].unit if name in BY_NAME else ""
    if units is None or stored not in QUANTITY:
        return None
    scale, offset = linear(stored, units)
    written = ACC_NAMES[name][0] if name in ACC_NAMES else name
    return ExportColumn(written, display_unit(stored, units), values.astype(np.float64) * scale + offset)


def table_csv(table: Sequence[ExportColumn]) -> Iterator[str]:
    """CSV lines of an export table: `NAME [unit]` headings, one row per sample."""
    return lap_csv({c.name: c.values for c in table}, {c.name: c.unit for c in table})


def _arrow_column(column: ExportColumn) -> tuple[pa.Field, pa.Array]:
    values = column.values
    if np.issubdtype(values.dtype, np.integer):
        kind = pa.int64()
    elif column.name == "TIME":
        kind = pa.float64()  # float32 would lose the millisecond after ~4.6 hours
    else:
        kind = pa.float32()  # the trace store's own resolution
    array = pa.array(values, type=kind, from_pandas=True)  # from_pandas: NaN becomes null
    return pa.field(column.name, kind, metadata={"unit": column.unit}), array


def table_parquet(table: Sequence[ExportColumn], metadata: Mapping[str, object]) -> bytes:
    """A Parquet file of an export table: typed columns, each field's unit in its metadata,
    and `metadata` (session facts, laps) as JSON under the schema metadata key "simcoach"."""
    _equal_lengths({c.name: c.values for c in table})
    fields, arrays = zip(*(_arrow_column(c) for c in table), strict=True) if table else ((), ())
    units = {c.name: c.unit for c in table}
    schema = pa.schema(
        list(fields),
        metadata={"simcoach": json.dumps(dict(metadata), default=str), "units": json.dumps(units)},
    )
    out = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_arrays(list(arrays), schema=schema), out, compression="zstd")
    return bytes(out.getvalue().to_pybytes())
