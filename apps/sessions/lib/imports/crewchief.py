"""Crew Chief sessions as exported from InfluxDB to CSV (Crew Chief → MQTT → telegraf → InfluxDB).

The export has one header row per Flux table (`result,table,_start,_stop,_time,` then tags
and fields; raw Flux CSV adds `#group`/`#datatype`/`#default` annotation lines, a leading
empty column and blank lines between tables). Rows are not in time order across tables.
We stream it with the csv module into compact float arrays, then sort by `_time`. Samples
arrive at 10–60 Hz, irregularly (MQTT), and stay on their own times: `t` is seconds from
the first sample, not a fixed grid.

Laps: a lap ends where CurrentLap changes. The crossing time is refined between samples
with DistanceRoundTrack / speed of the first sample after the line, which brings measured
lap durations within a few hundredths of the game's times. A lap's time is the game's
only (the one lap rule, `apps.sessions.lib.laps.lap_truth`): lap k's time is the first LapTimePrevious
seen in lap k+1 that differs from the value lap k ended with (AC sets it at the line,
iRacing seconds later, after a -1 or the lap before's time). -1 means the game gave no
time (pit laps, some first laps): the lap is untimed. Lap 1 from a standing or rolling
start is timed when the game timed it; where the log holds more than that time before
the lap's end (waiting on the grid, an out-lap CurrentLap does not count), the lap starts
its game time before its end. Rally games drive stages, not laps: their files import
with no laps.

Fields: SpeedMs (m/s), Throttle/Brake/Clutch (0–1, pedal travel), Gear (-1 R, 0 N), Rpms,
DistanceRoundTrack (m), WorldPosition_x/y/z (m, y up), CurrentLapIsValid. CurrentLapTime
is kept as an extra only: in the AMS2 and iRacing files it does not restart at the line,
so `lap_time` is computed from our lap starts. SteeringAngle's scale differs by game and
is kept as an extra only: the iRacing files run to ±5.75, a wheel angle in radians with
no lock to scale it by; AMS2, AC and RBR stay within ±1 (±0.40, ±0.58, ±0.89), which fits
a -1..1 input, but neither its sign nor that it is a share of full lock can be told from
the files (the world axes' handedness is not stated), so it is not taken as `steering`.
"""

from __future__ import annotations

import csv
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from apps.sessions.lib.laps import GAME, UNTIMED
from simcoach_agent.channels import MS_TO_KMH

from .limits import check_cells, check_columns, check_laps
from .result import (
    FloatArray,
    ImportedLap,
    ImportedSession,
    ImportFormatError,
    clamp_pedals,
    csv_number,
    judge_partial,
    lap_channels,
    track_length,
)

NAME = "Crew Chief CSV"
MAX_ROWS = 2_000_000  # ≈ 10 h at 60 Hz; beyond that it is not one session
_TEXT = ("GameName", "TrackCode", "CarModel", "SessionTypeName", "SessionId")
_SKIP = {
    "",
    "result",
    "table",
    "_start",
    "_stop",
    "_time",
    "_measurement",
    "host",
    "topic",
    "user",
    "id",
    *_TEXT,
}
_OURS = {  # field → (our name, factor)
    "SpeedMs": ("speed", MS_TO_KMH),
    "Throttle": ("throttle", 1.0),
    "Brake": ("brake", 1.0),
    "Clutch": ("clutch", 1.0),
    "Gear": ("gear", 1.0),
    "Rpms": ("rpm", 1.0),
    "DistanceRoundTrack": ("lap_dist", 1.0),
    "WorldPosition_x": ("pos_x", 1.0),
    "WorldPosition_y": ("pos_y", 1.0),
    "WorldPosition_z": ("pos_z", 1.0),
    "CurrentLapIsValid": ("lap_valid", 1.0),
    "LapTimePrevious": ("last_lap_time", 1.0),
}
_GAMES = {
    "Automobilista 2": "ams2",
    "Assetto Corsa Competizione": "acc",
    "RaceRoom Racing Experience": "r3e",
    "RaceRoom": "r3e",
    "Le Mans Ultimate": "lmu",
    "rFactor 2": "rf2",
    "iRacing": "iracing",
    "Assetto Corsa (64 bit)": "ac",
    "Assetto Corsa": "ac",
}
_KINDS = {
    "practice": "practice",
    "qualify": "qualifying",
    "qualifying": "qualifying",
    "race": "race",
    "hotlap": "hotlap",
}
# Session type names beyond _KINDS (iRacing's LonePractice, ...) map by the word they hold;
# a name holding none of these is taken as practice, with a warning.
_KIND_WORDS = (("qual", "qualifying"), ("race", "race"), ("hotlap", "hotlap"), ("practice", "practice"))
DEFAULT_KIND = "practice"
# Games that drive stages (one run from start to finish), not laps round a circuit.
_STAGE_GAME = re.compile(r"rally|\bwrc\b|dirt", re.IGNORECASE)
# Our game names are at most 16 characters (Session.game); long names get a short form.
_GAMES_SHORT = {"Richard Burns Rally": "rbr"}
GAME_NAME_MAX = 16
# Lap 1 starts at its game time before its end when the log holds this much more before it.
FIRST_LAP_SLACK_S = 1.0
_EXTRA_UNITS = {
    "currentlaptime": "s",
    "steeringangle": "",
    "handbrake": "",
    "x": "m",
    "y": "m",
    "previouslapwasvalid": "",
}


@dataclass
class _Columns:
    """Numeric fields as growing float arrays, all of the same length."""

    n: int = 0
    data: dict[str, array[float]] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    session_ids: set[str] = field(default_factory=set)

    def add(self, row: dict[str, str]) -> None:
        for name, value in row.items():
            if name in _SKIP:
                continue
            if name not in self.data:
                self.data[name] = array("d", [np.nan]) * self.n  # a field new in this table
            self.data[name].append(csv_number(value))
        for name, column in self.data.items():
            if name not in row:
                column.append(np.nan)
        for name in _TEXT:
            if row.get(name) and not self.text.get(name):
                self.text[name] = row[name]
        self.session_ids.add(row.get("SessionId", ""))
        self.n += 1


def _epoch(text: str) -> float:
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ImportFormatError(f"{NAME}: _time {text!r} is not a timestamp") from None


def _is_header(cells: list[str]) -> bool:
    return "_time" in cells and ("CurrentLap" in cells or "SpeedMs" in cells)


def _read(lines: Iterable[str]) -> tuple[array[float], _Columns]:
    times = array("d")
    cols = _Columns()
    header: list[str] | None = None
    for line_no, cells in enumerate(csv.reader(lines), start=1):
        if not cells or not any(cells) or cells[0].startswith("#"):
            continue
        if _is_header(cells):
            check_columns(NAME, len(cells))
            header = cells
            continue
        if header is None:
            raise ImportFormatError(
                f"{NAME}: line {line_no} has data before any header row (header removed?)"
            )
        if len(cells) != len(header):
            raise ImportFormatError(
                f"{NAME}: line {line_no} has {len(cells)} cells, its header {len(header)}"
            )
        if cols.n >= MAX_ROWS:
            raise ImportFormatError(f"{NAME}: more than {MAX_ROWS} rows; not one session")
        row = dict(zip(header, cells, strict=True))
        times.append(_epoch(row["_time"]))
        cols.add(row)
        _check_size(cols)
    if cols.n < 2:
        raise ImportFormatError(f"{NAME}: fewer than two samples")
    return times, cols


def _check_size(cols: _Columns) -> None:
    # each header may bring new fields, and every field is kept for every row
    check_columns(NAME, len(cols.data))
    check_cells(NAME, cols.n, len(cols.data) + 1)


def _check_lap_count(raw: dict[str, FloatArray]) -> None:
    """Refuse a lap counter that changes more often than any session has laps, before cutting laps."""
    lap_no = raw["CurrentLap"]
    lap_no = lap_no[np.isfinite(lap_no)]
    check_laps(NAME, int(np.count_nonzero(lap_no[1:] != lap_no[:-1])) + 1)


def import_crewchief(lines: Iterable[str]) -> ImportedSession:
    """Parse a Crew Chief/InfluxDB CSV export (text lines, already decompressed)."""
    times, cols = _read(lines)
    order = np.argsort(np.frombuffer(times, dtype=np.float64), kind="stable")
    epoch = np.frombuffer(times, dtype=np.float64)[order]
    keep = np.concatenate(([True], np.diff(epoch) > 0))  # the same instant twice: keep the first
    order, epoch = order[keep], epoch[keep]
    raw = {name: np.frombuffer(col, dtype=np.float64)[order] for name, col in cols.data.items()}
    if "CurrentLap" not in raw:
        raise ImportFormatError(f"{NAME}: no CurrentLap field")
    t = epoch - epoch[0]
    ours = {"t": t} | {_OURS[f][0]: raw[f] * _OURS[f][1] for f in _OURS if f in raw}
    if "speed" not in ours:
        raise ImportFormatError(f"{NAME}: no SpeedMs field")
    clamp_pedals(ours)
    game_name = cols.text.get("GameName") or ""
    stage = bool(_STAGE_GAME.search(game_name))
    if not stage:
        _check_lap_count(raw)
    laps = [] if stage else _laps(t, raw)
    line_to_line = laps[1:]  # lap 1 may be timed by the game yet logged from mid-lap
    length = _game_length(t, ours, line_to_line) or track_length(t, ours["speed"], line_to_line)
    laps = judge_partial(t, ours["speed"], laps, length)
    ours |= {k: v for k, v in lap_channels(t, ours["speed"], laps).items() if k not in ours}
    extra = {f.lower(): v for f, v in raw.items() if f not in _OURS and f != "CurrentLap"}
    kind, kind_warning = _kind(cols.text.get("SessionTypeName"))
    return ImportedSession(
        source_format="crewchief_csv",
        game=_game(game_name),
        track=cols.text.get("TrackCode"),
        car=cols.text.get("CarModel"),
        kind=kind,
        started_at=datetime.fromtimestamp(epoch[0], tz=UTC),
        track_length_m=None if stage else length,
        channels=ours,
        extra=extra,
        extra_units={k: _EXTRA_UNITS.get(k, "") for k in extra},
        laps=laps,
        meta={k: v for k, v in cols.text.items() if k in ("GameName", "SessionId")},
        warnings=kind_warning + _warnings(cols, laps, stage),
    )


def _kind(name: str | None) -> tuple[str | None, list[str]]:
    """Our session kind for Crew Chief's SessionTypeName, and a warning when we had to guess."""
    low = (name or "").strip().lower()
    if not low:
        return None, []
    if low in _KINDS:
        return _KINDS[low], []
    kind = next((k for word, k in _KIND_WORDS if word in low), None)
    if kind is not None:
        return kind, [f"{NAME}: session type {name!r} imported as {kind}"]
    return DEFAULT_KIND, [f"{NAME}: session type {name!r} is not one we know; imported as {DEFAULT_KIND}"]


def _game(name: str | None) -> str | None:
    """Our short game name: the five we stream by their codes, others as a slug of their name."""
    if not name:
        return None
    name = name.strip()
    known = _GAMES.get(name) or _GAMES_SHORT.get(name)
    if known:
        return known
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return slug[:GAME_NAME_MAX].strip("_") or None


def _warnings(cols: _Columns, laps: list[ImportedLap], stage: bool) -> list[str]:
    found = []
    if len(cols.session_ids - {""}) > 1:
        found.append(f"{NAME}: rows from {len(cols.session_ids - {''})} sessions; imported as one")
    if stage:
        found.append(f"{NAME}: no laps: {cols.text.get('GameName')} drives stages; imported as a trace only")
    elif not any(lap.complete for lap in laps):
        found.append(f"{NAME}: no complete lap (CurrentLap never changes twice)")
    return found


def _crossing(t: FloatArray, raw: dict[str, FloatArray], i: int) -> float:
    """Time the car crossed the line, between sample i-1 (old lap) and i (new lap)."""
    dist, speed = raw.get("DistanceRoundTrack"), raw.get("SpeedMs")
    if dist is None or speed is None:
        return float(t[i])
    # the first sample a little past the line; AMS2 clamps the first one to 0.0 m
    for k in range(i, min(i + 3, len(t))):
        v = (speed[i - 1] + speed[k]) / 2  # metres per second
        if v > 1 and 0.2 < dist[k] < v * (t[k] - t[i - 1]) + 5:
            return float(np.clip(t[k] - dist[k] / v, t[i - 1], t[k]))
    return float(t[i])


def _laps(t: FloatArray, raw: dict[str, FloatArray]) -> list[ImportedLap]:
    """Laps cut where CurrentLap changes, timed by the game's LapTimePrevious only."""
    lap_no = _forward_fill(raw["CurrentLap"])
    changes = np.flatnonzero(lap_no[1:] != lap_no[:-1]) + 1
    edges = [0.0, *(_crossing(t, raw, int(i)) for i in changes), float(t[-1])]
    bounds = [0, *changes.tolist(), len(t)]  # sample index ranges of the laps
    laps: list[ImportedLap] = []
    for j in range(len(edges) - 1):
        game_time = _game_time(raw.get("LapTimePrevious"), bounds, j)
        start, end = edges[j], edges[j + 1]
        if j == 0 and game_time is not None and end - start - game_time > FIRST_LAP_SLACK_S:
            start = end - game_time  # the log began before the lap did (grid, uncounted out-lap)
        complete = 0 < j < len(edges) - 2 or game_time is not None
        number = int(lap_no[bounds[j]]) if np.isfinite(lap_no[bounds[j]]) else j + 1
        laps.append(
            ImportedLap(
                number,
                start,
                end,
                game_time if game_time is not None else end - start,
                _valid(raw, bounds, j) if game_time is not None or complete else None,
                None,
                complete,
                GAME if game_time is not None else UNTIMED,
            )
        )
    return laps


def _game_time(prev: FloatArray | None, bounds: list[int], j: int) -> float | None:
    """The game's time for lap j: the first LapTimePrevious in lap j+1 that differs from
    the value lap j ended with (SOURCES.md's ground truth); None when the game gave none."""
    if prev is None or j + 2 >= len(bounds):
        return None
    ended = _last_finite(prev[bounds[j] : bounds[j + 1]])
    following = prev[bounds[j + 1] : bounds[j + 2]]
    following = following[np.isfinite(following)]
    changed = following[following != ended] if ended is not None else following
    if not len(changed) or changed[0] <= 0:
        return None
    return float(changed[0])


def _valid(raw: dict[str, FloatArray], bounds: list[int], j: int) -> bool | None:
    """PreviousLapWasValid as it stands at the end of the next lap (None when unknown)."""
    ok = raw.get("PreviousLapWasValid")
    if ok is None or j + 2 >= len(bounds):
        return None
    flag = _last_finite(ok[bounds[j + 1] : bounds[j + 2]])
    return None if flag is None else flag > 0.5


def _last_finite(values: FloatArray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if len(finite) else None


def _game_length(t: FloatArray, ours: dict[str, FloatArray], laps: list[ImportedLap]) -> float | None:
    """Median lap length from the game's DistanceRoundTrack (m), carried on to the line.

    The game's distance beats our speed integral, which the 10 Hz files overestimate by
    ~0.4 %; the last sample of a lap is up to one sample interval short of the line.
    """
    dist, speed = ours.get("lap_dist"), ours["speed"] / MS_TO_KMH
    if dist is None:
        return None
    lengths = []
    known = np.flatnonzero(np.isfinite(dist))  # sample indices with a distance, in time order
    t_known = t[known]
    for lap in laps:
        # the last sample with a distance in [start, end): a binary search, not a mask per lap
        pos = np.searchsorted(t_known, lap.end_t, side="left") - 1
        if lap.complete and pos >= 0 and t[known[pos]] >= lap.start_t:
            last = known[pos]
            lengths.append(dist[last] + speed[last] * (lap.end_t - t[last]))
    return float(np.median(lengths)) if lengths else None


def _forward_fill(values: FloatArray) -> FloatArray:
    idx = np.where(np.isfinite(values), np.arange(len(values)), 0)
    np.maximum.accumulate(idx, out=idx)
    return values[idx]
