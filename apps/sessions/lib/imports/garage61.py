"""One lap exported from Garage 61 as CSV (iRacing telemetry variable names).

Columns: Speed (m/s), LapDistPct (0–1), Lat/Lon (degrees), Brake/Throttle (0–1), RPM,
SteeringWheelAngle (rad), Gear (-1 R, 0 N), Clutch (iRacing: 1 engaged, 0 pedal down),
ABSActive/DRSActive (true/false), LatAccel/LongAccel/VertAccel (m/s²), Yaw, YawRate.

SteeringWheelAngle is positive to the left (on all three real laps it turns the same way
as the heading of the Lat/Lon path, correlation 0.78–0.84); our `steering` runs -1 left
.. 1 right as a fraction of full lock. The file lacks the car's lock
(SteeringWheelAngleMax), so we divide by ASSUMED_LOCK_RAD and say so in a warning; the
raw angle stays in the extra `steeringwheelangle` (rad).

The lap is timed by us (there is no time column): Garage 61 exports whole laps, so the
lap is "measured" unless LapDistPct covers less than the track (then partial, untimed).
Its last rows may already be past the line (LapDistPct 0.9999 → 0.0003): LapDistPct is
unwrapped there, and the lap ends where it reaches 1.

There is no time column. We take the row rate, 60 Hz (iRacing's telemetry rate): on the
real sample the time that distance/speed gives for each row is 1/60 s within ±3 % and sums
to the same lap time within 0.01 s, while per-row distance/speed is noisy where LapDistPct
is quantised. Track length is the speed integral over the lap, scaled up by the small part
of the lap before the first and after the last row. Positions come from an equirectangular
projection around the first point: pos_x east, pos_z north, in metres (good to a few cm
over a circuit's few kilometres).
"""

from __future__ import annotations

import csv
import io
from array import array
from collections.abc import Iterable

import numpy as np

from apps.sessions.lib.laps import LAP_LENGTH_TOLERANCE, lap_truth
from simcoach_agent.channels import MS_TO_KMH

from .limits import check_cells, check_columns
from .result import (
    ASSUMED_STEER_LOCK_DEG,
    FloatArray,
    ImportedLap,
    ImportedSession,
    ImportFormatError,
    clamp_pedals,
    csv_number,
    cumulative_distance,
    lap_channels,
    with_truth,
)

ROW_RATE_HZ = 60.0
EARTH_RADIUS_M = 6_371_008.8  # mean radius
G = 9.80665  # m/s² per g
REQUIRED = ("Speed", "LapDistPct")
MAX_ROWS = 60 * 3600  # an hour at 60 Hz; no lap is longer
ASSUMED_LOCK_RAD = float(np.radians(ASSUMED_STEER_LOCK_DEG))  # the file lacks the car's lock
# Below this share of a lap we cannot even tell the track length.
MIN_COVERED = 0.5
_OURS = {  # column → (our name, factor)
    "Speed": ("speed", MS_TO_KMH),
    "Throttle": ("throttle", 1.0),
    "Brake": ("brake", 1.0),
    "RPM": ("rpm", 1.0),
    "Gear": ("gear", 1.0),
    "LatAccel": ("g_lat", 1 / G),
    "LongAccel": ("g_lon", 1 / G),
    "ABSActive": ("abs_active", 1.0),
}
_EXTRA_UNITS = {
    "steeringwheelangle": "rad",
    "vertaccel": "m/s²",
    "yaw": "rad",
    "yawrate": "rad/s",
    "lapdistpct": "",
    "lat": "°",
    "lon": "°",
}


def _read_columns(lines: Iterable[str]) -> dict[str, FloatArray]:
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    check_columns("Garage 61 CSV", len(header))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFormatError(f"Garage 61 CSV: header lacks {', '.join(missing)} (no header row?)")
    cells = _read_cells(reader, len(header))
    n = len(cells) // len(header)
    if n < 2:
        raise ImportFormatError("Garage 61 CSV: fewer than two samples")
    table = np.frombuffer(cells, dtype=np.float64).reshape(n, len(header))
    return {name: table[:, i].copy() for i, name in enumerate(header)}


def _read_cells(reader: Iterable[list[str]], width: int) -> array[float]:
    """Every row's numbers in one flat float array (8 bytes a cell, not a Python float's 32)."""
    cells = array("d")
    rows = 0
    for row in reader:
        if not row:
            continue
        if rows >= MAX_ROWS:
            raise ImportFormatError(f"Garage 61 CSV: more than {MAX_ROWS} rows; not one lap")
        check_cells("Garage 61 CSV", rows + 1, width)
        if len(row) != width:
            raise ImportFormatError(f"Garage 61 CSV: row {rows + 2} has {len(row)} cells, the header {width}")
        cells.extend(csv_number(x) for x in row)
        rows += 1
    return cells


def _positions(lat_deg: FloatArray, lon_deg: FloatArray) -> tuple[FloatArray, FloatArray]:
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    east = (lon - lon[0]) * np.cos(lat[0]) * EARTH_RADIUS_M
    north = (lat - lat[0]) * EARTH_RADIUS_M
    return east, north


def import_garage61(text: str | Iterable[str]) -> ImportedSession:
    """Parse a Garage 61 lap CSV (already decompressed text or lines) into one lap."""
    cols = _read_columns(io.StringIO(text) if isinstance(text, str) else text)
    n = len(cols["Speed"])
    t = np.arange(n) / ROW_RATE_HZ
    ours: dict[str, FloatArray] = {"t": t}
    for column, (name, factor) in _OURS.items():
        if column in cols:
            ours[name] = cols[column] * factor
    if "Clutch" in cols:
        ours["clutch"] = 1.0 - cols["Clutch"]  # iRacing counts engagement; we count pedal travel
    if "Lat" in cols and "Lon" in cols:
        ours["pos_x"], ours["pos_z"] = _positions(cols["Lat"], cols["Lon"])
    warnings = ["Garage 61 CSV: no timestamps; time assumed from the 60 Hz row rate"]
    if "SteeringWheelAngle" in cols:
        # positive left in iRacing, ours positive right
        ours["steering"] = np.clip(-cols["SteeringWheelAngle"] / ASSUMED_LOCK_RAD, -1.0, 1.0)
        warnings.append(
            f"Garage 61 CSV: steering scaled by an assumed {ASSUMED_STEER_LOCK_DEG:.0f}° lock"
            " (the file does not give the car's)"
        )
    used = {*_OURS, "Clutch", "Speed"}
    extra = {c.lower(): v for c, v in cols.items() if c not in used}
    clamp_pedals(ours)
    pct = _unwrapped(cols["LapDistPct"])
    length, lap = _lap(t, ours["speed"], pct)
    ours |= lap_channels(t, ours["speed"], [lap])
    ours["lap_dist"] = np.mod(pct, 1.0) * length  # the game's own distance beats our integral
    return ImportedSession(
        source_format="garage61_csv",
        game="iracing",  # Garage 61's column names are iRacing SDK variables
        track=None,
        car=None,
        kind=None,
        started_at=None,
        track_length_m=length,
        channels=ours,
        extra=extra,
        extra_units={k: _EXTRA_UNITS.get(k, "") for k in extra},
        laps=[lap],
        warnings=warnings,
    )


def _unwrapped(pct: FloatArray) -> FloatArray:
    """LapDistPct counting on past 1 after the rows that have already crossed the line."""
    wraps = np.flatnonzero(np.diff(pct) < -0.5)
    if len(wraps) > 1:
        raise ImportFormatError(f"Garage 61 CSV: LapDistPct crosses the line {len(wraps)} times; not one lap")
    out = pct.copy()
    if len(wraps):
        out[wraps[0] + 1 :] += 1.0
    return out


def _lap(t: FloatArray, speed_kmh: FloatArray, pct: FloatArray) -> tuple[float, ImportedLap]:
    """Track length (m) and the lap, timed line to line.

    The length is the speed integral over the share of the lap the rows cover. The lap
    starts before the first row by the distance left to the line at the first row's speed,
    and ends where LapDistPct reaches 1 (between rows when the last rows are past the line,
    else after the last row at its speed): on the real files this gives Garage 61's own lap
    times (57.444 s, 86.439 s) within 0.001 s.
    """
    covered = float(pct[-1] - pct[0])
    if not MIN_COVERED < covered <= 1.0 + LAP_LENGTH_TOLERANCE:
        raise ImportFormatError(f"Garage 61 CSV: LapDistPct covers {covered:.2f} of a lap, not one lap")
    length = float(cumulative_distance(t, speed_kmh)[-1]) / covered
    v_first, v_last = max(speed_kmh[0], 1.0) / 3.6, max(speed_kmh[-1], 1.0) / 3.6  # metres per second
    start = -pct[0] * length / v_first
    end = (
        float(np.interp(1.0, pct, t)) if pct[-1] >= 1.0 else float(t[-1] + (1.0 - pct[-1]) * length / v_last)
    )
    whole = covered >= 1.0 - LAP_LENGTH_TOLERANCE
    measured = end - start if whole else float(t[-1])  # a partial lap: only the rows' own span
    lap = ImportedLap(1, 0.0, min(end, float(t[-1])), measured, None, None, whole)
    truth = lap_truth(
        given_s=None,
        measured_s=measured,
        distance_m=min(covered, 1.0) * length,
        track_length_m=length,
        may_measure=True,
    )
    return length, with_truth(lap, truth)
