"""iRacing `.ibt` telemetry files, as the sim writes them to disk.

Layout (docs/games.md; `simcoach_agent.irsdk` decodes the structures): the 112-byte
`irsdk_header`, the 32-byte disk sub-header (session start as Unix time, first/last
SessionTime, lap and record counts), 144-byte variable headers, the session-info YAML, then
`sessionRecordCount` rows of `bufLen` bytes at `tickRate` (60 Hz) from `varBuf[0].bufOffset`.

Every declared offset, size and count is checked against the real file size before anything
is read or allocated; rows are then read in blocks, keeping only the variables we use.

Laps follow the game: a lap ends where `Lap` moves on, at the moment `LapDistPct` wraps
(interpolated between the two rows). The game posts the finished lap's time in
`LapLastLapTime` about half a second later, so lap k's time is the first value of
`LapLastLapTime` during lap k+1 that differs from the one lap k ended with; -1 (or 0) means the
game did not time it. The stretches before the first and after the last crossing are partial.
A lap with an off-track (PlayerTrackSurface 0) or a new incident is invalid: iRacing has
no lap-valid flag for the player, and those are what make it refuse a qualifying lap.
The sim may write a blank row before the car is placed (PlayerTrackSurface -1, Lap 0 at
latitude 0): such leading rows are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

import numpy as np

from simcoach_agent import irsdk
from simcoach_agent.irsdk import Header, IrsdkError, SessionFacts, VarHeader

from .result import (
    FloatArray,
    ImportedLap,
    ImportedSession,
    ImportFormatError,
    clamp_pedals,
    lap_channels,
)

NAME = "iRacing .ibt"
MAX_RECORDS = 4_000_000  # > 3 h at 360 Hz; beyond that it is not one session
BLOCK_ROWS = 4096  # rows read per block: memory stays at the kept columns plus one block
PARTIAL_PCT = 0.9  # a lap between two crossings covering less than this of the track is partial
# Variables kept as extras, with the unit we store them in (the file's own unless converted).
EXTRAS: dict[str, str] = {
    "LapDistPct": "",
    "LapCurrentLapTime": "s",
    "LapCompleted": "",
    "SessionTime": "s",
    "SteeringWheelAngle": "°",  # converted from rad
    "SteeringWheelAngleMax": "°",
    "Lat": "°",
    "Lon": "°",
    "VertAccel": "m/s²",
    "YawRate": "rad/s",
    "FuelUsePerHour": "kg/h",
    "PlayerTrackSurface": "",
    "PlayerCarMyIncidentCount": "",
    "IsOnTrack": "",
    "SessionNum": "",
    **{f"{w}brakeLinePress": "bar" for _, w in irsdk.WHEEL_PREFIX},
    **{f"{w}rideHeight": "m" for _, w in irsdk.WHEEL_PREFIX},
    **{f"{w}speed": "m/s" for _, w in irsdk.WHEEL_PREFIX},
}
_WHEEL_VARS = {name for _, prefix in irsdk.WHEEL_PREFIX for name in irsdk.wheel_vars(prefix).values()}
_NEEDED = {*irsdk.SCALED, *EXTRAS, *_WHEEL_VARS, "Clutch", "LapLastLapTime", "LapBestLapTime"}


@dataclass(frozen=True)
class IbtLayout:
    header: Header
    sub: irsdk.DiskSubHeader
    variables: dict[str, VarHeader]
    session_info: str
    data_offset: int
    records: int
    warnings: list[str]


def _read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def _file_size(f: BinaryIO) -> int:
    f.seek(0, 2)
    return f.tell()


def _within(what: str, offset: int, size: int, file_size: int) -> None:
    if offset < 0 or size < 0 or offset + size > file_size:
        raise ImportFormatError(
            f"{NAME}: the {what} ({size} bytes at offset {offset}) runs past the end of the "
            f"{file_size}-byte file (truncated or damaged?)"
        )


def _no_overlap(header: Header) -> None:
    """The variable table, the session info and the rows are separate parts of the file."""
    parts = sorted(
        [
            (header.var_header_offset, header.num_vars * irsdk.VAR_HEADER_SIZE, "variable table"),
            (header.session_info_offset, header.session_info_len, "session info"),
            (header.bufs[0][1], header.buf_len, "rows"),
        ]
    )
    for (a, size, what), (b, _, other) in zip(parts, parts[1:], strict=False):
        if a + size > b:
            raise ImportFormatError(f"{NAME}: the {what} overlaps the {other} (damaged header?)")


def read_layout(f: BinaryIO) -> IbtLayout:
    """Headers, variable table and session info, every size checked against the file's."""
    size = _file_size(f)
    head = _read_at(f, 0, irsdk.HEADER_SIZE + irsdk.DISK_SUB_HEADER_SIZE)
    try:
        header = irsdk.parse_header(head)
        sub = irsdk.parse_disk_sub_header(head)
    except IrsdkError as exc:
        raise ImportFormatError(f"{NAME}: {exc}") from None
    if header.ver != irsdk.SDK_VERSION:
        raise ImportFormatError(f"{NAME}: header version {header.ver}, this reader knows {irsdk.SDK_VERSION}")
    if not 1 <= header.tick_rate <= 10_000:
        raise ImportFormatError(f"{NAME}: tickRate {header.tick_rate} Hz is not a telemetry rate (damaged?)")
    _within("variable table", header.var_header_offset, header.num_vars * irsdk.VAR_HEADER_SIZE, size)
    _within("session info", header.session_info_offset, header.session_info_len, size)
    _no_overlap(header)
    table = _read_at(f, header.var_header_offset, header.num_vars * irsdk.VAR_HEADER_SIZE)
    try:
        variables = irsdk.parse_var_headers(table, header.num_vars, header.buf_len)
    except IrsdkError as exc:
        raise ImportFormatError(f"{NAME}: {exc}") from None
    info = _read_at(f, header.session_info_offset, header.session_info_len)
    data_offset = header.bufs[0][1]
    records, warnings = _record_count(sub, header, data_offset, size)
    return IbtLayout(header, sub, variables, _cp1252(info), data_offset, records, warnings)


def _cp1252(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("cp1252", errors="replace")


def _record_count(
    sub: irsdk.DiskSubHeader, header: Header, data_offset: int, size: int
) -> tuple[int, list[str]]:
    if not 0 < data_offset <= size:
        raise ImportFormatError(
            f"{NAME}: the rows start at offset {data_offset}, outside the {size}-byte file"
        )
    fits = (size - data_offset) // header.buf_len
    if sub.record_count < 0 or sub.record_count > MAX_RECORDS:
        raise ImportFormatError(f"{NAME}: the header declares {sub.record_count} records (damaged?)")
    if sub.record_count > fits:
        raise ImportFormatError(
            f"{NAME}: the header declares {sub.record_count} records of {header.buf_len} bytes, "
            f"the file holds {fits} (truncated?)"
        )
    if sub.record_count == 0 and fits > 0:
        # the sim stopped before it finished the file: the count was never written back
        return min(fits, MAX_RECORDS), [f"{NAME}: the record count was never written; read {fits} rows"]
    return sub.record_count, []


def _read_columns(f: BinaryIO, layout: IbtLayout) -> dict[str, FloatArray]:
    """The variables we use (element 0 of each), as float64 columns."""
    wanted = {name: var for name, var in layout.variables.items() if name in _NEEDED}
    cols = {name: np.empty(layout.records) for name in wanted}
    row_len = layout.header.buf_len
    for start in range(0, layout.records, BLOCK_ROWS):
        n = min(BLOCK_ROWS, layout.records - start)
        raw = _read_at(f, layout.data_offset + start * row_len, n * row_len)
        if len(raw) != n * row_len:
            raise ImportFormatError(f"{NAME}: the file ended inside row {start + len(raw) // row_len}")
        rows = np.frombuffer(raw, dtype=np.uint8).reshape(n, row_len)
        for name, var in wanted.items():
            dtype = np.dtype(irsdk.NUMPY_TYPES[var.type])
            cell = np.ascontiguousarray(rows[:, var.offset : var.offset + dtype.itemsize])
            cols[name][start : start + n] = cell.view(dtype)[:, 0]
    return cols


def _first_live_row(cols: dict[str, FloatArray], limit: int) -> int:
    """Skip the blank rows the sim can write before the car is placed (not in the world)."""
    surface = cols.get("PlayerTrackSurface")
    if surface is None:
        return 0
    i = 0
    while i < min(limit, len(surface) - 2) and surface[i] == irsdk.TRK_NOT_IN_WORLD:
        i += 1
    return i


def import_ibt(f: BinaryIO) -> ImportedSession:
    """Read an iRacing `.ibt` (seekable binary file) into an ImportedSession."""
    layout = read_layout(f)
    if layout.records < 2:
        raise ImportFormatError(f"{NAME}: {layout.records} records; nothing to import")
    missing = [v for v in ("Speed", "Lap") if v not in layout.variables]
    if missing:
        raise ImportFormatError(f"{NAME}: no {', '.join(missing)} variable")
    raw = _read_columns(f, layout)
    first = _first_live_row(raw, layout.header.tick_rate)
    raw = {k: v[first:] for k, v in raw.items()}
    facts = irsdk.session_facts(irsdk.parse_session_info(layout.session_info))
    t = _time_base(raw, layout.header.tick_rate)
    ours = _channels(raw, facts)
    ours["t"] = t
    laps, lap_warnings = _laps(t, raw, facts)
    computed = lap_channels(t, ours["speed"], laps)
    ours["lap_time"] = computed["lap_time"]  # LapCurrentLapTime restarts late; ours starts at the line
    ours.setdefault("lap_dist", computed["lap_dist"])
    clamp_pedals(ours)
    extra, units = _extras(raw)
    return ImportedSession(
        source_format="iracing_ibt",
        game="iracing",
        track=facts.track_name or None,
        car=facts.car or None,
        kind=facts.kind(_session_num(raw)),
        started_at=_started_at(layout.sub, first, layout.header.tick_rate),
        track_length_m=facts.track_length_m,
        channels=ours,
        extra=extra,
        extra_units=units,
        laps=laps,
        meta=_meta(layout, facts, raw),
        warnings=layout.warnings + lap_warnings + _lap_warnings(laps),
    )


def _time_base(raw: dict[str, FloatArray], tick_rate: int) -> FloatArray:
    n = len(raw["Speed"])
    session_time = raw.get("SessionTime")
    if session_time is not None and np.all(np.diff(session_time) > 0):
        return session_time - session_time[0]
    return np.arange(n) / tick_rate  # a replayed or joined file whose clock jumps: rows are ticks


def _session_num(raw: dict[str, FloatArray]) -> int | None:
    nums = raw.get("SessionNum")
    return int(nums[0]) if nums is not None and len(nums) else None


def _started_at(sub: irsdk.DiskSubHeader, skipped: int, tick_rate: int) -> datetime | None:
    if sub.start_date <= 0:
        return None
    return datetime.fromtimestamp(sub.start_date + skipped / tick_rate, tz=UTC)


def _channels(raw: dict[str, FloatArray], facts: SessionFacts) -> dict[str, FloatArray]:
    ours: dict[str, FloatArray] = {}
    for var, (name, factor) in irsdk.SCALED.items():
        if var in raw:
            ours[name] = raw[var] * factor
    if "Clutch" in raw:
        ours["clutch"] = irsdk.clutch_travel(raw["Clutch"])
    if "SteeringWheelAngle" in raw and "SteeringWheelAngleMax" in raw:
        lock = np.where(raw["SteeringWheelAngleMax"] > 0, raw["SteeringWheelAngleMax"], np.nan)
        ours["steering"] = np.clip(
            np.nan_to_num(irsdk.steering_fraction(raw["SteeringWheelAngle"], lock)), -1, 1
        )
    for var, name in (("LapLastLapTime", "last_lap_time"), ("LapBestLapTime", "best_lap_time")):
        if var in raw:
            ours[name] = np.where(raw[var] > 0, raw[var], -1.0)
    if "LapDistPct" in raw and facts.sector_starts:
        ours["sector"] = np.maximum(
            np.searchsorted(facts.sector_starts, raw["LapDistPct"], side="right") - 1, 0
        )
    ours |= _positions(raw, facts)
    ours |= _tyres(raw)
    return {k: np.asarray(v, dtype=np.float64) for k, v in ours.items()}


def _positions(raw: dict[str, FloatArray], facts: SessionFacts) -> dict[str, FloatArray]:
    lat, lon = raw.get("Lat"), raw.get("Lon")
    if lat is None or lon is None:
        return {}
    placed = (lat != 0) | (lon != 0)  # 0/0 is "not in the world", not the Gulf of Guinea
    if not placed.any():
        return {}
    origin = facts.origin or (float(lat[placed][0]), float(lon[placed][0]))
    east, north = irsdk.project(lat, lon, origin)
    return {"pos_x": np.where(placed, east, np.nan), "pos_z": np.where(placed, north, np.nan)}


def _three(raw: dict[str, FloatArray], names: tuple[str, str, str]) -> tuple[FloatArray, ...] | None:
    found = tuple(raw[n] for n in names if n in raw)
    return found if len(found) == 3 else None


def _tyres(raw: dict[str, FloatArray]) -> dict[str, FloatArray]:
    out: dict[str, FloatArray] = {}
    for i, (w, prefix) in enumerate(irsdk.WHEEL_PREFIX):
        v = irsdk.wheel_vars(prefix)
        # surface temperatures when the file has them, else the carcass ones
        temps = _three(raw, (v["temp_l"], v["temp_m"], v["temp_r"])) or _three(
            raw, (v["carcass_l"], v["carcass_m"], v["carcass_r"])
        )
        if temps is not None:
            left, middle, right = temps
            inner, outer = (right, left) if i in (0, 2) else (left, right)  # as seen from behind
            out |= {f"tyre_temp_{w}": middle, f"tyre_temp_in_{w}": inner}
            out |= {f"tyre_temp_mid_{w}": middle, f"tyre_temp_out_{w}": outer}
        press = raw.get(v["press"], raw.get(v["cold_press"]))
        if press is not None:
            out[f"tyre_press_{w}"] = press  # kPa
        wear = _three(raw, (v["wear_l"], v["wear_m"], v["wear_r"]))
        if wear is not None:
            out[f"tyre_wear_{w}"] = np.clip(irsdk.tyre_wear_pct(*wear), 0, 100)
    return out


def _extras(raw: dict[str, FloatArray]) -> tuple[dict[str, FloatArray], dict[str, str]]:
    extra: dict[str, FloatArray] = {}
    for var in EXTRAS:
        if var not in raw:
            continue
        values = raw[var]
        if var.startswith("SteeringWheelAngle"):
            values = np.degrees(values)
        extra[var.lower()] = values
    return extra, {k.lower(): EXTRAS[k] for k in EXTRAS if k.lower() in extra}


# ---- laps


def _crossings(t: FloatArray, raw: dict[str, FloatArray]) -> tuple[np.ndarray, list[float]]:
    """Rows where Lap moves on, and the time of each crossing, refined by LapDistPct."""
    lap = raw["Lap"]
    changes = np.flatnonzero(lap[1:] != lap[:-1]) + 1
    pct = raw.get("LapDistPct")
    times = []
    for i in changes:
        at = float(t[i])
        if pct is not None and lap[i] == lap[i - 1] + 1:
            before, after = float(pct[i - 1]), float(pct[i]) + 1.0  # unwrap across the line
            if 0.5 < before < 1.0 < after < 1.5 and after > before:
                at = float(t[i - 1] + (t[i] - t[i - 1]) * (1.0 - before) / (after - before))
        times.append(at)
    return changes, times


def _laps(
    t: FloatArray, raw: dict[str, FloatArray], facts: SessionFacts
) -> tuple[list[ImportedLap], list[str]]:
    changes, crossings = _crossings(t, raw)
    lap_no = raw["Lap"]
    # Lap moving on by one is the line; any other jump is a new session or a reset, not a lap end
    on_line = [bool(lap_no[i] == lap_no[i - 1] + 1) for i in changes]
    edges = [float(t[0]), *crossings, float(t[-1])]
    starts = [0, *changes.tolist()]
    laps: list[ImportedLap] = []
    warnings: list[str] = []
    for j in range(len(edges) - 1):
        start, end = edges[j], edges[j + 1]
        ends_on_line = j < len(changes) and on_line[j]
        complete = 0 < j and ends_on_line and on_line[j - 1]
        posted = _game_time(raw, changes, j, end - start) if ends_on_line else None
        game = posted if posted is not None and posted > 0 else None
        partial = not complete or _short(raw, starts[j], _end_row(changes, j, len(t)))
        number = int(lap_no[starts[j]])
        if laps and number <= laps[-1].number:
            warnings.append(
                f"{NAME}: the lap counter went back to {number}; lap numbered {laps[-1].number + 1}"
            )
            number = laps[-1].number + 1  # lap numbers stay unique within the session
        laps.append(
            ImportedLap(
                number=number,
                start_t=start,
                end_t=end,
                time_s=game if game is not None else end - start,
                # untimed and partial laps are never valid (DESIGN: one lap rule)
                valid=False
                if game is None or partial
                else _clean(raw, starts[j], _end_row(changes, j, len(t))),
                sectors_s=_sectors(t, raw, facts, start, game) if game is not None and complete else None,
                complete=complete,
                timing="untimed" if game is None else "game",
                partial=partial,
            )
        )
    return laps, warnings


def _game_time(raw: dict[str, FloatArray], changes: np.ndarray, j: int, measured: float) -> float | None:
    """LapLastLapTime posted for the lap that ends at change j; None when the game posted none."""
    last = raw.get("LapLastLapTime")
    if last is None:
        return None
    end_row = int(changes[j])
    stop = int(changes[j + 1]) if j + 1 < len(changes) else len(last)
    ended_with = last[end_row - 1]
    after = last[end_row:stop]
    moved = np.flatnonzero(after != ended_with)
    if moved.size:
        return float(after[moved[0]])
    # unchanged through a whole following lap: two laps to the same thousandth, if it fits
    if j + 1 < len(changes) and ended_with > 0 and abs(ended_with - measured) < 0.1:
        return float(ended_with)
    return None


def _end_row(changes: np.ndarray, j: int, n: int) -> int:
    return int(changes[j]) if j < len(changes) else n


def _clean(raw: dict[str, FloatArray], a: int, b: int) -> bool | None:
    """iRacing has no lap-valid flag; an off-track or a new incident in the lap is what makes
    the sim refuse a qualifying lap, so those mark it invalid. None when neither is logged."""
    surface, incidents = raw.get("PlayerTrackSurface"), raw.get("PlayerCarMyIncidentCount")
    if surface is None and incidents is None or b <= a:
        return None
    off = surface is not None and bool(np.any(surface[a:b] == irsdk.TRK_OFF_TRACK))
    new = incidents is not None and bool(np.any(incidents[a:b] != incidents[a]))
    return not (off or new)


def _short(raw: dict[str, FloatArray], a: int, b: int) -> bool:
    pct = raw.get("LapDistPct")
    return pct is not None and b > a and float(np.max(pct[a:b])) < PARTIAL_PCT


def _sectors(
    t: FloatArray, raw: dict[str, FloatArray], facts: SessionFacts, start: float, time_s: float
) -> list[float] | None:
    """Sector times of a timed lap, from when LapDistPct passes each split start."""
    pct = raw.get("LapDistPct")
    splits = [s for s in facts.sector_starts if s > 0]
    if pct is None or not splits:
        return None
    inside = np.flatnonzero((t > start) & (t < start + time_s))
    if len(inside) < 2:
        return None
    at = []
    for split in splits:
        hit = inside[np.flatnonzero(pct[inside] >= split)]
        if not hit.size:
            return None
        at.append(float(t[hit[0]]) - start)
    bounds = [0.0, *at, time_s]
    return [round(b - a, 3) for a, b in zip(bounds, bounds[1:], strict=False)]


def _lap_warnings(laps: list[ImportedLap]) -> list[str]:
    if any(lap.complete for lap in laps):
        return []
    return [f"{NAME}: no complete lap (the car never crossed the line twice)"]


def _meta(layout: IbtLayout, facts: SessionFacts, raw: dict[str, FloatArray]) -> dict[str, str]:
    num = _session_num(raw)
    found = {
        "driver": facts.driver,
        "session_type": facts.session_types.get(facts.current_session if num is None else num, ""),
        "track_id": facts.track,
        "car_class": facts.car_class,
        "tick_rate_hz": str(layout.header.tick_rate),
        "records": str(layout.records),
        "lap_count": str(layout.sub.lap_count),
        "variables": str(len(layout.variables)),
    }
    return {k: v for k, v in found.items() if v}
