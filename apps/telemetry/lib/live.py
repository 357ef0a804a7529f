"""Shaping the live stream for screens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from simcoach_agent.channels import CHANNELS, Channel

# Decimals worth sending to a screen per unit; fewer digits, smaller JSON for every viewer.
_DIGITS = {"s": 3, "m": 1, "km/h": 1, "1/min": 0, "°C": 1, "kPa": 1, "%": 1, "l": 2, "g": 2, "": 3}


def _decimals(ch: Channel) -> int | None:
    return _DIGITS.get(ch.unit, 3) if ch.kind == "f" else None


# Per channel: decimals to round to, or None for integer channels. Built once, not per frame.
_ROUNDING: dict[str, int | None] = {c.name: _decimals(c) for c in CHANNELS}


def frame_for_viewers(cols: Mapping[str, Sequence[float] | np.ndarray]) -> dict[str, float]:
    """The newest frame of a batch, rounded for display."""
    out: dict[str, float] = {}
    for name, values in cols.items():
        value = float(values[-1])
        digits = _ROUNDING.get(name)
        out[name] = int(value) if digits is None else round(value, digits)
    return out
