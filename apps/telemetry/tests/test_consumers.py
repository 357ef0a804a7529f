"""The rig and viewer sockets through the real ASGI stack (auth middleware, origin checks)."""

from __future__ import annotations

import math
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.sessions.models import Lap, Session
from simcoach_agent import wire
from simcoach_site.asgi import application

from .frames import loop_frames, stored_count

pytestmark = pytest.mark.django_db(transaction=True)

HELLO = {
    "type": "hello",
    "protocol": wire.PROTOCOL_VERSION,
    "agent": "0.1.0",
    "game": "demo",
    "track": "Test Loop",
    "car": "Test Car",
    "car_class": "GT3",
    "kind": "practice",
    "session_uid": "uid-1",
    "track_length_m": 1000.0,
}


def rig_socket(token: str | None) -> WebsocketCommunicator:
    headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
    return WebsocketCommunicator(application, "/ws/rig/", headers=headers)


async def closed_with(comm: WebsocketCommunicator) -> tuple[int, str]:
    out = await comm.receive_output(timeout=5)
    while out["type"] != "websocket.close":
        out = await comm.receive_output(timeout=5)
    return out["code"], out.get("reason", "")


async def receive_msg(comm: WebsocketCommunicator) -> dict[str, Any]:
    return msgpack.unpackb(await comm.receive_from(timeout=5))


async def send_hello(token: str, hello: dict[str, Any] = HELLO) -> WebsocketCommunicator:
    comm = rig_socket(token)
    connected, _ = await comm.connect()
    assert connected
    await comm.send_to(bytes_data=wire.encode_control(hello))
    return comm


async def open_session(
    token: str, hello: dict[str, Any] = HELLO
) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = await send_hello(token, hello)
    return comm, await receive_msg(comm)


async def test_it_refuses_a_socket_without_a_token() -> None:
    comm = rig_socket(None)
    await comm.connect()
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_UNAUTHORIZED
    assert "no rig token" in reason and "simcoach-agent pair" in reason


async def test_it_refuses_a_wrong_token() -> None:
    comm = rig_socket("sc_rig_not-a-real-token")
    await comm.connect()
    assert (await closed_with(comm))[0] == wire.CLOSE_UNAUTHORIZED


async def test_it_refuses_a_revoked_token(rig_and_token) -> None:
    rig, token = rig_and_token
    from apps.accounts.services import rig_revoke

    await database_sync_to_async(rig_revoke)(rig=rig)
    comm = rig_socket(token)
    await comm.connect()
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_UNAUTHORIZED and "revoked" in reason


async def test_it_closes_an_open_socket_when_the_rig_is_revoked(rig_and_token) -> None:
    rig, token = rig_and_token
    comm, welcome = await open_session(token)
    assert welcome["type"] == "welcome"
    from apps.accounts.services import rig_revoke

    await database_sync_to_async(rig_revoke)(rig=rig)
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_REVOKED and "revoked" in reason


async def test_it_welcomes_a_hello_and_acks_stored_frames(rig_and_token) -> None:
    _, token = rig_and_token
    comm, welcome = await open_session(token)
    assert welcome == {"type": "welcome", "session_id": welcome["session_id"], "last_seq": -1, "ended": False}
    await comm.send_to(bytes_data=wire.encode_batch(0, loop_frames(n=30)))
    assert await receive_msg(comm) == {"type": "ack", "seq": 29}
    await comm.disconnect()
    session = await Session.objects.aget(pk=welcome["session_id"])
    assert (session.last_seq, session.frame_count, session.state) == (29, 30, "live")


async def test_it_stores_a_replayed_batch_once_and_acks_it_again(rig_and_token) -> None:
    _, token = rig_and_token
    comm, welcome = await open_session(token)
    frames = loop_frames(n=60)
    await comm.send_to(bytes_data=wire.encode_batch(0, frames[:40]))
    assert (await receive_msg(comm))["seq"] == 39
    # A spool replay after a reconnect overlaps what the server holds.
    await comm.send_to(bytes_data=wire.encode_batch(20, frames[20:60]))
    assert (await receive_msg(comm))["seq"] == 59
    await comm.send_to(bytes_data=wire.encode_batch(0, frames[:10]))
    assert (await receive_msg(comm))["seq"] == 59
    await comm.disconnect()
    session = await Session.objects.aget(pk=welcome["session_id"])
    assert session.frame_count == 60
    assert await sync_to_async(stored_count)(session.pk) == 60


async def test_it_resumes_a_session_after_reconnect(rig_and_token) -> None:
    _, token = rig_and_token
    comm, welcome = await open_session(token)
    await comm.send_to(bytes_data=wire.encode_batch(0, loop_frames(n=50)))
    await receive_msg(comm)
    await comm.disconnect()
    comm, again = await open_session(token)
    assert again["session_id"] == welcome["session_id"] and again["last_seq"] == 49
    await comm.disconnect()


async def test_it_refuses_a_sequence_gap(rig_and_token) -> None:
    _, token = rig_and_token
    comm, _ = await open_session(token)
    await comm.send_to(bytes_data=wire.encode_batch(5, loop_frames(start_seq=5, n=5)))
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and "expected 0, got 5" in reason


async def test_it_records_laps_with_the_games_times(rig_and_token) -> None:
    _, token = rig_and_token
    comm, welcome = await open_session(token)
    frames = loop_frames(n=60 * 45)  # 45 s: two 20 s laps complete
    for seq in range(0, len(frames), 600):
        await comm.send_to(bytes_data=wire.encode_batch(seq, frames[seq : seq + 600]))
        await receive_msg(comm)
    await comm.disconnect()
    laps = [lap async for lap in Lap.objects.filter(session_id=welcome["session_id"]).order_by("number")]
    assert [lap.number for lap in laps] == [1, 2]
    assert [lap.time_ms for lap in laps] == [20000, 20000]
    assert all(len(lap.sector_ms) == 3 and abs(sum(lap.sector_ms) - 20000) <= 1 for lap in laps)


@pytest.mark.parametrize(
    ("payload", "code", "reason"),
    [
        (b"\xc1\xff garbage", wire.CLOSE_PROTOCOL_ERROR, "not msgpack"),
        (msgpack.packb([1, 2, 3]), wire.CLOSE_PROTOCOL_ERROR, "must be a map"),
        (msgpack.packb({"type": "launch"}), wire.CLOSE_PROTOCOL_ERROR, "unknown message type"),
        (b"\x00" * (wire.MAX_MESSAGE_BYTES + 1), wire.CLOSE_TOO_BIG, "exceeds"),
    ],
)
async def test_it_closes_on_malformed_messages(rig_and_token, payload: bytes, code: int, reason: str) -> None:
    _, token = rig_and_token
    comm = rig_socket(token)
    await comm.connect()
    await comm.send_to(bytes_data=payload)
    got_code, got_reason = await closed_with(comm)
    assert got_code == code and reason in got_reason


async def test_it_refuses_text_messages(rig_and_token) -> None:
    _, token = rig_and_token
    comm = rig_socket(token)
    await comm.connect()
    await comm.send_to(text_data='{"type": "hello"}')
    assert (await closed_with(comm))[0] == wire.CLOSE_PROTOCOL_ERROR


async def test_it_refuses_frames_before_hello(rig_and_token) -> None:
    _, token = rig_and_token
    comm = rig_socket(token)
    await comm.connect()
    await comm.send_to(bytes_data=wire.encode_batch(0, loop_frames(n=3)))
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and "hello" in reason


async def test_it_names_the_side_to_upgrade_on_a_version_mismatch(rig_and_token) -> None:
    _, token = rig_and_token
    comm = await send_hello(token, {**HELLO, "protocol": 99})
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_VERSION and "upgrade the server" in reason
    comm = await send_hello(token, {**HELLO, "protocol": 0})
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_VERSION and "upgrade the agent" in reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"game": "gran-turismo"}, "unknown game"),
        ({"kind": "drift"}, "unknown session kind"),
        ({"track": 12}, "'track'"),
        ({"car": "x" * 121}, "'car'"),
        ({"session_uid": 12}, "'session_uid'"),
        ({"track_length_m": float("nan")}, "track_length_m"),
    ],
)
async def test_it_refuses_a_bad_hello(rig_and_token, change: dict[str, Any], reason: str) -> None:
    _, token = rig_and_token
    comm = await send_hello(token, {**HELLO, **change})
    code, got = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and reason in got
    assert await Session.objects.acount() == 0


def _raw_batch(cols: dict[Any, Any], n: int = 2, seq: int = 0) -> bytes:
    import zlib

    return msgpack.packb({"type": "frames", "seq": seq, "n": n, "z": zlib.compress(msgpack.packb(cols))})


@pytest.mark.parametrize(
    ("batch", "reason"),
    [
        (_raw_batch({0: [1.5, float("nan")]}), "must be integers"),
        (_raw_batch({0: [10**9, 0], 1: [1, 0], 2: [0, 0], 3: [0, 0], 9: [10**12, 0]}), "outside"),
        (_raw_batch({0: [1, 2, 3]}), "expected 2 values"),
        (_raw_batch({999: [1, 2]}), "unknown channel"),
        (_raw_batch({0: [1, 1]}), "lacks required channels"),
        (msgpack.packb({"type": "frames", "seq": -1, "n": 2, "z": b""}), "'seq'"),
        (msgpack.packb({"type": "frames", "seq": 0, "n": 10**6, "z": b""}), "'n'"),
        (msgpack.packb({"type": "frames", "seq": 0, "n": 2, "z": b"not zlib"}), "corrupt"),
    ],
)
async def test_it_rejects_bad_batches_and_stores_nothing(rig_and_token, batch: bytes, reason: str) -> None:
    _, token = rig_and_token
    comm, welcome = await open_session(token)
    await comm.send_to(bytes_data=batch)
    code, got = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and reason in got
    assert await sync_to_async(stored_count)(welcome["session_id"]) == 0
    session = await Session.objects.aget(pk=welcome["session_id"])
    assert session.last_seq == -1


async def test_it_keeps_serving_other_rigs_after_a_bad_one(rig_and_token, django_user_model) -> None:
    _, token = rig_and_token
    bad = rig_socket(token)
    await bad.connect()
    await bad.send_to(bytes_data=b"\xff" * 100)
    await closed_with(bad)
    comm, welcome = await open_session(token, {**HELLO, "session_uid": "uid-2"})
    await comm.send_to(bytes_data=wire.encode_batch(0, loop_frames(n=3)))
    assert (await receive_msg(comm))["seq"] == 2
    await comm.disconnect()
    assert math.isfinite(welcome["session_id"])
