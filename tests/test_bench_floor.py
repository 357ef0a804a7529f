"""The ingest benchmark's floor (bench/floor_asgi.py) answers the load generator as the site does.

Without this the floor's viewers can silently count nothing: the load generator recognises a
viewer frame by its exact bytes, and a floor writing JSON any other way had 0 frames delivered.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import msgpack
import pytest

from bench import floor_asgi
from bench.ingest import BATCH_FRAMES, FRAME_T, apps_arg, batch_at
from simcoach_agent import wire


class Socket:
    """One WebSocket as the ASGI app sees it: queued events in, sent events out."""

    def __init__(self, app: Any, path: str) -> None:
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.inbox.put_nowait({"type": "websocket.connect"})
        scope = {"type": "websocket", "path": path}
        self.task = asyncio.create_task(app(scope, self.inbox.get, self.sent.put))

    async def next_sent(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.sent.get(), 5)

    async def close(self) -> None:
        await self.inbox.put({"type": "websocket.disconnect"})
        await asyncio.wait_for(self.task, 5)


async def _one_frame_through_the_floor() -> tuple[str, list[Any]]:
    rig = Socket(floor_asgi.application, "/ws/rig/")
    assert (await rig.next_sent())["type"] == "websocket.accept"
    hello = {"type": "hello", "protocol": wire.PROTOCOL_VERSION}
    await rig.inbox.put({"type": "websocket.receive", "bytes": wire.encode_control(hello)})
    welcome = msgpack.unpackb((await rig.next_sent())["bytes"])
    viewer = Socket(floor_asgi.application, f"/ws/live/{welcome['session_id']}/")
    assert (await viewer.next_sent())["type"] == "websocket.accept"
    assert "session" in (await viewer.next_sent())["text"]
    # Two batches: the floor acks every second one, as the site acks once per store tick.
    for seq, t_last in ((0, 1_700_000_000.25), (BATCH_FRAMES, 1_700_000_000.35)):
        batch = batch_at(seq, (1, b""), t_last)  # the t column alone
        await rig.inbox.put({"type": "websocket.receive", "bytes": batch})
    first, second = (await viewer.next_sent())["text"], (await viewer.next_sent())["text"]
    ack = msgpack.unpackb((await rig.next_sent())["bytes"])
    await viewer.close()
    await rig.close()
    assert second != first
    return second, [ack["type"], ack["seq"]]


def test_floor_frames_are_counted_by_the_load_generator() -> None:
    text, ack = asyncio.run(_one_frame_through_the_floor())
    assert text.startswith('{"type":"frame"')  # the load generator's test for a frame
    match = FRAME_T.search(text)
    assert match is not None
    assert float(match[1]) == 1_700_000_000.35  # the newest frame's time, to the millisecond
    assert ack == ["ack", 2 * BATCH_FRAMES - 1]


def test_the_benchmark_refuses_an_unknown_app_by_name() -> None:
    assert apps_arg("site,floor") == ["site", "floor"]
    with pytest.raises(argparse.ArgumentTypeError, match=r"--app takes site, floor .*'site,flor'"):
        apps_arg("site,flor")
