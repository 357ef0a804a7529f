"""The one lap rule (DESIGN.md), shared by live segmentation and every importer, and a completed
lap as the lap segmenter (apps.telemetry) hands it to `lap_create`. No Django."""

from __future__ import annotations

from dataclasses import dataclass

# Where a lap's time comes from (ImportedLap.timing, Lap.stats["timing"]).
GAME, BEACON, MEASURED, UNTIMED = "game", "beacon", "measured", "untimed"
TIMED = (GAME, BEACON, MEASURED)
# A lap "covers the track" when its distance is within this fraction of the track length.
# It has to absorb our speed integral's error (≈0.5 % at 10 Hz, see crewchief.py) and a
# lap logged from a few metres past the line; a reset, a tow to the pits or a log that
# starts or stops mid-lap leaves far more than 5 % out (the fixtures' partial laps cover
# 3 % and 42 % of the track).
LAP_LENGTH_TOLERANCE = 0.05


@dataclass
class CompletedLap:
    number: int
    t_start: float
    t_end: float
    time_s: float
    timing: str  # "game" when the game reported the time, "untimed" when it said it has none, else "measured"
    sectors_s: list[float]
    valid: bool
    is_out_lap: bool
    is_in_lap: bool
    partial: bool  # we did not see the lap from its start (agent joined mid-lap)
    fuel_used_l: float | None


@dataclass(frozen=True)
class LapTruth:
    """What the one lap rule says of one lap: where its time comes from, the time, partial."""

    timing: str  # GAME, BEACON, MEASURED or UNTIMED
    time_s: float  # the timed lap time, or for an untimed lap its measured duration
    partial: bool

    @property
    def timed(self) -> bool:
        return self.timing in TIMED


def covers_track(distance_m: float | None, track_length_m: float | None) -> bool | None:
    """Whether a lap's distance is the track length within LAP_LENGTH_TOLERANCE (None: unknown)."""
    if distance_m is None or not track_length_m or track_length_m <= 0:
        return None
    return abs(distance_m / track_length_m - 1.0) <= LAP_LENGTH_TOLERANCE


def lap_truth(
    *,
    given_s: float | None,
    measured_s: float,
    distance_m: float | None,
    track_length_m: float | None,
    given_by: str = GAME,
    may_measure: bool = False,
    line_to_line: bool = False,
) -> LapTruth:
    """The one lap rule (DESIGN.md) for one lap, shared by every importer and live laps.

    - `given_s` is the lap's own time from the file: the game's (`given_by` GAME) or the
      span between two lap markers (BEACON); None, or a value <= 0 (games write -1), means
      the file gave none. A given time always wins over our measurement.
    - Without one, a lap is MEASURED only where the format never carries lap times
      (`may_measure`, e.g. Garage 61) and its distance covers the track within
      LAP_LENGTH_TOLERANCE; otherwise it is UNTIMED and `time_s` is its measured duration,
      which is never a lap time. A live lap seen from line to line (`line_to_line`: the
      game's lap counter moved at both ends, no hole in the stream) covers the track by
      construction, whatever its distance reads.
    - It is partial when its distance falls short of the track length by more than
      LAP_LENGTH_TOLERANCE; unknown distance or length never makes a lap partial.
    """
    covers = covers_track(distance_m, track_length_m)
    partial = (
        covers is False
        and distance_m is not None
        and track_length_m is not None
        and distance_m < track_length_m  # a longer lap (pit lane, an off) still covers the track
    )
    if given_s is not None and given_s > 0:
        return LapTruth(given_by, float(given_s), partial)
    if may_measure and (covers or line_to_line):
        return LapTruth(MEASURED, float(measured_s), partial)
    return LapTruth(UNTIMED, float(measured_s), partial)
