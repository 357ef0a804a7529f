"""A focus corner's numbers as words, in the reader's units: the one place they become text.

A focus stores its target, baseline and reviews as the channel model does (a braking point in
metres from the line, a minimum speed in km/h). The report, the progress page and the live
page all say them through here, so a driver who reads mph reads mph and feet everywhere a
focus appears. Pure: no Django.
"""

from __future__ import annotations

from typing import Final

from simcoach_site.lib.units import Units, distance_from_m, distance_unit, fmt, fmt_distance, speed_from_kmh

BRAKE: Final = "brake"  # FocusCorner.Kind.BRAKE; the other kind is a minimum speed
SAME_BRAKE_M: Final = 1.0  # a braking point moved less than this has not moved
SAME_SPEED_KMH: Final = 0.1


def focus_unit(kind: str, units: Units) -> str:
    return distance_unit(units) if kind == BRAKE else units.speed


def focus_number(kind: str, value: float, units: Units) -> float:
    """A stored focus number (or a change of one: neither unit has an offset) in the reader's unit."""
    return distance_from_m(value, units) if kind == BRAKE else speed_from_kmh(value, units.speed)


def focus_amount(kind: str, value: float, units: Units) -> str:
    """ "2251 m", "7385 ft", "142.3 km/h", "88.4 mph"."""
    return fmt_distance(value, units) if kind == BRAKE else fmt(value, "km/h", units, digits=1)


def target_words(kind: str, target: float, units: Units) -> str:
    """ "brake at 2251 m or later", "carry at least 88.4 mph"."""
    if kind == BRAKE:
        return f"brake at {focus_amount(kind, target, units)} or later"
    return f"carry at least {focus_amount(kind, target, units)}"


def change_words(kind: str, change: float, units: Units) -> str:
    """How far a focus number moved since last time: "12 m later", "−1.4 mph", "no change"."""
    if kind == BRAKE:
        if abs(change) < SAME_BRAKE_M:
            return "no change"
        return f"{focus_amount(kind, abs(change), units)} {'later' if change > 0 else 'earlier'}"
    if abs(change) < SAME_SPEED_KMH:
        return "no change"
    return f"{'+' if change > 0 else '−'}{focus_amount(kind, abs(change), units)}"
