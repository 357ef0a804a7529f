"""Template filters for lap times: 138802 → "2:18.802", sector 38504 → "38.504"."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def laptime(ms: float | None) -> str:
    # Django hands a missing value in as "" (a session without a best lap: `best.time_ms`)
    if not isinstance(ms, int | float) or ms <= 0:
        return "–"
    minutes, rest = divmod(round(ms), 60_000)
    return f"{minutes}:{rest / 1000:06.3f}"


@register.filter
def seconds(ms: float | None) -> str:
    """A duration in ms as seconds to the thousandth (sectors, spreads)."""
    return "–" if ms is None else f"{ms / 1000:.3f}"


@register.filter
def signed(value: float | None, digits: int = 3) -> str:
    """+0.123 / -0.045: a time or distance delta with its sign."""
    return "–" if value is None else f"{value:+.{int(digits)}f}"
