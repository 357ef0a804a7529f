"""The viewers' frame message: the newest frame of a batch, rounded per unit, encoded once."""

from __future__ import annotations

import json

import numpy as np

from apps.telemetry.lib.live import frame_for_viewers


def test_it_sends_the_newest_frame_rounded_for_a_screen() -> None:
    cols = {
        "t": np.array([1.7e9, 1.7e9 + 1 / 60]),
        "speed": np.array([100.0, 212.34999]),  # km/h: one decimal
        "rpm": np.array([7000.0, 7123.6]),  # 1/min: none
        "gear": np.array([3.0, 4.0]),  # an integer channel
        "throttle": np.array([0.5, 0.98765]),
    }
    msg = json.loads(frame_for_viewers(cols, delta_s=-0.12345))
    assert msg["type"] == "frame"
    frame = msg["frame"]
    assert frame["speed"] == 212.3 and frame["rpm"] == 7124.0 and frame["throttle"] == 0.988
    assert frame["gear"] == 4 and isinstance(frame["gear"], int)
    assert frame["delta"] == -0.123
    assert frame["t"] == round(1.7e9 + 1 / 60, 3)


def test_it_leaves_the_delta_out_without_a_reference() -> None:
    frame = json.loads(frame_for_viewers({"t": np.array([1.0]), "speed": np.array([5.0])}))["frame"]
    assert "delta" not in frame
