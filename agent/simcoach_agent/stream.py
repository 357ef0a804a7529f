"""The uplink: streams spooled frames to the server over one WebSocket, reconnecting forever.

The producer (telemetry.py) writes frames to the spool and never waits for the network; this
module reads the spool in sequence order and sends what is new each time the producer wakes
it after a commit (or every ``poll_interval`` seconds), so one producer commit becomes one
batch. The producer hands the frames it just committed along with the wake (``offer``), so
while the uplink keeps up it sends them without reading them back from the spool. Frames
leave the spool only once the server acks them (deleted in one transaction a second). After
any reconnect it says ``hello`` again, learns the server's ``last_seq`` from ``welcome`` and
resends what follows.
See docs/protocol.md for the messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from . import __version__, wire
from .channels import QFrame
from .spool import Spool, SpoolSession
from .telemetry import T_ID, T_RES, new_session_uid

log = logging.getLogger(__name__)

WINDOW_FRAMES: Final = 3600  # frames in flight without an ack (60 s at 60 Hz) before we wait
WELCOME_TIMEOUT: Final = 15.0  # seconds; the server answers hello once it has opened the session
RIG_PATH: Final = "ws/rig/"
BATCH_INTERVAL: Final = 0.1  # seconds; 6 frames a batch at 60 Hz keeps the uplink under 5 KB/s
ACK_TIMEOUT: Final = 30.0  # seconds with frames in flight and no ack: the server is stuck, reconnect
ACK_FLUSH_EVERY: Final = 1.0  # seconds between spool deletes of acked frames (one transaction)
RECENT_BATCHES: Final = 8  # committed batches kept in memory; an uplink further behind reads the spool
STABLE_AFTER: Final = 30.0  # seconds connected after which a drop counts as a fresh failure again
END_SEND_TIMEOUT: Final = 2.0  # seconds to get a parting `end` into a socket that may be stuck

MessageCallback = Callable[[dict[str, Any]], None]
# server messages about cues (cues.py), and the welcome that starts a session's set of them
CUE_MESSAGES: Final = ("cue", "cue_removed", "welcome")
StatusCallback = Callable[["UplinkStats"], None]


class UplinkStopped(Exception):
    """The server refused this agent for good (bad token, old version): reconnecting won't help."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class _Disconnect(Exception):
    """A recoverable failure: log it, back off, reconnect."""


@dataclass
class UplinkStats:
    """Counters the CLI shows; updated in place by the uplink."""

    state: str = "idle"  # idle, connecting, streaming, backoff, stopped
    session_uid: str | None = None
    sent_seq: int = -1  # highest sequence number sent on the current socket
    acked_seq: int = -1  # highest sequence number the server acked
    bytes_sent: int = 0  # WebSocket payload bytes, all connections
    frames_sent: int = 0
    connects: int = 0
    last_error: str = ""


def rig_ws_url(server_url: str) -> str:
    """``https://host/prefix/`` -> ``wss://host/prefix/ws/rig/`` (http -> ws; ws(s) kept)."""
    parts = urlsplit(server_url.strip())
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ValueError(f"server URL must look like https://host[/prefix], got {server_url!r}")
    path = parts.path.rstrip("/") + "/" + RIG_PATH
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def hello_message(session: SpoolSession, newest_t: float | None = None) -> dict[str, Any]:
    """``newest_t``: the newest frame the producer has read, when known. A server that replays
    a backlog coaches frames far behind it and must not send that coaching (docs/protocol.md)."""
    extra = {"newest_t": newest_t} if newest_t is not None else {}
    return {
        "type": "hello",
        "protocol": wire.PROTOCOL_VERSION,
        "agent": __version__,
        **session.hello,
        "session_uid": session.uid,
        **extra,
    }


class Uplink:
    """Streams every spooled session to the server; see the module docstring."""

    def __init__(
        self,
        server_url: str,
        token: str,
        spool: Spool,
        *,
        batch_interval: float = BATCH_INTERVAL,
        poll_interval: float | None = None,
        backoff_min: float = 1.0,
        backoff_max: float = 60.0,
        on_message: MessageCallback | None = None,
        on_cue: MessageCallback | None = None,
        on_status: StatusCallback | None = None,
        window: int = WINDOW_FRAMES,
        welcome_timeout: float = WELCOME_TIMEOUT,
        open_timeout: float = 10.0,
        ping_interval: float = 15.0,
    ) -> None:
        self.url = rig_ws_url(server_url)
        self.spool = spool
        self.stats = UplinkStats()
        self._token = token
        # seconds between looks at the spool when nobody calls wake(); a producer that wakes
        # the uplink after each commit lets the caller make this long
        self._poll_interval = poll_interval or batch_interval
        self._backoff = (backoff_min, backoff_max)  # seconds
        self._on_message = on_message
        self._on_cue = on_cue
        # control messages for the server (cue acks and reports), sent in order on the socket
        # of the moment; those queued while disconnected go out after the next connect
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._on_status = on_status
        self._window = window
        self._welcome_timeout = welcome_timeout
        self._open_timeout = open_timeout
        # seconds between pings, and to wait for the pong: a socket that stops reading
        # without closing (a stalled link) is given up after at most twice this
        self._ping = ping_interval
        self._stop = asyncio.Event()
        self._welcomes: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._current: str | None = None  # session the server's acks refer to
        self._acked = -1  # highest seq of ``_current`` the server acked
        self._deleted = -1  # highest seq of ``_current`` already deleted from the spool
        self._ack_flush_at = 0.0  # monotonic seconds
        self._ack_seen_at = 0.0  # monotonic seconds of the last ack, or of sending into an empty window
        self._ack_timeout = ACK_TIMEOUT
        self._wake = asyncio.Event()  # new frames spooled, or an awaited ack came
        # an ack only wakes the send loop when it waits for one (full window, ending session):
        # while streaming, the next commit wakes it anyway
        self._ack_wakes = False
        self._ending: set[str] = set()  # sessions the producer said it ended (offer of no frames)
        # (session uid, first seq, frames) the producer committed, oldest first; loop thread only
        self._recent: deque[tuple[str, int, list[QFrame]]] = deque(maxlen=RECENT_BATCHES)
        self._loop: asyncio.AbstractEventLoop | None = None
        # old uid -> (new uid, shift) of sessions moved on (session_move); loop thread only
        self._moved: dict[str, tuple[str, int]] = {}
        self._progressed = False  # this connection got an ack that moved on, or lasted
        self._end_on_stop = False
        # set each time the send loop finds the spool empty (all sent, acked and ended)
        self.drained = asyncio.Event()

    def stop(self, *, end_session: bool = False) -> None:
        """Ask ``run`` to close the socket cleanly and return (call from the event loop).

        ``end_session``: first send ``end`` for the session being streamed, even with frames
        not sent or not acked yet (a shutdown that could not drain in time). The server ends it
        at once instead of after its silence sweep; the spool keeps what it has not acked, and
        the next run sends that as a new session (the server answers the old uid with
        ``ended``, docs/protocol.md), so nothing is lost.
        """
        self._end_on_stop = self._end_on_stop or end_session
        self._stop.set()

    def wake(self) -> None:
        """Say that new frames are in the spool; safe to call from the producer's thread.

        The send loop sleeps until woken (or until ``batch_interval`` passes, for spools filled
        by someone who never calls this), so a batch leaves as soon as the producer commits it
        and the event loop does not poll an idle spool.
        """
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def offer(self, session_uid: str, first_seq: int, frames: list[QFrame]) -> None:
        """``wake``, handing over the frames just committed to the spool as ``first_seq``...;
        no frames means the session was just ended. Safe to call from the producer's thread
        (which must not change ``frames`` afterwards)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._take, session_uid, first_seq, frames)

    def _take(self, session_uid: str, first_seq: int, frames: list[QFrame]) -> None:
        if session_uid in self._moved:  # the producer still writes under the session's old name
            session_uid, shift = self._moved[session_uid]
            first_seq -= shift
        if frames:
            self._recent.append((session_uid, first_seq, frames))
        else:
            self._ending.add(session_uid)  # its last acks must wake the send loop
        self._wake.set()

    async def run(self, *, until_drained: bool = False) -> None:
        """Connect, stream and reconnect until ``stop()``; with ``until_drained``, return once
        every spooled session is acked and ended. Raises UplinkStopped on a fatal refusal."""
        self._loop = asyncio.get_running_loop()
        failures = 0
        while not self._stop.is_set():
            try:
                await self._connection(until_drained)
                break  # stop() was called, or everything is drained
            except _Disconnect as exc:
                # Only a connection that got somewhere resets the backoff: one refused right
                # after its welcome must not make the rig reconnect twice a second forever.
                failures = 0 if self._progressed else failures + 1
                self._note_error(str(exc))
            except UplinkStopped:
                self._set_state("stopped")
                raise
            await self._pause(self._delay(failures))
        self._set_state("stopped")

    def _delay(self, failures: int) -> float:
        # exponential backoff with full jitter: a fleet of rigs does not reconnect in lockstep
        # after a server restart (AWS Architecture Blog, "Exponential Backoff and Jitter")
        lo, hi = self._backoff
        return random.uniform(0, min(hi, lo * 2 ** min(failures, 30)))

    async def _pause(self, seconds: float) -> None:
        self._set_state("backoff")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def _note_error(self, text: str) -> None:
        self.stats.last_error = text
        log.info("uplink: %s", text)

    def _set_state(self, state: str) -> None:
        if self.stats.state != state:
            self.stats.state = state
            if self._on_status:
                self._on_status(self.stats)

    # one connection

    async def _connection(self, until_drained: bool) -> None:
        """One connection's life; returns on stop() or when drained, raises on anything else."""
        self._set_state("connecting")
        self._progressed = False
        try:
            async with connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                open_timeout=self._open_timeout,
                # batches are already zlib-compressed: permessage-deflate would only cost CPU
                # and ~300 KB of zlib state per socket
                compression=None,
                max_size=wire.MAX_MESSAGE_BYTES,
                ping_interval=self._ping,
                ping_timeout=self._ping,
                close_timeout=3,
            ) as ws:
                self.stats.connects += 1
                opened = time.monotonic()
                try:
                    await self._converse(ws, until_drained)
                finally:
                    self._progressed |= time.monotonic() - opened >= STABLE_AFTER
        except InvalidStatus as exc:
            raise _refusal_from_status(exc.response.status_code) from None
        except InvalidURI as exc:
            raise UplinkStopped(f"bad server URL: {exc}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Disconnect(f"cannot connect to {self.url}: {_describe(exc)}") from None

    async def _converse(self, ws: ClientConnection, until_drained: bool) -> None:
        self._welcomes = asyncio.Queue()
        self._current = None
        tasks = {
            asyncio.create_task(self._read_loop(ws)),
            asyncio.create_task(self._send_loop(ws, until_drained)),
            asyncio.create_task(self._control_loop(ws)),
            asyncio.create_task(self._stop.wait()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._flush_acks()
        if self._stop.is_set() and self._end_on_stop:
            await self._end_current(ws)
        errors = [t.exception() for t in done if not t.cancelled() and t.exception()]
        if errors or not any(t.result() for t in done):
            raise _closed(ws, errors[0] if errors else None)

    # server -> agent

    async def _read_loop(self, ws: ClientConnection) -> bool:
        async for raw in ws:
            if isinstance(raw, str):
                log.warning("uplink: ignoring a text message from the server")
                continue
            msg = _parse(raw)
            if msg is None:
                log.warning("uplink: ignoring a malformed server message (%d bytes)", len(raw))
                continue
            self._dispatch(msg)
        return False  # the server closed the socket normally: reconnect

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "welcome":
            self._welcomes.put_nowait(msg)
        elif kind == "ack":
            self._on_ack(msg.get("seq"))
        elif kind in ("coaching", "note"):
            if self._on_message:
                self._on_message(msg)
        elif kind not in CUE_MESSAGES:
            log.debug("uplink: ignoring server message of type %r", kind)
        if kind in CUE_MESSAGES:
            self._dispatch_cue(msg)

    def _dispatch_cue(self, msg: dict[str, Any]) -> None:
        if self._on_cue is not None:
            self._on_cue(msg)

    def send_control(self, msg: dict[str, Any]) -> None:
        """Queue a control message (a map with a ``type``) for the server; safe from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._outbox.put_nowait, msg)

    async def _control_loop(self, ws: ClientConnection) -> bool:
        while True:
            msg = await self._outbox.get()
            await self._send(ws, wire.encode_control(msg))

    def _on_ack(self, seq: Any) -> None:
        if self._current is None or not isinstance(seq, int) or isinstance(seq, bool):
            return
        # Deleting from the spool waits for _flush_acks: one transaction a second instead of
        # one per batch. A crash before it only means a few acked frames are sent again,
        # which the server drops as duplicates.
        if seq > self._acked:
            self._ack_seen_at = time.monotonic()
            self._progressed = True
        self._acked = max(self._acked, seq)
        self.stats.acked_seq = max(self.stats.acked_seq, seq)
        if self._ack_wakes:
            self._wake.set()

    def _flush_acks(self) -> None:
        if self._current is not None and self._acked > self._deleted:
            self.spool.ack(self._current, self._acked)
            self._deleted = self._acked

    # agent -> server

    async def _send_loop(self, ws: ClientConnection, until_drained: bool) -> bool:
        session: SpoolSession | None = None
        cursor = -1  # highest seq sent on this socket for ``session``
        while True:
            if session is None:
                session = self._next_session()
                if session is None:
                    self.drained.set()
                    if until_drained:
                        return True
                    await self._idle()
                    continue
                session, cursor = await self._greet(ws, session)
            self._wake.clear()  # a wake from here on means news after this read
            self._ack_wakes = False
            cursor, sent, more = await self._pump(ws, session.uid, cursor)
            if time.monotonic() >= self._ack_flush_at:
                self._ack_flush_at = time.monotonic() + ACK_FLUSH_EVERY
                self._flush_acks()
            self._check_acks(cursor)
            if more:
                continue
            # waiting for acks (full window, or an ended session's last ones): wake on them
            self._ack_wakes = cursor > self._acked and (sent == 0 or session.uid in self._ending)
            if sent == 0:
                # Nothing new: only now re-read the session row, to see whether it has ended.
                session = self.spool.session_get(session.uid)
                if session is not None and self._drained(session, cursor):
                    await self._finish(ws, session)
                    session = None
                    continue
            await self._idle()

    def _drained(self, session: SpoolSession, cursor: int) -> bool:
        last = session.next_seq - 1
        return session.ended and cursor >= last and self._acked >= last

    def _check_acks(self, cursor: int) -> None:
        # A server that keeps the socket open but stopped acking (a stuck writer) would
        # otherwise hold the window shut forever: pings still get their pongs.
        stuck = time.monotonic() - self._ack_seen_at > self._ack_timeout
        if cursor > self._acked and stuck:
            raise _Disconnect(f"no ack for {self._ack_timeout:g} s with frames in flight")

    async def _idle(self) -> None:
        # asyncio.timeout, not wait_for: wait_for wraps the wait in a new Task every time
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._poll_interval):
                await self._wake.wait()

    def _next_session(self) -> SpoolSession | None:
        sessions = self.spool.sessions()
        return sessions[0] if sessions else None

    async def _greet(self, ws: ClientConnection, session: SpoolSession) -> tuple[SpoolSession, int]:
        """Say hello for ``session``; return the session to stream (moved on, if the server
        cannot continue it) and the server's last sequence for it."""
        while True:
            last, ended = await self._hello(ws, session)
            if last >= 0:
                self.spool.ack(session.uid, last)
            moved = self._move_if_stranded(session, last, ended)
            if moved is None:
                break
            session = moved
        self._current = session.uid
        self._acked = self._deleted = last
        self._ack_seen_at = time.monotonic()
        self.stats.session_uid = session.uid
        self.stats.acked_seq = last
        self.stats.sent_seq = last
        self._set_state("streaming")
        return session, last

    async def _hello(self, ws: ClientConnection, session: SpoolSession) -> tuple[int, bool]:
        self._current = None  # acks arriving before the welcome are not for this session
        await self._send(ws, wire.encode_control(hello_message(session, self._newest_t(session.uid))))
        try:
            welcome = await asyncio.wait_for(self._welcomes.get(), self._welcome_timeout)
        except TimeoutError:
            raise _Disconnect(f"no welcome within {self._welcome_timeout:g} s") from None
        last = welcome.get("last_seq", -1)
        last = last if isinstance(last, int) and not isinstance(last, bool) else -1
        return last, welcome.get("ended") is True

    def _newest_t(self, uid: str) -> float | None:
        """The time of the newest frame of ``uid`` the producer handed over (where the car is
        now, while a backlog waits to be sent), or None."""
        for batch_uid, _, frames in reversed(self._recent):
            if batch_uid == uid and frames:
                return float(frames[-1][T_ID] * T_RES)
        return None

    def _move_if_stranded(self, session: SpoolSession, last: int, ended: bool) -> SpoolSession | None:
        """The session under a new uid when the server cannot take its next frames, else None.

        Two cases, both final for that uid (docs/protocol.md, "Sessions the server cannot
        continue"): the server ended the session (its silence sweep, during an outage), or its
        next frame is past the server's ``last_seq`` + 1 (a sequence gap: a spool left from
        another server, a restored database). Resending would be refused forever, so what is
        not on the server yet continues as a new session from seq 0: nothing is lost, and
        nothing the server holds is sent twice.
        """
        session = self.spool.session_get(session.uid) or session  # the producer may have added frames
        pending = self.spool.unacked(session.uid, last, 1)
        first = pending[0][0] if pending else session.next_seq
        if not (ended or first > last + 1) or (session.ended and not pending):
            return None  # continues; or an ended session with nothing left: `end` it as usual
        new_uid = new_session_uid(str(session.hello.get("game", "rig")))
        moved = self.spool.session_move(session.uid, new_uid, first)
        for old, (uid, shift) in list(self._moved.items()):
            if uid == session.uid:
                self._moved[old] = (new_uid, shift + first)
        self._moved[session.uid] = (new_uid, first)
        why = "ended it" if ended else f"has frames up to {last} only, the spool starts at {first}"
        log.warning(
            "uplink: the server %s: session %s continues as new session %s (%d frames to send)",
            why,
            session.uid,
            new_uid,
            moved.next_seq,
        )
        return moved

    async def _pump(self, ws: ClientConnection, uid: str, cursor: int) -> tuple[int, int, bool]:
        """Send the next spooled frames after ``cursor``; return (new cursor, frames sent,
        more waiting)."""
        room = self._window - (cursor - self._acked)
        if room <= 0:
            return cursor, 0, False  # too much in flight: wait for acks
        limit = min(room, wire.MAX_FRAMES_PER_BATCH)
        runs = self._from_memory(uid, cursor, limit)
        if runs is None:
            runs = _runs(self.spool.unacked(uid, cursor, limit))
        count = sum(len(frames) for _, frames in runs)
        if count and cursor <= self._acked:
            self._ack_seen_at = time.monotonic()  # the ack clock starts with the first frame in flight
        for first, frames in runs:
            await self._send_frames(ws, first, frames)
            cursor = first + len(frames) - 1
        self.stats.sent_seq = cursor
        return cursor, count, count == limit

    def _from_memory(self, uid: str, cursor: int, limit: int) -> list[tuple[int, list[QFrame]]] | None:
        """Up to ``limit`` frames after ``cursor`` from the batches the producer handed over, or
        None if the next frame is not among them (a reconnect, a backlog): read the spool then."""
        recent = self._recent
        # drop what was sent already, and other sessions' batches (read from the spool later)
        while recent and (recent[0][0] != uid or recent[0][1] + len(recent[0][2]) <= cursor + 1):
            recent.popleft()
        want = cursor + 1
        if not recent or recent[0][1] > want:
            return None
        frames: list[QFrame] = []
        for batch_uid, first, batch in recent:
            if batch_uid != uid or first > want or len(frames) >= limit:
                break
            frames += batch[want - first :]
            want = first + len(batch)
        return [(cursor + 1, frames[:limit])]

    async def _send_frames(self, ws: ClientConnection, first: int, frames: list[QFrame]) -> None:
        data = wire.encode_quantised(first, frames)
        if len(data) > wire.MAX_MESSAGE_BYTES and len(frames) > 1:
            half = len(frames) // 2  # rare: only a long replay of a very noisy source
            await self._send_frames(ws, first, frames[:half])
            await self._send_frames(ws, first + half, frames[half:])
            return
        await self._send(ws, data)
        self.stats.frames_sent += len(frames)

    async def _finish(self, ws: ClientConnection, session: SpoolSession) -> None:
        await self._send(ws, wire.encode_control({"type": "end"}))
        self.spool.session_forget(session.uid)
        self._ending.discard(session.uid)
        self._current = None

    async def _end_current(self, ws: ClientConnection) -> None:
        """The parting ``end`` of a shutdown; the session stays in the spool with what is left."""
        uid = self._current
        if uid is None:
            return  # nothing greeted on this socket (or the session was drained and ended)
        try:
            async with asyncio.timeout(END_SEND_TIMEOUT):
                await self._send(ws, wire.encode_control({"type": "end"}))
        except (ConnectionClosed, OSError, TimeoutError) as exc:
            log.info("uplink: could not end session %s on the way out (%s)", uid, _describe(exc))
            return
        self._current = None
        log.info("uplink: ended session %s; %d frames stay spooled", uid, self.spool.size(uid))

    async def _send(self, ws: ClientConnection, data: bytes) -> None:
        await ws.send(data)  # waits while the socket's write buffer is full: backpressure
        self.stats.bytes_sent += len(data)


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        return wire.decode_message(raw)
    except wire.WireError:
        return None


def _runs(rows: list[tuple[int, QFrame]]) -> list[tuple[int, list[QFrame]]]:
    """Split (seq, frame) rows into runs of consecutive seqs (a batch must be consecutive)."""
    runs: list[tuple[int, list[QFrame]]] = []
    for seq, frame in rows:
        if runs and runs[-1][0] + len(runs[-1][1]) == seq:
            runs[-1][1].append(frame)
        else:
            runs.append((seq, [frame]))
    return runs


def _closed(ws: ClientConnection, error: BaseException | None) -> Exception:
    """Turn the end of a connection into a reconnect (_Disconnect) or a fatal UplinkStopped."""
    code, reason = ws.close_code, ws.close_reason or ""
    if code in (wire.CLOSE_UNAUTHORIZED, wire.CLOSE_REVOKED):
        return _auth_refusal(code, reason)
    if code == wire.CLOSE_VERSION:
        return UplinkStopped(f"the server needs a newer agent: {reason or 'protocol not supported'}", code)
    if code in (wire.CLOSE_PROTOCOL_ERROR, wire.CLOSE_TOO_BIG):
        log.warning("uplink: the server closed the socket (%s: %s); resyncing", code, reason)
    if error is not None and not isinstance(error, ConnectionClosed | OSError | _Disconnect | TimeoutError):
        return error if isinstance(error, Exception) else _Disconnect(repr(error))
    detail = (
        f"{code} {reason or CLOSE_MEANING.get(code, '')}".strip() if code is not None else _describe(error)
    )
    return _Disconnect(f"connection lost ({detail})")


# Daphne does not pass close reasons on: what the codes the agent may retry after mean.
CLOSE_MEANING: Final = {
    wire.CLOSE_PROTOCOL_ERROR: "protocol error",
    wire.CLOSE_TOO_BIG: "message too big",
    wire.CLOSE_TOO_MANY: "too many wrong rig tokens from this address; retrying later",
    wire.CLOSE_TRY_AGAIN: "the server asks to resend later",
    wire.CLOSE_SERVER_ERROR: "server error",
}


def _auth_refusal(code: int, reason: str) -> UplinkStopped:
    what = "revoked" if code == wire.CLOSE_REVOKED else "not accepted"
    extra = f" ({reason})" if reason else ""
    return UplinkStopped(
        f"the server says the rig token is {what}{extra}: run 'simcoach-agent pair' again", code
    )


def _refusal_from_status(status: int) -> Exception:
    # Channels refuses a socket before accept() with an HTTP status instead of a close code
    if status in (401, 403):
        return _auth_refusal(
            wire.CLOSE_UNAUTHORIZED if status == 401 else wire.CLOSE_REVOKED, f"HTTP {status}"
        )
    if status == 426:
        return UplinkStopped("the server needs a newer agent (HTTP 426)", wire.CLOSE_VERSION)
    return _Disconnect(f"the server answered HTTP {status} instead of opening the socket")


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "closed"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
