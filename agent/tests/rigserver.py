"""A small real WebSocket server speaking the server side of docs/protocol.md, for agent tests.

It checks the Bearer token, answers hello with welcome/last_seq, stores frames by
(session_uid, seq), acks what it holds, and can misbehave on request: drop the socket after
given batches, stop acking, close with a given code, or go away and come back on the same port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from simcoach_agent import wire


@dataclass
class Store:
    """What the fake server holds; survives a server restart (it is the 'trace store')."""

    frames: dict[str, dict[int, dict[str, float]]] = field(default_factory=dict)
    arrivals: dict[str, list[int]] = field(default_factory=dict)  # new seqs, in arrival order
    duplicates: int = 0
    gaps: list[tuple[str, int, int]] = field(default_factory=list)  # (uid, expected, got)
    hellos: list[dict[str, Any]] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    batches: list[tuple[int, str, int, int]] = field(default_factory=list)  # (conn, uid, seq, n)
    connections: int = 0
    controls: list[dict[str, Any]] = field(default_factory=list)  # cue acks and reports, in order
    tokens_seen: list[str] = field(default_factory=list)

    def last_seq(self, uid: str) -> int:
        held = self.frames.get(uid, {})
        seq = -1
        while seq + 1 in held:
            seq += 1
        return seq


@dataclass
class Behaviour:
    token: str = "sc_rig_good"
    revoked: set[str] = field(default_factory=set)
    http_status: int | None = None  # refuse the handshake with this HTTP status
    close_after_hello: tuple[int, str] | None = None  # (code, reason) instead of welcome
    drop_after_batches: set[int] = field(default_factory=set)  # global batch numbers (1-based)
    close_with: dict[int, tuple[int, str]] = field(default_factory=dict)  # batch number -> close
    ack_upto: int | None = None  # never ack beyond this seq (a stalled trace store)
    greet_with: list[dict[str, Any]] = field(default_factory=list)  # sent right after welcome
    ended: set[str] = field(default_factory=set)  # session uids the server ended (its silence sweep)
    # the server's live coaching: given each stored batch's columns, the messages to send after its ack
    coach: Callable[[dict[str, list[float]]], list[dict[str, Any]]] | None = None


class RigServer:
    def __init__(
        self, store: Store | None = None, behaviour: Behaviour | None = None, *, port: int = 0
    ) -> None:
        self.store = store or Store()
        self.behaviour = behaviour or Behaviour()
        self.port = port  # 0: pick a free one; reuse a port to come back after stop()
        self._server: Server | None = None
        self._batch_no = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> RigServer:
        self._server = await serve(
            self._handle, "127.0.0.1", self.port, process_request=self._check_http, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _check_http(self, conn: ServerConnection, request: Request) -> Response | None:
        if request.path != "/ws/rig/":
            return conn.respond(404, "no such endpoint\n")
        if self.behaviour.http_status is not None:
            return Response(self.behaviour.http_status, "Refused", Headers(), b"")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.store.connections += 1
        conn_no = self.store.connections
        token = ws.request.headers.get("Authorization", "").removeprefix("Bearer ")
        self.store.tokens_seen.append(token)
        if token in self.behaviour.revoked:
            await ws.close(wire.CLOSE_REVOKED, "rig token revoked")
            return
        if token != self.behaviour.token:
            await ws.close(wire.CLOSE_UNAUTHORIZED, "unknown rig token")
            return
        uid: str | None = None
        async for raw in ws:
            msg = wire.decode_message(raw)  # type: ignore[arg-type]
            if msg["type"] == "hello":
                uid = await self._hello(ws, msg)
                if uid is None:
                    return
            elif msg["type"] == "frames":
                assert uid is not None, "frames before hello"
                if not await self._frames(ws, conn_no, uid, msg):
                    return
            elif msg["type"] == "end":
                assert uid is not None
                self.store.ended.append(uid)
            elif msg["type"] in ("cue_ack", "cue_spoken"):
                self.store.controls.append(msg)

    async def _hello(self, ws: ServerConnection, msg: dict[str, Any]) -> str | None:
        self.store.hellos.append(msg)
        if self.behaviour.close_after_hello is not None:
            await ws.close(*self.behaviour.close_after_hello)
            return None
        if msg.get("protocol") != wire.PROTOCOL_VERSION:
            await ws.close(wire.CLOSE_VERSION, "protocol not supported")
            return None
        uid = str(msg["session_uid"])
        self.store.frames.setdefault(uid, {})
        self.store.arrivals.setdefault(uid, [])
        welcome = {
            "type": "welcome",
            "session_id": len(self.store.frames),
            "last_seq": self.store.last_seq(uid),
            "ended": uid in self.behaviour.ended,
        }
        await ws.send(wire.encode_control(welcome))
        for extra in self.behaviour.greet_with:
            await ws.send(wire.encode_control(extra))
        return uid

    async def _frames(self, ws: ServerConnection, conn_no: int, uid: str, msg: dict[str, Any]) -> bool:
        self._batch_no += 1
        seq, n, cols = wire.decode_batch(msg)
        self.store.batches.append((conn_no, uid, seq, n))
        if uid in self.behaviour.ended:
            await ws.close(wire.CLOSE_PROTOCOL_ERROR, "session has ended; start a new session")
            return False
        if self._batch_no in self.behaviour.close_with:
            await ws.close(*self.behaviour.close_with[self._batch_no])
            return False
        if self._batch_no in self.behaviour.drop_after_batches:
            ws.transport.abort()  # a network cut: no close frame, nothing stored, no ack
            return False
        self._store(uid, seq, n, cols)
        top = self.store.last_seq(uid)
        if self.behaviour.ack_upto is not None:
            top = min(top, self.behaviour.ack_upto)
        if top >= 0:
            await ws.send(wire.encode_control({"type": "ack", "seq": top}))
        for said in self.behaviour.coach(cols) if self.behaviour.coach is not None else []:
            await ws.send(wire.encode_control(said))
        return True

    def _store(self, uid: str, seq: int, n: int, cols: dict[str, list[float]]) -> None:
        held = self.store.frames[uid]
        expected = self.store.last_seq(uid) + 1
        if seq > expected:
            self.store.gaps.append((uid, expected, seq))
        for i in range(n):
            if seq + i in held:
                self.store.duplicates += 1
                continue
            held[seq + i] = {name: values[i] for name, values in cols.items()}
            self.store.arrivals[uid].append(seq + i)


async def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    """Poll a condition (no timing assertions: the timeout only stops a hung test)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met before the test timeout")
        await asyncio.sleep(0.005)
