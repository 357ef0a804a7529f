"""Synthetic laps for the analysis tests: a speed profile over distance, sampled at 60 Hz."""

from __future__ import annotations

import numpy as np

HZ = 60.0
DECEL_MS2 = 12.0  # braking, m/s²
ACCEL_MS2 = 5.0  # traction, m/s²


def profile(
    length_m: float,
    corners: list[tuple[float, float]],
    *,
    vmax_kmh: float = 250.0,
    brake_earlier_m: float = 0.0,
    step_m: float = 0.5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance m, speed km/h, brake 0..1) of a lap through corners [(apex m, apex km/h)].

    Each corner is a braking parabola in, an accelerating one out; `brake_earlier_m` makes
    every braking zone start that much earlier (reaching each speed that much sooner).
    """
    dist = np.arange(0.0, length_m + step_m, step_m)
    v = np.full(dist.size, vmax_kmh / 3.6)
    braking = np.zeros(dist.size, dtype=bool)
    for apex, v_apex in corners:
        v0 = v_apex / 3.6
        before = np.clip(apex - dist - brake_earlier_m, 0.0, None)
        entry = np.where(dist <= apex, np.sqrt(v0**2 + 2 * DECEL_MS2 * before), np.inf)
        exit_ = np.where(
            dist > apex, np.sqrt(v0**2 + 2 * ACCEL_MS2 * np.clip(dist - apex, 0.0, None)), np.inf
        )
        braking |= entry < v
        v = np.minimum(v, np.minimum(entry, exit_))
    return dist, v * 3.6, braking.astype(np.float64)


def sample(
    dist: np.ndarray, speed_kmh: np.ndarray, *, t0: float = 1e9, **channels: np.ndarray
) -> dict[str, np.ndarray]:
    """Frames at 60 Hz of a car following the profile; channels are given over `dist` too."""
    v = speed_kmh / 3.6
    t_at = np.concatenate(([0.0], np.cumsum(2 * np.diff(dist) / (v[:-1] + v[1:]))))
    t = np.arange(0.0, t_at[-1], 1 / HZ)
    d = np.interp(t, t_at, dist)
    out = {"t": t0 + t, "lap_dist": d, "lap_time": t, "speed": np.interp(d, dist, speed_kmh)}
    for name, values in channels.items():
        out[name] = np.interp(d, dist, values)
    return out


def lap_time(dist: np.ndarray, speed_kmh: np.ndarray) -> float:
    v = speed_kmh / 3.6
    return float(np.sum(2 * np.diff(dist) / (v[:-1] + v[1:])))
