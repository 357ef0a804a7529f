"""The real recordings the import tests feed in, and what each must produce.

Truths come from SOURCES.md and the files themselves, not from our parser: the real track
lengths, Crew Chief's own `LapTimePrevious` read straight from the CSV by the ground-truth
rule (`crewchief_truth`, written apart from the importer), the .ld's lap markers, Garage
61's lap time in its file name. Every file under fixtures/ (but the iRacing .ibt files,
another importer's) is a case here.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from apps.sessions.models import Lap, Session
from apps.sessions.selectors import session_lap_table
from apps.traces.tracestore import get_trace_store

IMOLA = "acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld"
BARCELONA = "acc/Barcelona-bmw_m4_gt3-3-2024.06.12-18.40.53"
G61_LIME_ROCK = (
    "garage61/Garage 61 - Master Lonn - Ray FF1600 - Lime Rock Park (Grand Prix) - 00.57.444 - "
    "01KDQZM87N38QEV1M09J43APE5.csv"
)
G61_WINTON = (
    "garage61/Garage 61 - Lonn Ponn - Ray FF1600 - Winton Motor Raceway (National Circuit) - 01.26.439 - "
    "01KDAWVAEK79DMWXX8A1H9NYN4.csv"
)
TIME_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class Case:
    path: str
    track_length_m: float | None  # the real track; None where the file holds no timed lap
    length_tolerance: float = 0.02
    meta: dict[str, str] = field(default_factory=dict)  # what the form/CLI adds
    ldx: str | None = None  # the .ld's sidecar, next to it
    # The file's own lap times, by lap number (None: the game gave none). Crew Chief
    # files take them from `crewchief_truth` instead.
    lap_times: dict[int, float | None] | None = None
    partial: frozenset[int] = frozenset()  # lap numbers that cover well short of the track
    game: str | None = None  # the game the session must end up with
    kind: str | None = None


CASES = {
    # ACC writes no lap markers into this .ld (no .ldx): one untimed stretch of ≈ 2 laps
    "imola_ld": Case(IMOLA, None, meta={"kind": "practice"}, lap_times={1: None}, game="acc"),
    # ACC's empty Beacons: one flying lap it did not time, ending with the driving channels
    "barcelona_ld": Case(f"{BARCELONA}.ld", None, ldx=f"{BARCELONA}.ldx", lap_times={1: None}, game="acc"),
    # Road Atlanta, 4 088 m; 4 727 rows at 60 Hz make the lap time
    "garage61": Case(
        "garage61/sample_lap.csv.gz",
        4088,
        meta={"track": "Road Atlanta", "car": "Mazda MX-5 Cup", "kind": "hotlap"},
        lap_times={1: 4727 / 60},
        game="iracing",
    ),
    # Garage 61's own times are in the file names. Lime Rock: the file's geometry (Lat/Lon
    # path 2 338 m) and the AC recording below (2 343 m) agree: 2.4 % under 2.4 km.
    "garage61_lime_rock": Case(
        G61_LIME_ROCK,
        2400,
        length_tolerance=0.03,
        meta={"track": "Lime Rock Park", "car": "Ray FF1600", "kind": "hotlap"},
        lap_times={1: 57.444},
        game="iracing",
    ),
    "garage61_winton": Case(
        G61_WINTON,
        3000,  # Winton National Circuit, 3.0 km
        meta={"track": "Winton National", "car": "Ray FF1600", "kind": "practice"},
        lap_times={1: 86.439},
        game="iracing",
    ),
    "road_america": Case(
        "crewchief/session_1683388042_df.csv.gz", 6515, partial=frozenset({18}), game="ams2", kind="race"
    ),
    "magny_cours": Case(
        "crewchief/session_1681021274_df.csv.gz",
        4411,
        partial=frozenset({10}),
        game="iracing",
        kind="practice",
    ),
    # AC's chicane layout measures 2 343 m by its own lap distance: 2.4 % under 2.4 km
    "lime_rock": Case(
        "crewchief/session_1673613558_df.csv.gz",
        2400,
        length_tolerance=0.03,
        partial=frozenset({17}),
        game="ac",
        kind="qualifying",
    ),
    # The lap the log stops in (5 591 m of Road America's 6 515): with no whole lap the file
    # does not tell the track's length, so it cannot be called partial; it is untimed anyway.
    "road_america_lap": Case("crewchief/lap_40781_df.csv.gz", None, game="ams2", kind="race"),
    # laps the game did not time and a lap of 67 m of 2 469 m
    "charlotte": Case(
        "crewchief/session_1680321341_df.csv.gz",
        2469,
        partial=frozenset({4, 11}),
        game="iracing",
        kind="qualifying",
    ),
    # LonePractice, and a lap of 809 of 1 930 m
    "okayama": Case(
        "crewchief/session_1694266648_df.csv.gz",
        1930,
        partial=frozenset({3, 6}),
        game="iracing",
        kind="practice",
    ),
    # a Richard Burns Rally stage: no laps at all
    "rally": Case("crewchief/session_1703706617_df.csv.gz", None, lap_times={}, game="rbr", kind="race"),
}


def crewchief_truth(path: Path) -> dict[int, float | None]:
    """Each lap's time by SOURCES.md's rule, read from the CSV without our importer.

    Lap k's time is the first LapTimePrevious seen in lap k+1 that differs from the value
    lap k ended with; -1 (or no such value, or no lap k+1) means the game gave none.
    """
    rows: list[tuple[datetime, int, float]] = []
    with gzip.open(path, "rt", newline="") as f:
        header: list[str] | None = None
        for cells in csv.reader(f):
            if not cells or cells[0].startswith("#") or not any(cells):
                continue
            if "_time" in cells:
                header = cells
                continue
            assert header is not None
            row = dict(zip(header, cells, strict=True))
            if row.get("CurrentLap") in (None, ""):
                continue
            stamp = datetime.fromisoformat(row["_time"].replace("Z", "+00:00"))
            rows.append((stamp, int(float(row["CurrentLap"])), float(row.get("LapTimePrevious") or "nan")))
    rows.sort(key=lambda r: r[0])
    laps: list[tuple[int, list[float]]] = []
    for _, number, previous in rows:
        if not laps or laps[-1][0] != number:
            laps.append((number, []))
        if not np.isnan(previous):
            laps[-1][1].append(previous)
    truth: dict[int, float | None] = {}
    for (number, values), following in zip(laps, [*laps[1:], None], strict=True):
        ended = values[-1] if values else None
        changed = [v for v in (following[1] if following else []) if v != ended]
        truth[number] = changed[0] if changed and changed[0] > 0 else None
    return truth


def expected_lap_times(fixtures_dir: Path, case: Case) -> dict[int, float | None]:
    if case.lap_times is not None:
        return case.lap_times
    return crewchief_truth(fixtures_dir / case.path)


def session_trace(session: Session) -> dict[str, np.ndarray]:
    return get_trace_store().read(session_id=session.pk, t0=0, t1=4e9)


def assert_imported_like_the_file(session: Session, case: Case, truth: dict[int, float | None]) -> None:
    """Laps, their times and flags, the best lap, track length and channels against the file."""
    laps = list(Lap.objects.filter(session=session).order_by("number"))
    assert [lap.number for lap in laps] == sorted(truth)
    for lap in laps:
        want = truth[lap.number]
        partial = lap.number in case.partial
        assert lap.stats["partial"] == partial, (lap.number, lap.stats)
        assert lap.stats["duration_s"] == round(lap.t_end - lap.t_start, 3)
        if want is None:
            assert (lap.time_ms, lap.valid, lap.stats["timing"]) == (None, False, "untimed"), lap.number
        else:
            assert lap.time_ms is not None and abs(lap.time_ms / 1000 - want) <= TIME_TOLERANCE_S, (
                lap.number,
                lap.time_ms,
                want,
            )
            assert lap.stats["timing"] in ("game", "beacon", "measured")
        if partial:
            assert not lap.valid
    _assert_best_lap(session, laps)
    if case.track_length_m is not None:
        assert (
            abs(session.track.length_m - case.track_length_m) <= case.length_tolerance * case.track_length_m
        ), session.track.length_m
    if case.game is not None:
        assert session.game == case.game
    if case.kind is not None:
        assert session.kind == case.kind
    _assert_sane_channels(session_trace(session), session)


def _assert_best_lap(session: Session, laps: list[Lap]) -> None:
    """The session's best lap is the fastest complete valid timed lap, never a partial one."""
    best = session_lap_table(session=session)["best"]
    candidates = [
        lap
        for lap in laps
        if lap.time_ms and lap.valid and not lap.stats["partial"] and lap.stats["timing"] != "untimed"
    ]
    candidates = [lap for lap in candidates if not lap.is_out_lap and not lap.is_in_lap]
    if not candidates:
        assert best is None
        return
    assert best is not None and best.time_ms == min(lap.time_ms for lap in candidates)  # type: ignore[type-var]
    assert not best.stats["partial"] and best.stats["timing"] != "untimed"


def _assert_sane_channels(trace: dict[str, np.ndarray], session: Session) -> None:
    # InfluxDB keeps one point per millisecond: Crew Chief's irregular MQTT clock repeats a few
    assert session.frame_count >= len(trace["t"]) >= 0.99 * session.frame_count
    assert np.all(np.diff(trace["t"]) >= 0)
    assert trace["t"][0] >= session.started_at.timestamp() - 1  # epoch seconds, like streamed laps
    # km/h; the rally car rolls back at 0.3 km/h once (our speed channel allows down to -5)
    assert -1 <= np.nanmin(trace["speed"]) and 50 < np.nanmax(trace["speed"]) < 400
    assert 0 <= np.nanmin(trace["throttle"]) and np.nanmax(trace["throttle"]) <= 1
    gears = set(np.unique(trace["gear"][np.isfinite(trace["gear"])]).tolist())
    assert gears <= set(range(-1, 9)) and max(gears) >= 3


def fixture_file(fixtures_dir: Path, case: Case) -> Path:
    return fixtures_dir / case.path
