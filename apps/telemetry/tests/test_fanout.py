"""The per-loop fan-out's bookkeeping of viewers (the cross-process part: tests/e2e/test_live_fanout.py)."""

from __future__ import annotations

import gc

import pytest

from apps.telemetry.fanout import LiveFanout


class Screen:
    def __init__(self) -> None:
        self.got: list[str] = []

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        assert text_data is not None
        self.got.append(text_data)


class Gone(Screen):
    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raise ConnectionError("socket closed mid-send")


@pytest.fixture
def fanout() -> LiveFanout:
    f = LiveFanout()
    f._remote[7] = False  # as if Redis said nobody elsewhere listens: no layer needed here
    return f


async def test_each_viewer_of_the_session_gets_the_frame_and_others_do_not(fanout: LiveFanout) -> None:
    a, b, other = Screen(), Screen(), Screen()
    fanout.watch(7, a)
    fanout.watch(7, b)
    fanout.watch(8, other)
    await fanout.frame(7, "f1")
    fanout.unwatch(7, a)
    await fanout.frame(7, "f2")
    assert (a.got, b.got, other.got) == (["f1"], ["f1", "f2"], [])


async def test_a_viewer_collected_without_unwatching_is_neither_kept_nor_sent_to(fanout: LiveFanout) -> None:
    kept = Screen()
    fanout.watch(7, kept)
    fanout.watch(7, Screen())  # nothing else holds it
    gc.collect()
    await fanout.frame(7, "f1")
    assert kept.got == ["f1"]
    assert len(fanout._viewers[7]) == 1
    fanout.unwatch(7, kept)
    assert fanout.wanted(7) is False  # no viewer left here, none elsewhere: frames not even encoded


async def test_a_viewer_whose_send_fails_does_not_stop_the_others(fanout: LiveFanout) -> None:
    gone, ok = Gone(), Screen()
    fanout.watch(7, gone)
    fanout.watch(7, ok)
    await fanout.frame(7, "f1")
    assert ok.got == ["f1"]
