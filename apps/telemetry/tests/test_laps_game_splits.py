"""Lap segmentation of an rF2/LMU drive: the agent's real decoders, the wire's quantisation,
the server's LapTracker in 0.1 s batches with its state saved between them.

The drive (agent/tests/isi_drive.py) is an out-lap from the garage and the 76.861 s flying
lap of issue 17, whose game splits are 23.913 / 25.536 / 27.412 s.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.telemetry.lib.laps import CompletedLap, LapTracker
from simcoach_agent.channels import CHANNELS, Frame
from simcoach_agent.sources.lmu import LmuDecoder
from simcoach_agent.sources.rf2 import Rf2Decoder
from simcoach_agent.telemetry import quantise_frame

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "agent" / "tests"))
from isi_drive import FLYING, OUT_LAP, decoded_drive, lmu_polls, rf2_polls  # noqa: E402

BATCH = 5  # frames per uplink batch at 50 Hz
Polls = Callable[..., Iterator[tuple[float, list[tuple[str, bytes]]]]]
GAMES = [pytest.param(Rf2Decoder, rf2_polls, id="rf2"), pytest.param(LmuDecoder, lmu_polls, id="lmu")]


def wire_frames(decoder: type, polls: Polls, *, game_splits_out_lap: bool = True) -> list[Frame]:
    """Decoded frames as the server receives them: quantised to each channel's resolution.

    Decoded once per drive for all the tests here (seconds of CPU each); copies, because a
    test may change them."""
    return [dict(f) for f in _wire_frames(decoder, polls, game_splits_out_lap)]


@cache
def _wire_frames(decoder_type: type, polls: Polls, game_splits_out_lap: bool) -> tuple[Frame, ...]:
    out = []
    for frame in decoded_drive(decoder_type, polls, game_splits_out_lap):
        q = quantise_frame(frame)
        assert q is not None
        out.append({CHANNELS[cid].name: v * CHANNELS[cid].resolution for cid, v in q.items()})
    return tuple(out)


def segment(frames: list[Frame], drop: tuple[str, ...] = ()) -> list[CompletedLap]:
    names = [n for n in frames[0] if n not in drop]
    whole = {n: np.array([f[n] for f in frames]) for n in names}  # columns once, cut per batch
    state: dict[str, Any] | None = None
    laps: list[CompletedLap] = []
    for a in range(0, len(frames), BATCH):
        cols = {n: v[a : a + BATCH].copy() for n, v in whole.items()}
        tracker = LapTracker(state)
        laps += tracker.feed(cols)
        state = json.loads(json.dumps(tracker.state()))  # as stored with the batch
    return laps


@pytest.mark.parametrize(("decoder", "polls"), GAMES)
def test_laps_carry_the_games_own_sector_times(decoder: Any, polls: Any) -> None:
    out_lap, flying = segment(wire_frames(decoder, polls))
    assert (flying.number, flying.timing, flying.time_s) == (2, "game", pytest.approx(76.861))
    assert flying.sectors_s == [23.913, 25.536, 27.412]
    assert (out_lap.number, out_lap.is_out_lap, out_lap.timing) == (1, True, "game")
    assert out_lap.sectors_s == list(OUT_LAP.sectors)
    # filed from line to line to the 50 Hz frame, where scoring's lap count was up to 0.2 s late
    assert flying.t_end - flying.t_start == pytest.approx(FLYING.time, abs=0.02)


@pytest.mark.parametrize(("decoder", "polls"), GAMES)
def test_without_the_games_splits_the_50hz_sector_channel_times_them(decoder: Any, polls: Any) -> None:
    """The out-lap from the garage: this time the game gives its time but no splits."""
    frames = wire_frames(decoder, polls, game_splits_out_lap=False)
    out_lap, flying = segment(frames)
    assert out_lap.timing == "game" and len(out_lap.sectors_s) == 3
    assert out_lap.sectors_s == pytest.approx(OUT_LAP.sectors, abs=0.021)
    assert flying.sectors_s == [23.913, 25.536, 27.412]
    # and a server fed by an older agent, without the split channels at all
    _, flying = segment(frames, drop=("last_split1", "last_split2"))
    assert flying.sectors_s == pytest.approx(FLYING.sectors, abs=0.021)


def test_splits_that_do_not_fit_the_lap_are_not_used() -> None:
    """A game split beyond the lap time (another lap's, or garbage) falls back to the channel."""
    frames = wire_frames(Rf2Decoder, rf2_polls)
    for f in frames:
        if f["last_lap_time"] == pytest.approx(FLYING.time):
            f["last_split2"] = 80.0
    _, flying = segment(frames)
    assert flying.sectors_s == pytest.approx(FLYING.sectors, abs=0.021)
    assert flying.sectors_s != [23.913, 25.536, 27.412]


def test_splits_a_game_publishes_a_tick_after_the_lap_time_are_taken() -> None:
    """ACC: iLastTime moves one tick before lastSectorTime shows the third sector."""
    from test_acc import drive_lap

    frames = []
    for f in drive_lap():
        q = quantise_frame(f)
        assert q is not None
        frames.append({CHANNELS[cid].name: v * CHANNELS[cid].resolution for cid, v in q.items()})
    tracker = LapTracker()
    (lap,) = tracker.feed({n: np.array([f[n] for f in frames]) for n in frames[0]})
    assert (lap.number, lap.timing, lap.time_s) == (4, "game", pytest.approx(76.861))
    assert lap.sectors_s == [23.913, 25.536, 27.412]
