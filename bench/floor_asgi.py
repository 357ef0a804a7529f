"""The floor under bench/ingest.py: the same sockets and messages through Daphne, nothing else.

A bare ASGI app (no Channels, no Django, no storage, no rules) that answers the load
generator as the site does: `welcome` to a hello, an `ack` for every second batch, and each batch's
newest frame time to the session's viewer as the viewers' JSON. Whatever CPU this costs per
batch is what Daphne (Twisted, autobahn, asyncio) and the socket system calls take before the
site does any work; `bench/ingest.py --app floor` runs it.
"""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

_session_ids = itertools.count(1)
_viewers: dict[int, Send] = {}


def _newest_t(batch: dict[str, Any]) -> float:
    # The t column (channel 0) is delta-coded milliseconds: its sum is the newest frame's time.
    cols = msgpack.unpackb(zlib.decompress(batch["z"]), strict_map_key=False)
    return sum(cols[0]) / 1000.0


def viewer_frame(t: float) -> str:
    """A viewer's frame message, written as the site writes it (apps.telemetry.lib.live): compact
    JSON. The load generator finds the frame and its time by the exact bytes, without parsing, so
    json.dumps' default separators (a space after each colon) made every floor frame go uncounted."""
    return f'{{"type":"frame","frame":{{"t":{t:.3f}}}}}'


async def _rig(receive: Receive, send: Send) -> None:
    session_id = batches = 0
    while True:
        event = await receive()
        if event["type"] != "websocket.receive":
            return
        msg = msgpack.unpackb(event["bytes"])
        if msg["type"] == "hello":
            session_id = next(_session_ids)
            reply = {"type": "welcome", "session_id": session_id, "last_seq": -1}
            await send({"type": "websocket.send", "bytes": msgpack.packb(reply)})
        elif msg["type"] == "frames":
            batches += 1
            if batches % 2 == 0:  # the site acks a rig once per 200 ms store tick: every 2nd batch
                ack = {"type": "ack", "seq": msg["seq"] + msg["n"] - 1}
                await send({"type": "websocket.send", "bytes": msgpack.packb(ack)})
            viewer = _viewers.get(session_id)
            if viewer is not None:
                await viewer({"type": "websocket.send", "text": viewer_frame(_newest_t(msg))})


async def _viewer(session_id: int, receive: Receive, send: Send) -> None:
    await send({"type": "websocket.send", "text": json.dumps({"type": "session"})})
    _viewers[session_id] = send
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        _viewers.pop(session_id, None)


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "websocket":
        return
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    path = scope["path"]
    if path == "/ws/rig/":
        await _rig(receive, send)
    elif path.startswith("/ws/live/"):
        await _viewer(int(path.strip("/").rsplit("/", 1)[1]), receive, send)
