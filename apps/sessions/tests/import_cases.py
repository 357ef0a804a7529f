"""The real recordings the import tests feed in, and what each must produce.

Truths come from SOURCES.md and the files themselves, not from our parser: the real track
lengths, Crew Chief's own `LapTimePrevious` (kept in the trace as `last_lap_time`), the .ld's
lap markers, Garage 61's 60 Hz row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from apps.sessions.models import Lap, Session
from apps.traces.tracestore import get_trace_store

IMOLA = "acc/Imola-porsche_991ii_gt3_r-2-2021.12.02-21.13.58.ld"


@dataclass(frozen=True)
class Case:
    path: str
    complete_laps: int
    track_length_m: float | None  # the real track; None where the file holds no whole lap
    length_tolerance: float = 0.02
    meta: dict[str, str] = field(default_factory=dict)  # what the form/CLI adds
    lap_time_s: float | None = None  # the file's own time of its one complete lap, if fixed


CASES = {
    # ACC writes no lap markers into this .ld (no .ldx): one out-lap plus about one lap
    "imola_ld": Case(IMOLA, 0, None, meta={"kind": "practice"}),
    # Road Atlanta, 4 088 m; 4 727 rows at 60 Hz make the lap time
    "garage61": Case(
        "garage61/sample_lap.csv.gz",
        1,
        4088,
        meta={"track": "Road Atlanta", "car": "Mazda MX-5 Cup", "kind": "hotlap"},
        lap_time_s=4727 / 60,
    ),
    "road_america": Case("crewchief/session_1683388042_df.csv.gz", 16, 6515),
    "magny_cours": Case("crewchief/session_1681021274_df.csv.gz", 8, 4411),
    # AC's chicane layout measures 2 343 m by its own lap distance: 2.4 % under 2.4 km
    "lime_rock": Case("crewchief/session_1673613558_df.csv.gz", 15, 2400, length_tolerance=0.03),
    "road_america_lap": Case("crewchief/lap_40781_df.csv.gz", 0, None),
}


def session_trace(session: Session) -> dict[str, np.ndarray]:
    return get_trace_store().read(session_id=session.pk, t0=0, t1=4e9)


def assert_imported_like_the_file(session: Session, case: Case) -> None:
    """Laps, lap times, track length and channel ranges of a stored import against the file."""
    laps = list(Lap.objects.filter(session=session).order_by("number"))
    complete = [lap for lap in laps if lap.stats["complete"]]
    assert len(complete) == case.complete_laps
    assert all(lap.time_ms is None for lap in laps if not lap.stats["complete"])
    trace = session_trace(session)
    _assert_lap_times(complete, trace, case)
    if case.track_length_m is not None:
        assert (
            abs(session.track.length_m - case.track_length_m) <= case.length_tolerance * case.track_length_m
        )
    _assert_sane_channels(trace, session)


def _assert_lap_times(complete: list[Lap], trace: dict[str, np.ndarray], case: Case) -> None:
    if case.lap_time_s is not None:
        assert [abs(lap.time_ms / 1000 - case.lap_time_s) <= 0.05 for lap in complete] == [True]
        return
    if "last_lap_time" not in trace:
        return
    timed = [lap for lap in complete if lap.stats["timing"] == "game"]
    assert timed or not complete, "a Crew Chief session has laps the game timed"
    for lap in timed:
        # LapTimePrevious during the next lap is the game's time of this one (-1 while unknown)
        during_next = trace["last_lap_time"][trace["lap"] == lap.number + 1]
        recorded = float(np.median(during_next[during_next > 0]))
        assert abs(lap.time_ms / 1000 - recorded) <= 0.05, (lap.number, lap.time_ms, recorded)


def _assert_sane_channels(trace: dict[str, np.ndarray], session: Session) -> None:
    # InfluxDB keeps one point per millisecond: Crew Chief's irregular MQTT clock repeats a few
    assert session.frame_count >= len(trace["t"]) >= 0.99 * session.frame_count
    assert np.all(np.diff(trace["t"]) >= 0)
    assert trace["t"][0] >= session.started_at.timestamp() - 1  # epoch seconds, like streamed laps
    assert 0 <= np.nanmin(trace["speed"]) and 50 < np.nanmax(trace["speed"]) < 400  # km/h
    assert 0 <= np.nanmin(trace["throttle"]) and np.nanmax(trace["throttle"]) <= 1
    gears = set(np.unique(trace["gear"][np.isfinite(trace["gear"])]).tolist())
    assert gears <= set(range(-1, 9)) and max(gears) >= 3


def fixture_file(fixtures_dir: Path, case: Case) -> Path:
    return fixtures_dir / case.path
