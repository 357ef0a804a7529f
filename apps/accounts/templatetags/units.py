"""Template filters that show a stored value in the viewer's units: `{{ v|speed:units }}`.

`units` is in every template's context (simcoach_site/context.py); values come in the
channel model's units (km/h, kPa, °C) and leave as text with their unit ("88 mph")."""

from __future__ import annotations

from django import template

from simcoach_site.lib.units import Units, display_unit, fmt

register = template.Library()


@register.filter
def speed(value: object, units: Units) -> str:
    return fmt(value, "km/h", units)


@register.filter
def pressure(value: object, units: Units) -> str:
    return fmt(value, "kPa", units)


@register.filter
def temperature(value: object, units: Units) -> str:
    return fmt(value, "°C", units)


@register.simple_tag
def unit_value(value: object, stored_unit: str, units: Units, digits: int | None = None) -> str:
    """A bare number in the viewer's units (no unit), for cells under a heading naming it."""
    text = fmt(value, stored_unit, units, digits=digits)
    shown = display_unit(stored_unit, units)
    return text.removesuffix(f" {shown}") if shown else text


@register.filter
def unit_of(units: Units, stored_unit: str) -> str:
    """The unit a heading names: `{{ units|unit_of:"km/h" }}` → "mph"."""
    return display_unit(stored_unit, units)
