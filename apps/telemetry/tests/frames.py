"""Synthetic frames for telemetry tests: a car doing laps of a 1 km loop at 60 Hz."""

from __future__ import annotations

import math

from simcoach_agent.channels import Frame

LOOP_M = 1000.0


def loop_frames(
    *, start_seq: int = 0, n: int, t0: float = 1_700_000_000.0, lap_s: float = 20.0
) -> list[Frame]:
    """Frames seq start_seq.. of a car lapping LOOP_M in lap_s seconds, three sectors a lap."""
    frames = []
    for i in range(start_seq, start_seq + n):
        t = i / 60
        lap_idx, into = divmod(t, lap_s)
        frac = into / lap_s
        frames.append(
            {
                "t": t0 + t,
                "lap": lap_idx + 1,
                "lap_dist": frac * LOOP_M,
                "lap_time": into,
                "last_lap_time": lap_s if lap_idx >= 1 else -1.0,
                "best_lap_time": lap_s if lap_idx >= 1 else -1.0,
                "sector": min(2, int(frac * 3)),
                "lap_valid": 1,
                "in_pit": 0,
                "speed": LOOP_M / lap_s * 3.6,
                "rpm": 6000 + 1000 * math.sin(t),
                "max_rpm": 7500,
                "gear": 4,
                "throttle": 0.8,
                "brake": 0.0,
                "pos_x": 150 * math.cos(2 * math.pi * frac),
                "pos_y": 0.0,
                "pos_z": 150 * math.sin(2 * math.pi * frac),
                "fuel": 60 - 0.1 * t,
                "tyre_temp_fl": 85.0,
            }
        )
    return frames


def stored_count(session_id: int) -> int:
    """Frames of a session in the configured trace store (db chunks or InfluxDB alike)."""
    from apps.traces.tracestore import get_trace_store

    return len(get_trace_store().read(session_id=session_id, t0=0.0, t1=4.1e9)["t"])
