"""The rig socket's edges through the real ASGI stack: everything before hello, oversize
messages, unknown paths, text that the database cannot hold, token guessing, and a session
the server ended while the rig was away."""

from __future__ import annotations

import uuid
from typing import Any

import msgpack
import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from apps.sessions.models import Session
from apps.sessions.services import session_end
from apps.telemetry.services import RIG_TOKEN_FAILS_PER_IP
from simcoach_agent import wire
from simcoach_site.asgi import application
from simcoach_site.events import rig_group

from .frames import loop_frames, stored_count
from .test_consumers import HELLO, closed_with, open_session, receive_msg, rig_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def connected_rig(token: str, ip: str | None = None) -> WebsocketCommunicator:
    comm = rig_socket(token)
    if ip is not None:
        comm.scope["client"] = (ip, 50000)  # what Daphne puts there: the peer's address
    connected, _ = await comm.connect()
    assert connected
    return comm


# ---- before hello


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "end"}, "send hello before end"),
        ({"type": "frames", "seq": 0, "n": 1, "z": b""}, "send hello before frames"),
        ({"type": "ack", "seq": 3}, "unknown message type 'ack'"),
        ({"type": "welcome"}, "unknown message type 'welcome'"),
        ({"type": ""}, "unknown message type ''"),
    ],
)
async def test_it_refuses_every_message_before_hello_with_4400(
    rig_and_token, message: dict[str, Any], reason: str
) -> None:
    rig, token = rig_and_token
    comm = await connected_rig(token)
    await comm.send_to(bytes_data=wire.encode_control(message))
    code, got = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and reason in got
    await comm.disconnect()  # a crashed consumer would raise here
    groups = getattr(get_channel_layer(), "groups", None)  # the in-memory layer's table
    assert groups is None or not groups.get(rig_group(rig.pk))  # no subscription left behind


async def test_it_refuses_good_frames_before_hello(rig_and_token) -> None:
    _, token = rig_and_token
    comm = await connected_rig(token)
    await comm.send_to(bytes_data=wire.encode_batch(0, loop_frames(n=3)))
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and reason == "send hello before frames"
    await comm.disconnect()


async def test_it_refuses_end_after_the_session_was_ended(rig_and_token) -> None:
    _, token = rig_and_token
    comm, _ = await open_session(token)
    await comm.send_to(bytes_data=wire.encode_control({"type": "end"}))
    await comm.send_to(bytes_data=wire.encode_control({"type": "end"}))
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and reason == "send hello before end"
    await comm.disconnect()


# ---- size


@pytest.mark.parametrize("size", [wire.MAX_MESSAGE_BYTES + 1, 900 * 1024])
async def test_it_closes_an_oversize_binary_message_with_4413(rig_and_token, size: int) -> None:
    _, token = rig_and_token
    comm, _ = await open_session(token)
    await comm.send_to(bytes_data=b"\x00" * size)  # not even msgpack: the size is judged first
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_TOO_BIG and f"{size} bytes exceeds" in reason
    await comm.disconnect()


async def test_it_closes_an_oversize_text_message_with_4413(rig_and_token) -> None:
    _, token = rig_and_token
    comm = await connected_rig(token)
    await comm.send_to(text_data="é" * (wire.MAX_MESSAGE_BYTES // 2 + 1))  # two bytes each
    assert (await closed_with(comm))[0] == wire.CLOSE_TOO_BIG
    await comm.disconnect()


# ---- unknown paths


async def test_it_closes_a_socket_to_an_unknown_path_with_4404() -> None:
    comm = WebsocketCommunicator(application, "/ws/nothing-here/", headers=[(b"origin", b"http://localhost")])
    connected, _ = await comm.connect()
    assert connected
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_NOT_FOUND and reason == "no WebSocket at this path"
    await comm.disconnect()


async def test_it_refuses_an_unknown_path_without_an_origin_at_the_handshake() -> None:
    comm = WebsocketCommunicator(application, "/favicon.ico")
    connected, _ = await comm.connect()
    assert not connected
    await comm.disconnect()


# ---- text the database cannot hold


@pytest.mark.parametrize("key", ["track", "car", "car_class", "session_uid", "agent"])
async def test_it_refuses_a_nul_character_in_hello(rig_and_token, key: str) -> None:
    _, token = rig_and_token
    comm = await connected_rig(token)
    await comm.send_to(bytes_data=wire.encode_control({**HELLO, key: "Spa\x00"}))
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and f"'{key}' must not contain NUL" in reason
    await comm.disconnect()
    assert await Session.objects.acount() == 0


async def test_it_refuses_a_lone_surrogate_in_hello(rig_and_token) -> None:
    _, token = rig_and_token
    comm = await connected_rig(token)
    # msgpack cannot even encode "\ud800"; a client that writes its UTF-8 form by hand:
    lone = msgpack.packb({**HELLO, "track": "SURROGATE"}).replace(b"\xa9SURROGATE", b"\xa3\xed\xa0\x80")
    await comm.send_to(bytes_data=lone)
    code, reason = await closed_with(comm)
    assert code == wire.CLOSE_PROTOCOL_ERROR and "lone surrogates" in reason
    await comm.disconnect()
    assert await Session.objects.acount() == 0


# ---- guessing tokens


async def test_it_throttles_wrong_rig_tokens_per_address(rig_and_token) -> None:
    _, token = rig_and_token
    ip, other = f"10.{uuid.uuid4().int % 250}.0.1", "192.0.2.77"
    for _ in range(RIG_TOKEN_FAILS_PER_IP):
        comm = await connected_rig("sc_rig_guess", ip)
        assert (await closed_with(comm))[0] == wire.CLOSE_UNAUTHORIZED
        await comm.disconnect()
    for guess in ("sc_rig_guess", token):  # blocked alike: a right token is not told apart
        comm = await connected_rig(guess, ip)
        code, reason = await closed_with(comm)
        assert code == wire.CLOSE_TOO_MANY and "too many wrong rig tokens" in reason
        await comm.disconnect()
    comm = await connected_rig(token, other)  # other addresses are not affected
    await comm.send_to(bytes_data=wire.encode_control({**HELLO, "session_uid": "other"}))
    assert (await receive_msg(comm))["type"] == "welcome"
    await comm.disconnect()


# ---- a session the server ended while the rig was away


async def test_it_says_at_welcome_that_a_session_has_ended_and_takes_the_rest_as_a_new_one(
    rig_and_token,
) -> None:
    _, token = rig_and_token
    comm, welcome = await open_session(token)
    frames = loop_frames(n=20)
    await comm.send_to(bytes_data=wire.encode_batch(0, frames[:10]))
    assert (await receive_msg(comm))["seq"] == 9
    await comm.disconnect()
    first = await Session.objects.aget(pk=welcome["session_id"])
    await database_sync_to_async(session_end)(session=first)  # the silence sweep, during an outage

    comm, again = await open_session(token)  # the agent resends with the same session_uid
    assert again == {"type": "welcome", "session_id": first.pk, "last_seq": 9, "ended": True}
    # what it has not sent goes as a new session, numbered from 0, on the same socket
    await comm.send_to(bytes_data=wire.encode_control({**HELLO, "session_uid": "uid-1-moved"}))
    fresh = await receive_msg(comm)
    assert fresh["session_id"] != first.pk and fresh["last_seq"] == -1 and fresh["ended"] is False
    late = loop_frames(n=20)[10:]
    await comm.send_to(bytes_data=wire.encode_batch(0, late))
    assert await receive_msg(comm) == {"type": "ack", "seq": 9}
    await comm.disconnect()
    assert await database_sync_to_async(stored_count)(first.pk) == 10
    assert await database_sync_to_async(stored_count)(fresh["session_id"]) == 10


async def test_it_takes_nothing_more_from_a_socket_refused_for_its_token() -> None:
    comm = await connected_rig("sc_rig_wrong", "198.51.100.9")
    await comm.send_to(bytes_data=wire.encode_control(HELLO))  # sent before the close arrived
    assert (await closed_with(comm))[0] == wire.CLOSE_UNAUTHORIZED
    await comm.disconnect()  # a consumer that tried to open a session without a rig would raise
    assert await Session.objects.acount() == 0


# ---- the same edges through a real Daphne (its own 1 MiB limit sits above ours)


@pytest.mark.parametrize("size", [wire.MAX_MESSAGE_BYTES + 1, 1024 * 1024 - 64])  # ours < size < Daphne's
def test_a_real_daphne_closes_an_oversize_message_with_4413(
    daphne_url: str, rig_and_token, size: int
) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    _, token = rig_and_token
    url = daphne_url.replace("http", "ws", 1) + "/ws/rig/"
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:
        ws.send(b"\x00" * size)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert ws.close_code == wire.CLOSE_TOO_BIG  # (Daphne sends no close reasons)


def test_a_real_daphne_closes_an_unknown_path_with_4404(daphne_url: str) -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    url = daphne_url.replace("http", "ws", 1) + "/ws/nowhere/"
    with connect(url, additional_headers={"Origin": daphne_url}) as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert ws.close_code == wire.CLOSE_NOT_FOUND
