"""The stream rules the sockets apply, without a socket (apps/telemetry/lib/stream.py, viewers.py)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from apps.coaching.lib.rules import MAX_GAP_S
from apps.telemetry.lib.stream import CoachCadence, SequenceGate, hello_newest_t, protocol_mismatch
from apps.telemetry.lib.viewers import share_close, share_note_text, share_recheck_in
from simcoach_agent import wire

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)


def batch(t0: float, n: int = 6, hz: float = 60.0) -> dict[str, np.ndarray]:
    t = t0 + np.arange(n) / hz
    return {"t": t, "speed": np.full(n, 50.0)}


# ---- hello


def test_it_names_the_side_to_upgrade() -> None:
    assert protocol_mismatch(wire.PROTOCOL_VERSION) is None
    assert (
        protocol_mismatch(0)
        == f"agent speaks protocol 0, server speaks {wire.PROTOCOL_VERSION}: upgrade the agent"
    )
    newer = protocol_mismatch(99)
    assert newer is not None and newer.endswith("upgrade the server")
    assert protocol_mismatch("1") is not None  # not an int: refused, the server cannot know better


def test_it_reads_the_agents_newest_frame_time_from_hello() -> None:
    assert hello_newest_t({"newest_t": 1_700_000_000.5}) == 1_700_000_000.5
    assert hello_newest_t({"newest_t": 12}) == 12.0
    assert hello_newest_t({}) is None and hello_newest_t({"newest_t": None}) is None  # an older agent


@pytest.mark.parametrize("value", ["soon", True, float("nan"), float("inf"), -1.0, 5e9, [1.0]])
def test_it_refuses_a_bad_newest_t_with_4400(value: object) -> None:
    with pytest.raises(wire.WireError, match="newest_t must be a frame time in seconds") as caught:
        hello_newest_t({"newest_t": value})
    assert caught.value.code == wire.CLOSE_PROTOCOL_ERROR


# ---- SequenceGate


def test_it_takes_consecutive_batches_as_fresh() -> None:
    gate = SequenceGate(0)
    assert gate.admit(0, 6) == 0 and gate.admit(6, 6) == 0 and gate.next_seq == 12


def test_it_names_the_frames_a_replay_repeats() -> None:
    gate = SequenceGate(10)
    assert gate.admit(4, 10) == 6  # 4..9 seen, 10..13 fresh
    assert gate.next_seq == 14


def test_it_ignores_a_batch_seen_whole() -> None:
    gate = SequenceGate(10)
    assert gate.admit(0, 10) is None and gate.next_seq == 10


def test_it_refuses_a_gap_with_4400() -> None:
    gate = SequenceGate(3)
    with pytest.raises(wire.WireError, match="sequence gap: expected 3, got 5") as caught:
        gate.admit(5, 1)
    assert caught.value.code == wire.CLOSE_PROTOCOL_ERROR and gate.next_seq == 3


# ---- CoachCadence


def test_it_holds_batches_until_half_a_second_is_gathered() -> None:
    cadence = CoachCadence(every_s=0.5)
    runs = [cadence.add(batch(100 + i * 0.1)) for i in range(6)]
    assert [len(r) for r in runs] == [0, 0, 0, 0, 0, 1]
    (run,) = runs[5]
    assert len(run["t"]) == 36 and run["t"][0] == 100 and cadence.take() is None


def test_it_never_joins_batches_across_a_jump_in_time() -> None:
    cadence = CoachCadence(every_s=0.5)
    cadence.add(batch(100))
    (before,) = cadence.add(batch(100 + 1 + MAX_GAP_S))
    assert len(before["t"]) == 6 and before["t"][-1] < 100.1
    rest = cadence.take()
    assert rest is not None and rest["t"][0] > 101


def test_it_hands_over_what_it_holds_when_asked() -> None:
    cadence = CoachCadence()
    cadence.add(batch(100))
    held = cadence.take()
    assert held is not None and len(held["t"]) == 6 and cadence.take() is None


# ---- share viewers


def test_it_rechecks_a_link_at_its_expiry_or_every_period() -> None:
    soon = NOW + dt.timedelta(seconds=3)
    assert share_recheck_in(now=NOW, expires_at=soon, every_s=10) == pytest.approx(3.05)
    assert share_recheck_in(now=NOW, expires_at=None, every_s=10) == 10
    assert share_recheck_in(now=NOW, expires_at=NOW - dt.timedelta(1), every_s=10) == 0.05


def test_it_closes_each_share_refusal_with_its_code() -> None:
    assert share_close("unknown") == (wire.CLOSE_NOT_FOUND, "unknown share link")
    assert share_close("expired") == (wire.CLOSE_GONE, "share link expired")
    assert share_close("revoked")[0] == wire.CLOSE_GONE


def test_it_reads_a_note() -> None:
    assert share_note_text('{"type": "note", "text": "brake later"}') == "brake later"


@pytest.mark.parametrize(
    "text",
    [
        None,
        "not json",
        "[1]",
        '{"type": "note"}',
        '{"type": "hack", "text": "x"}',
        '{"type": "note", "text": "x", "x": 1}',
    ],
)
def test_it_refuses_anything_but_a_note_with_4400(text: str | None) -> None:
    with pytest.raises(wire.WireError, match="may only send") as caught:
        share_note_text(text)
    assert caught.value.code == wire.CLOSE_PROTOCOL_ERROR
