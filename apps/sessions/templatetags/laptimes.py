"""Template filters for lap times: 138802 → "2:18.802", sector 38504 → "38.504"."""

from __future__ import annotations

from django import template

from simcoach_site.lib.units import Units

from ..selectors_traces import CornerRow, LapVersus

register = template.Library()


def _number(value: object) -> float | None:
    # A missing value reaches a filter as "" (the template engine's string_if_invalid), a
    # lap without a time as None: both print as a dash, never as a server error.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@register.filter
def laptime(value: object) -> str:
    ms = _number(value)
    if ms is None or ms <= 0 or ms != ms:
        return "–"
    minutes, rest = divmod(round(ms), 60_000)
    return f"{minutes}:{rest / 1000:06.3f}"


@register.filter
def seconds(value: object) -> str:
    """A duration in ms as seconds to the thousandth (sectors, spreads)."""
    ms = _number(value)
    return "–" if ms is None or ms != ms else f"{ms / 1000:.3f}"


@register.filter
def signed(value: object, digits: int = 3) -> str:
    """+0.123 / -0.045: a time or distance delta with its sign."""
    number = _number(value)
    return "–" if number is None or number != number else f"{number:+.{int(digits)}f}"


@register.filter
def losses_in(versus: LapVersus, units: Units) -> list[tuple[CornerRow, str]]:
    """`{% for r, hint in v|losses_in:units %}`: the biggest losses, hints in the viewer's units."""
    return versus.losses_in(units)
