"""The one channel model shared by the agent and the server.

Every game reader converts its data into frames keyed by these names, in these units, and
the server validates incoming batches against the same table, so the two can never disagree
about a frame. Channels are only ever appended: a channel's id is its position in CHANNELS
and travels on the wire instead of its name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Kind = Literal["f", "i", "b"]  # float, integer, boolean
WHEELS: Final = ("fl", "fr", "rl", "rr")
GAMES: Final = ("acc", "r3e", "lmu", "rf2", "ams2", "demo", "iracing")
SESSION_KINDS: Final = ("practice", "qualifying", "race", "hotlap")

# Frames are plain dicts: channel name -> value in the channel's unit.
Frame = dict[str, float]
# A frame at the wire's resolution: channel id -> value / resolution as an integer. The
# producer makes these once; the spool stores them and the uplink packs them as they are.
QFrame = dict[int, int]


@dataclass(frozen=True)
class Channel:
    name: str
    unit: str
    kind: Kind
    resolution: float  # quantisation step on the wire, in the channel's unit
    lo: float  # plausible range; values outside it are rejected as corrupt
    hi: float
    label: str


def _wheels(stem: str, unit: str, res: float, lo: float, hi: float, label: str) -> list[Channel]:
    return [Channel(f"{stem}_{w}", unit, "f", res, lo, hi, f"{label} {w.upper()}") for w in WHEELS]


CHANNELS: Final[tuple[Channel, ...]] = (
    # time: seconds since the Unix epoch, carried on the wire in whole milliseconds
    Channel("t", "s", "f", 0.001, 0.0, 4.1e9, "Time"),
    Channel("lap", "", "i", 1, 0, 10_000, "Lap number (1 = first lap driven)"),
    Channel("lap_dist", "m", "f", 0.01, -100.0, 50_000.0, "Distance into the lap"),
    Channel("lap_time", "s", "f", 0.001, -1.0, 36_000.0, "Current lap time"),
    Channel("last_lap_time", "s", "f", 0.001, -1.0, 36_000.0, "Last lap time (game), -1 none"),
    Channel("best_lap_time", "s", "f", 0.001, -1.0, 36_000.0, "Best lap time (game), -1 none"),
    Channel("sector", "", "i", 1, 0, 9, "Sector index (0-based)"),
    Channel("lap_valid", "", "b", 1, 0, 1, "Current lap valid"),
    Channel("in_pit", "", "b", 1, 0, 1, "In pit lane"),
    Channel("speed", "km/h", "f", 0.01, -5.0, 600.0, "Speed"),
    Channel("rpm", "1/min", "f", 1, 0.0, 25_000.0, "Engine speed"),
    Channel("max_rpm", "1/min", "f", 1, 0.0, 25_000.0, "Engine limiter"),
    Channel("gear", "", "i", 1, -1, 12, "Gear (-1 R, 0 N)"),
    Channel("throttle", "", "f", 0.001, 0.0, 1.0, "Throttle"),
    Channel("brake", "", "f", 0.001, 0.0, 1.0, "Brake"),
    Channel("clutch", "", "f", 0.001, 0.0, 1.0, "Clutch"),
    Channel("steering", "", "f", 0.001, -1.0, 1.0, "Steering (-1 left .. 1 right)"),
    Channel("pos_x", "m", "f", 0.01, -100_000.0, 100_000.0, "World X"),
    Channel("pos_y", "m", "f", 0.01, -100_000.0, 100_000.0, "World Y (up)"),
    Channel("pos_z", "m", "f", 0.01, -100_000.0, 100_000.0, "World Z"),
    Channel("g_lat", "g", "f", 0.001, -10.0, 10.0, "Lateral acceleration"),
    Channel("g_lon", "g", "f", 0.001, -10.0, 10.0, "Longitudinal acceleration"),
    *_wheels("tyre_temp", "°C", 0.1, -50.0, 400.0, "Tyre temperature"),
    *_wheels("tyre_temp_in", "°C", 0.1, -50.0, 400.0, "Tyre inner"),
    *_wheels("tyre_temp_mid", "°C", 0.1, -50.0, 400.0, "Tyre middle"),
    *_wheels("tyre_temp_out", "°C", 0.1, -50.0, 400.0, "Tyre outer"),
    *_wheels("tyre_press", "kPa", 0.1, 0.0, 1000.0, "Tyre pressure"),
    *_wheels("tyre_wear", "%", 0.1, 0.0, 100.0, "Tyre wear (0 new, 100 gone)"),
    *_wheels("brake_temp", "°C", 0.1, -50.0, 2000.0, "Brake temperature"),
    *_wheels("wheel_slip", "", 0.001, -1.0, 50.0, "Slip ratio (-1 locked, >0 spinning)"),
    Channel("fuel", "l", "f", 0.01, 0.0, 1000.0, "Fuel"),
    Channel("fuel_capacity", "l", "f", 0.1, 0.0, 1000.0, "Fuel capacity"),
    Channel("water_temp", "°C", "f", 0.1, -50.0, 300.0, "Water temperature"),
    Channel("oil_temp", "°C", "f", 0.1, -50.0, 300.0, "Oil temperature"),
    Channel("abs_active", "", "b", 1, 0, 1, "ABS intervening"),
    Channel("tc_active", "", "b", 1, 0, 1, "TC intervening"),
    Channel(
        "flag", "", "i", 1, 0, 9, "Flag (0 none, 1 blue, 2 yellow, 3 black, 4 white, 5 chequered, 7 green)"
    ),
    # The game's own splits of the lap that just ended, as lap times at the end of sectors 1
    # and 2 (so sector 3 is last_lap_time minus the second): what the game timed, where the
    # sector channel can only say in which 50 Hz frame the boundary was passed.
    Channel(
        "last_split1", "s", "f", 0.001, -1.0, 36_000.0, "Last lap: time at end of sector 1 (game), -1 none"
    ),
    Channel(
        "last_split2", "s", "f", 0.001, -1.0, 36_000.0, "Last lap: time at end of sector 2 (game), -1 none"
    ),
    Channel("position", "", "i", 1, 0, 255, "Race position (1 = leading, 0 unknown)"),
    Channel("gap_ahead", "s", "f", 0.001, -1.0, 36_000.0, "Time behind the car ahead (game), -1 none"),
    Channel("gap_leader", "s", "f", 0.001, -1.0, 36_000.0, "Time behind the leader (game), -1 none"),
    # Conditions: what a lap time means depends on them (leaderboards filter by track temperature).
    Channel("air_temp", "°C", "f", 0.1, -60.0, 70.0, "Air temperature"),
    Channel("track_temp", "°C", "f", 0.1, -60.0, 90.0, "Track temperature"),
)

BY_NAME: Final[dict[str, Channel]] = {c.name: c for c in CHANNELS}
CHANNEL_ID: Final[dict[str, int]] = {c.name: i for i, c in enumerate(CHANNELS)}
# Every frame carries these; everything else is optional (a game that lacks a channel omits it).
REQUIRED: Final = ("t", "lap", "lap_dist", "lap_time", "speed")

PSI_TO_KPA: Final = 6.894757
MS_TO_KMH: Final = 3.6
KELVIN: Final = 273.15
