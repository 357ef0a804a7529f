"""Display units: the one conversion module every page, report and export uses.

Values are stored in the channel model's units (agent/simcoach_agent/channels.py: km/h, kPa,
°C); a driver sees speeds, pressures and temperatures in the units they chose (`Units`). Pure:
no Django, so sessions, coaching and telemetry can all import it. The JS twin is
static/js/units.js (same factors; tests/test_units_js.py checks both agree).

Default for someone who has not chosen: from the browser's Accept-Language, en-US (and the
other countries that drive in mph and read °F, the US's territories and Liberia) → mph, °F,
psi; everyone else → km/h, °C, bar — a racing driver's pressure unit outside the US is bar
more often than kPa (tyre gauges, team sheets), while kPa stays what games and exports speak.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from simcoach_agent.channels import BY_NAME, PSI_TO_KPA

Speed = Literal["km/h", "mph"]
Pressure = Literal["kPa", "psi", "bar"]
Temperature = Literal["°C", "°F"]

SPEEDS: Final[tuple[Speed, ...]] = ("km/h", "mph")
PRESSURES: Final[tuple[Pressure, ...]] = ("kPa", "psi", "bar")
TEMPERATURES: Final[tuple[Temperature, ...]] = ("°C", "°F")

KMH_PER_MPH: Final = 1.609344  # exact: an international mile is 1609.344 m
KPA_PER_BAR: Final = 100.0
KMH_PER_MS: Final = 3.6
M_PER_FT: Final = 0.3048  # exact: the international foot
# Countries (ISO 3166) whose drivers read speed in mph and temperature in °F.
IMPERIAL_REGIONS: Final = frozenset({"US", "LR", "PR", "GU", "VI", "AS", "MP", "UM"})


@dataclass(frozen=True)
class Units:
    speed: Speed = "km/h"
    pressure: Pressure = "bar"
    temperature: Temperature = "°C"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


METRIC: Final = Units()
IMPERIAL: Final = Units(speed="mph", pressure="psi", temperature="°F")
# The units values are stored in (the channel model's): what a conversion starts from.
STORED: Final = Units(speed="km/h", pressure="kPa", temperature="°C")


class UnitError(ValueError):
    """A unit name this module does not know."""


def units_make(*, speed: str, pressure: str, temperature: str) -> Units:
    """Units from three names, or UnitError naming the bad one and the choices."""
    for value, choices, what in (
        (speed, SPEEDS, "speed"),
        (pressure, PRESSURES, "pressure"),
        (temperature, TEMPERATURES, "temperature"),
    ):
        if value not in choices:
            raise UnitError(f"unknown {what} unit {value!r}: one of {', '.join(choices)}")
    return Units(speed=speed, pressure=pressure, temperature=temperature)  # type: ignore[arg-type]


def units_for_locale(accept_language: str | None) -> Units:
    """The default for a browser: its first language tag's region decides (en-US → IMPERIAL).

    A header without a region (plain "en") or absent or garbled falls back to METRIC: most
    of the world, and a guess the user corrects once on the units page.
    """
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    parts = first.replace("_", "-").split("-")
    region = parts[1].upper() if len(parts) > 1 else ""
    return IMPERIAL if region in IMPERIAL_REGIONS else METRIC


# --------------------------------------------------------------------------- conversions


def speed_from_kmh(kmh: float, unit: str) -> float:
    if unit == "km/h":
        return kmh
    if unit == "mph":
        return kmh / KMH_PER_MPH
    if unit == "m/s":
        return kmh / KMH_PER_MS
    raise UnitError(f"not a speed unit: {unit!r}")


def pressure_from_kpa(kpa: float, unit: str) -> float:
    if unit == "kPa":
        return kpa
    if unit == "psi":
        return kpa / PSI_TO_KPA
    if unit == "bar":
        return kpa / KPA_PER_BAR
    raise UnitError(f"not a pressure unit: {unit!r}")


def temperature_from_c(c: float, unit: str, *, difference: bool = False) -> float:
    """°C in `unit`. A `difference` (10 °C hotter) scales without the 32 °F offset."""
    if unit == "°C":
        return c
    if unit == "°F":
        return c * 9 / 5 if difference else c * 9 / 5 + 32
    raise UnitError(f"not a temperature unit: {unit!r}")


# Stored unit → which preference applies to it.
QUANTITY: Final = {"km/h": "speed", "kPa": "pressure", "°C": "temperature"}


def display_unit(stored_unit: str, units: Units) -> str:
    """The unit a value stored in `stored_unit` is shown in (unchanged for m, s, l, ...)."""
    quantity = QUANTITY.get(stored_unit)
    return getattr(units, quantity) if quantity else stored_unit


def convert(value: float, stored_unit: str, units: Units, *, difference: bool = False) -> float:
    """A value in the channel model's `stored_unit` (km/h, kPa, °C, or anything else, left
    as it is) in the user's units."""
    if stored_unit == "km/h":
        return speed_from_kmh(value, units.speed)
    if stored_unit == "kPa":
        return pressure_from_kpa(value, units.pressure)
    if stored_unit == "°C":
        return temperature_from_c(value, units.temperature, difference=difference)
    return value


def linear(stored_unit: str, units: Units) -> tuple[float, float]:
    """(scale, offset) with shown = stored * scale + offset: for whole arrays at once (every
    conversion here is linear; °F is the only one with an offset)."""
    offset = convert(0.0, stored_unit, units)
    return convert(1.0, stored_unit, units) - offset, offset


def channel_unit(name: str, units: Units) -> str:
    """A channel's unit as the user sees it ("speed" → "mph"); UnitError for an unknown channel."""
    if name not in BY_NAME:
        raise UnitError(f"unknown channel {name!r}")
    return display_unit(BY_NAME[name].unit, units)


# Decimals a page shows per displayed unit: a psi reads to 0.1, a bar to 0.01.
DIGITS: Final = {"km/h": 0, "mph": 0, "kPa": 0, "psi": 1, "bar": 2, "°C": 0, "°F": 0}


def fixed(value: float, places: int) -> str:
    """`value` to `places` decimals as JS's toFixed does it (ties away from zero on the exact
    binary value, where Python's format rounds ties to even), so the server's tables and the
    pages' charts never differ by one in the last digit; never "-0"."""
    exact = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{exact:f}"
    return text[1:] if text.startswith("-") and exact == 0 else text


def fmt(value: object, stored_unit: str, units: Units, *, digits: int | None = None) -> str:
    """A number in the user's units with its unit: "142 mph", "1.85 bar".

    Anything but a finite number (None, NaN, a template's "" for a missing key) is "–"."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    shown = display_unit(stored_unit, units)
    places = DIGITS.get(shown, 1) if digits is None else digits
    number = fixed(convert(value, stored_unit, units), places)
    return f"{number} {shown}" if shown else number


# --------------------------------------------------------------------------- distances


def distance_unit(units: Units) -> str:
    """The unit a lap distance is said in: feet for a driver who reads mph (there is no
    separate distance choice; everyone who drives in mph measures a braking point in feet)."""
    return "ft" if units.speed == "mph" else "m"


def distance_from_m(metres: float, units: Units) -> float:
    return metres / M_PER_FT if distance_unit(units) == "ft" else metres


def fmt_distance(metres: object, units: Units, *, digits: int = 0) -> str:
    """A distance stored in metres as the driver reads it: "1234 m", or "4049 ft"; "–" for no number."""
    if isinstance(metres, bool) or not isinstance(metres, int | float) or not math.isfinite(metres):
        return "–"
    return f"{fixed(distance_from_m(metres, units), digits)} {distance_unit(units)}"
