"""Shaping the live stream for screens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from simcoach_agent.channels import BY_NAME

# Decimals worth sending to a screen per unit; fewer digits, smaller JSON for every viewer.
_DIGITS = {"s": 3, "m": 1, "km/h": 1, "1/min": 0, "°C": 1, "kPa": 1, "%": 1, "l": 2, "g": 2, "": 3}


def frame_for_viewers(cols: Mapping[str, Sequence[float] | np.ndarray]) -> dict[str, float]:
    """The newest frame of a batch, rounded for display."""
    out: dict[str, float] = {}
    for name, values in cols.items():
        ch = BY_NAME.get(name)
        value = float(values[-1])
        out[name] = round(value, _DIGITS.get(ch.unit, 3)) if ch and ch.kind == "f" else int(value)
    return out
