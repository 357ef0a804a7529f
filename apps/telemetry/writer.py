"""Storing one rig's batches behind its socket: in order, off the receive path, merged when queued.

A trace-store write ends in an fsync (Postgres commit, InfluxDB WAL) of ~10 ms, more on a busy
disk. Done inline, every batch of a rig waited for the one before it to be durable, and the
live view waited with it. Here the socket hands decoded batches to a queue and goes on with
the live view; one task per socket stores them in order. Whatever queued up while a write was
in flight goes out as ONE write (one HTTP request, one commit), so a slow store means bigger
writes rather than a growing backlog. The queue is bounded: when it is full the socket stops
reading, TCP pushes back, and the agent's disk spool holds the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import numpy as np
from asgiref.sync import sync_to_async

from .services import IngestCursor, IngestResult, telemetry_frames_ingest

log = logging.getLogger(__name__)
Columns = dict[str, np.ndarray]

MAX_QUEUED: Final = 100  # batches; ten seconds of a 10 Hz agent
WRITE_LINGER_S: Final = 0.2
MAX_MERGED_FRAMES: Final = 1200  # per write: 20 s at 60 Hz, about 1.5 MB of line protocol
# Writes wait on fsyncs, not on the CPU: more threads than cores let commits overlap (and the
# databases merge overlapping fsyncs). One Postgres connection per thread.
INGEST_THREADS: Final = 8
_pool = ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="ingest")
_ingest = sync_to_async(telemetry_frames_ingest, thread_sensitive=False, executor=_pool)


class BatchWriter:
    def __init__(
        self,
        cursor: IngestCursor,
        on_stored: Callable[[IngestResult], Awaitable[None]],
        on_failed: Callable[[Exception], Awaitable[None]],
    ) -> None:
        self.cursor = cursor
        self._on_stored, self._on_failed = on_stored, on_failed
        self._queue: asyncio.Queue[tuple[int, Columns]] = asyncio.Queue(MAX_QUEUED)
        self._task = asyncio.create_task(self._run())

    async def put(self, seq: int, cols: Columns) -> None:
        """Queue frames seq..; waits while the queue is full (backpressure on the socket)."""
        if not self._task.done():
            await self._queue.put((seq, cols))

    async def drain(self) -> None:
        """Wait until everything queued so far is stored (or the writer gave up)."""
        if not self._task.done():
            await self._queue.join()

    def cancel(self) -> None:
        # The writer itself closes the socket after a failed write, and then returns on its own.
        if self._task is not asyncio.current_task():
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            items = [await self._queue.get()]
            # A short wait lets the next batches join this write: fewer, larger writes and
            # fsyncs, at the price of acks this much later (the agent spools unacked frames).
            await asyncio.sleep(WRITE_LINGER_S)
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                for seq, cols in merge_batches(items):
                    result = await _ingest(
                        session_id=self.cursor.session_id, seq=seq, cols=cols, cursor=self.cursor
                    )
                    await self._on_stored(result)
            except Exception as exc:  # noqa: BLE001 - every failure must reach the socket
                self._give_up(len(items))
                await self._on_failed(exc)
                return
            for _ in items:
                self._queue.task_done()

    def _give_up(self, in_hand: int) -> None:
        # Nothing after a failed write may be stored (it would leave a gap), and drain() must
        # not wait for it: mark everything done. The agent still holds all of it, unacked.
        while not self._queue.empty():
            self._queue.get_nowait()
            in_hand += 1
        for _ in range(in_hand):
            self._queue.task_done()


def merge_batches(items: list[tuple[int, Columns]]) -> list[tuple[int, Columns]]:
    """Join runs of back-to-back batches with the same channels into one batch each."""
    out: list[tuple[int, list[Columns]]] = []
    for seq, cols in items:
        if out and _continues(out[-1], seq, cols):
            out[-1][1].append(cols)
        else:
            out.append((seq, [cols]))
    return [(seq, _concat(parts)) for seq, parts in out]


def _continues(run: tuple[int, list[Columns]], seq: int, cols: Columns) -> bool:
    first, parts = run
    frames = sum(len(p["t"]) for p in parts)
    return (
        seq == first + frames
        and cols.keys() == parts[0].keys()
        and frames + len(cols["t"]) <= MAX_MERGED_FRAMES
    )


def _concat(parts: list[Columns]) -> Columns:
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
