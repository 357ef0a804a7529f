"""Shaping the live stream for screens."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from apps.traces.lib.columns import MatrixColumns
from simcoach_agent.channels import CHANNELS, Channel

# Decimals worth sending to a screen per unit; fewer digits, smaller JSON for every viewer.
_DIGITS = {"s": 3, "m": 1, "km/h": 1, "1/min": 0, "°C": 1, "kPa": 1, "%": 1, "l": 2, "g": 2, "": 3}


def _decimals(ch: Channel) -> int | None:
    return _DIGITS.get(ch.unit, 3) if ch.kind == "f" else None


# Per channel: decimals to round to, or None for integer channels. Built once, not per frame.
_ROUNDING: dict[str, int | None] = {c.name: _decimals(c) for c in CHANNELS}


def _field(name: str) -> str:
    decimals = _ROUNDING.get(name, 3)
    placeholder = "%d" if decimals is None else f"%.{decimals}f"
    return json.dumps(name).replace("%", "%%") + ":" + placeholder


@lru_cache(maxsize=64)
def _template(names: tuple[str, ...]) -> str:
    """The viewers' JSON for a batch with these channels: a fixed-point placeholder per value
    at its decimals (cheaper than the shortest float repr json.dumps writes), and a last one
    for the delta."""
    return '{"type":"frame","frame":{' + ",".join(map(_field, names)) + "%s}}"


def frame_for_viewers(cols: Mapping[str, np.ndarray], delta_s: float | None = None) -> str:
    """The newest frame of a batch as the viewers' JSON message, rounded for display.

    Encoded once per batch here, not once per viewer, by one `%` over a template made once
    per set of channels: a json.dumps and a round() per channel showed in the live path's
    profile (bench/RESULTS.md). Values come from the wire, so they are finite.
    """
    delta = "" if delta_s is None else f',"delta":{delta_s:.3f}'
    if isinstance(cols, MatrixColumns):  # the newest frame is the matrix's last column
        return _template(cols.names) % (*cols.matrix[:, -1].tolist(), delta)
    return _template(tuple(cols)) % (*(v[-1] for v in cols.values()), delta)
