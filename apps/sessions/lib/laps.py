"""A completed lap as the lap segmenter (apps.telemetry) hands it to `lap_create`. No Django."""

from __future__ import annotations

from dataclasses import dataclass


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
