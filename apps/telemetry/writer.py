"""Storing the rigs' batches: in order per rig, off the receive path, merged across rigs.

A trace-store write ends in an fsync (Postgres commit, InfluxDB WAL), slow on a busy disk.
Done inline, every batch of a rig waited for the one before it to be durable, and the
live view waited with it. Here each socket hands its decoded batches to its BatchWriter and
goes on with the live view. The writer sends one job at a time to the StoreHub (whatever
queued while the previous job was out merged into one), and the hub stores the jobs of every
rig of the process together, once per tick: one trace-store request and one transaction. The
cost then follows the ticks, not rigs x batches: one commit per STORE_TICK_S however many
rigs stream (bench/RESULTS.md has what that bought). A slow store makes the ticks bigger
rather than the backlog longer. A writer's queue is bounded: when it is full the consumer
stops taking messages. Daphne keeps reading the socket
into its own queue meanwhile; what bounds that is the agent, which stops sending at 60 s of
unacked frames (WINDOW_FRAMES in agent/simcoach_agent/stream.py) and keeps the rest spooled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from apps.traces.lib.columns import Columns, concat_columns, same_channels

from .lib.loops import per_loop
from .services import IngestBatch, IngestCursor, IngestError, IngestResult, telemetry_batches_ingest

log = logging.getLogger(__name__)

MAX_QUEUED: Final = 100  # batches; ten seconds of a 10 Hz agent
# The wait that lets the other rigs' batches join a tick: fewer, larger writes and fsyncs, at
# the price of acks this much later (the agent spools unacked frames, so nothing waits on them).
STORE_TICK_S: Final = 0.2
MAX_MERGED_FRAMES: Final = 1200  # per job: 20 s at 60 Hz, about 1.5 MB of line protocol
# Two ticks may be out at once: while InfluxDB takes in one tick's points (most of a tick's
# time under load, bench/RESULTS.md), the next is planned and
# written. Safe because a writer has one job out at a time: a session is never in two ticks,
# so the ticks lock disjoint rows and store disjoint frames.
TICKS_IN_FLIGHT: Final = 2
_pool = ThreadPoolExecutor(TICKS_IN_FLIGHT, thread_name_prefix="ingest")


def _ingest_tick(batches: list[IngestBatch]) -> list[IngestResult | IngestError]:
    # The thread lives as long as the process: drop a connection that broke (Postgres
    # restarted) or aged out, as Django does around each request.
    close_old_connections()
    return telemetry_batches_ingest(batches)


_ingest_many = sync_to_async(_ingest_tick, thread_sensitive=False, executor=_pool)


class StoreHub:
    """Every writer's next job, stored together once per tick (one hub per event loop)."""

    def __init__(self) -> None:
        self._jobs: list[tuple[IngestBatch, asyncio.Future[IngestResult]]] = []
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(TICKS_IN_FLIGHT)
        self._ticks: set[asyncio.Task[None]] = set()

    async def store(self, batch: IngestBatch) -> IngestResult:
        done: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._jobs.append((batch, done))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await done

    async def _run(self) -> None:
        while self._jobs:  # ends when idle: no task outlives the sockets that fed it
            await asyncio.sleep(STORE_TICK_S)
            await self._slots.acquire()  # what arrives meanwhile joins this tick
            jobs, self._jobs = self._jobs, []
            tick = asyncio.create_task(self._tick(jobs))
            self._ticks.add(tick)  # held until done: the loop keeps only weak references
            tick.add_done_callback(self._tick_done)

    def _tick_done(self, tick: asyncio.Task[None]) -> None:
        self._ticks.discard(tick)
        self._slots.release()

    @staticmethod
    async def _tick(jobs: list[tuple[IngestBatch, asyncio.Future[IngestResult]]]) -> None:
        outcomes: list[IngestResult | Exception]
        try:
            outcomes = list(await _ingest_many([batch for batch, _ in jobs]))
        except Exception as exc:  # noqa: BLE001 - the store failed: every job of the tick did
            outcomes = [exc] * len(jobs)
        for (_, done), outcome in zip(jobs, outcomes, strict=True):
            if done.done():
                continue  # its writer was cancelled (socket gone); the agent resends unacked frames
            if isinstance(outcome, Exception):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)


store_hub = per_loop(StoreHub)


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
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            try:
                for seq, cols in merge_batches(items):
                    result = await store_hub().store(IngestBatch(self.cursor, seq, cols))
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
    return [(seq, concat_columns(parts)) for seq, parts in out]


def _continues(run: tuple[int, list[Columns]], seq: int, cols: Columns) -> bool:
    first, parts = run
    frames = sum(len(p["t"]) for p in parts)
    return (
        seq == first + frames
        and same_channels(cols, parts[0])
        and frames + len(cols["t"]) <= MAX_MERGED_FRAMES
    )
