"""Live frames to a session's viewers: straight to the sockets of this event loop, and over the
channel layer only while viewers elsewhere (another Daphne process) are listening.

Frames are the one high-rate event, one per rig batch. Sent through the Redis layer, a frame
for a viewer in the same process cost a PUBLISH, its reply and the subscription's read-back:
three loopback socket operations per batch, a large share of the server's CPU (bench/RESULTS.md). A session nobody watches gets no frame encoded at all. Laps, coaching and
session ends are rare and stay on the layer.

Whether anyone elsewhere listens is asked of Redis once a second for every session this loop
streams, in one `PUBSUB NUMSUB`: the pub/sub layer holds one subscription per group and event
loop, so a count above this loop's own means another loop or process has viewers. Until the
first answer, and whenever Redis cannot say, frames are published (dropping a frame for a
remote viewer is worse than one spare PUBLISH). Published frames carry this loop's origin, so
its own viewers, which already have them, drop their copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol, cast

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from redis import asyncio as aioredis

from simcoach_site.events import LiveFrame, session_group

from .lib.loops import per_loop

log = logging.getLogger(__name__)

PROBE_EVERY_S: Final = 1.0
FORGET_AFTER_S: Final = 30.0  # a session with no frames for this long is no longer probed


CountGroups = Callable[[list[str]], Awaitable[list[int]]]  # listeners per group, this loop's included
Close = Callable[[], Awaitable[None]]


class Viewer(Protocol):
    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None: ...


class LiveFanout:
    """One per event loop: its viewers by session, and which of its sessions are heard elsewhere."""

    def __init__(self) -> None:
        self.origin = uuid.uuid4().hex
        # Weak: a consumer that died without its disconnect handler must not be kept, or sent to.
        # Plain weak references by id, not a WeakSet: a WeakSet's iteration guard, run per frame,
        # showed in the server's profile (bench/RESULTS.md), and these sets hold one or two viewers.
        self._viewers: dict[int, dict[int, weakref.ref[Viewer]]] = {}
        self._streamed: dict[int, float] = {}  # session -> when this loop last sent it a frame
        self._remote: dict[int, bool] = {}
        self._probe: asyncio.Task[None] | None = None
        self._probe_unsupported = False

    def watch(self, session_id: int, viewer: Viewer) -> None:
        self._viewers.setdefault(session_id, {})[id(viewer)] = weakref.ref(viewer)

    def unwatch(self, session_id: int, viewer: Viewer) -> None:
        self._drop(session_id, id(viewer))

    def _drop(self, session_id: int, key: int) -> None:
        viewers = self._viewers.get(session_id)
        if viewers is not None:
            viewers.pop(key, None)
            if not viewers:
                del self._viewers[session_id]

    def wanted(self, session_id: int) -> bool:
        """Whether anyone, here or elsewhere, watches the session: most rigs stream unwatched,
        and then their frames need not even be encoded. Marks the session as streaming."""
        self._streamed[session_id] = time.monotonic()
        self._start_probe()
        return session_id in self._viewers or self._remote.get(session_id, True)

    async def frame(self, session_id: int, text: str) -> None:
        """Send one frame's JSON to every viewer; raises only if the layer publish fails."""
        for key, ref in tuple(self._viewers.get(session_id, {}).items()):
            viewer = ref()
            if viewer is None:  # collected without unwatching
                self._drop(session_id, key)
                continue
            try:
                await viewer.send(text_data=text)
            except Exception:  # a socket that went away mid-send must not stop the others
                log.debug("session %s: dropping a frame for a closing viewer", session_id, exc_info=True)
        if self._remote.get(session_id, True):
            layer = get_channel_layer()
            assert layer is not None
            event: LiveFrame = {"type": "live.frame", "text": text, "origin": self.origin}
            await layer.group_send(session_group(session_id), event)

    def _start_probe(self) -> None:
        if self._probe_unsupported or (self._probe is not None and not self._probe.done()):
            return
        ask = _remote_listener_counter()
        if ask is None:
            self._probe_unsupported = True  # this layer cannot be asked: publish every frame
            return
        self._probe = asyncio.create_task(self._probe_loop(*ask))

    async def _probe_loop(self, count: CountGroups, close: Close) -> None:
        try:
            while self._streamed:  # ends when nothing streams: no task outlives the rigs
                await asyncio.sleep(PROBE_EVERY_S)
                self._forget_quiet_sessions()
                ids = list(self._streamed)
                try:
                    counts = await count([session_group(s) for s in ids])
                except Exception as exc:  # Redis away: publish (and let that fail) until it is back
                    log.debug("live fan-out probe failed: %s", exc)
                    self._remote.clear()
                    continue
                for session_id, n in zip(ids, counts, strict=True):
                    own = 1 if session_id in self._viewers else 0
                    self._remote[session_id] = n > own
        finally:
            await close()

    def _forget_quiet_sessions(self) -> None:
        quiet_since = time.monotonic() - FORGET_AFTER_S
        for session_id, last in list(self._streamed.items()):
            if last < quiet_since:
                del self._streamed[session_id]
                self._remote.pop(session_id, None)


def _remote_listener_counter() -> tuple[CountGroups, Close] | None:
    """(count subscribers of these groups, close) for the configured layer, or None if unknown."""
    layer = get_channel_layer()
    if not isinstance(layer, RedisPubSubChannelLayer):
        # The in-memory layer serves one process but maybe several loops (tests): publishing
        # is cheap there and keeps other loops' viewers fed. Unknown layers: always publish.
        return None
    config = cast(dict[str, Any], settings.CHANNEL_LAYERS["default"]).get("CONFIG", {})
    hosts, prefix = config.get("hosts", []), config.get("prefix", "asgi")
    if len(hosts) != 1 or not isinstance(hosts[0], str):
        return None  # groups spread over shards: asking one server would undercount
    client = aioredis.Redis.from_url(hosts[0])

    async def count(groups: list[str]) -> list[int]:
        # The pub/sub layer's name for a group's channel (channels_redis, pinned in requirements).
        pairs = await client.pubsub_numsub(*(f"{prefix}__group__{g}" for g in groups))
        return [int(n) for _, n in pairs]

    async def close() -> None:
        with contextlib.suppress(Exception):
            await client.aclose()

    return count, close


live_fanout = per_loop(LiveFanout)
