"""Small synthetic batches for the rule tests: 60 Hz frames, steady unless told otherwise."""

from __future__ import annotations

import numpy as np

HZ = 60.0


def batch(
    seconds: float = 1.5, *, t0: float = 1000.0, **channels: float | np.ndarray
) -> dict[str, np.ndarray]:
    """A columnar batch of `seconds` of frames at 150 km/h mid-lap, plus `channels`.

    Scalars are held for the whole batch; arrays must have one value per frame.
    """
    n = round(seconds * HZ)
    elapsed = np.arange(n) / HZ
    out = {
        "t": t0 + elapsed,
        "lap": np.full(n, 3.0),
        "lap_dist": 1000.0 + elapsed * 150 / 3.6,
        "lap_time": 30.0 + elapsed,
        "speed": np.full(n, 150.0),
    }
    for name, value in channels.items():
        arr = np.asarray(value, dtype=np.float64)
        out[name] = np.full(n, float(arr)) if arr.ndim == 0 else arr
    return out


def steps(n: int, *values: float) -> np.ndarray:
    """`n` frames split evenly into len(values) stretches holding each value in turn."""
    return np.asarray(values, dtype=np.float64)[np.arange(n) * len(values) // n]
