"""Viewers of a live session: owner only, same-origin only, throttled frames and lap events."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AbstractBaseUser

from simcoach_agent import wire
from simcoach_site.asgi import application

from .frames import loop_frames
from .test_consumers import open_session, receive_msg

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://localhost")


async def viewer(
    user: AbstractBaseUser | None, path: str, origin: tuple[bytes, bytes] | None = ORIGIN
) -> Any:
    from channels.auth import AuthMiddlewareStack  # noqa: F401 - the real stack reads the session cookie

    headers = [origin] if origin else []
    if user is not None:
        from django.test import Client

        client = Client()
        await sync_login(client, user)
        headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def sync_login(client: Any, user: AbstractBaseUser) -> None:
    from asgiref.sync import sync_to_async

    await sync_to_async(client.force_login)(user)


async def test_it_streams_frames_and_laps_to_the_owner(rig_and_token, driver) -> None:
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    sid = welcome["session_id"]
    watch = await viewer(driver, f"/ws/live/{sid}/")
    assert (await watch.connect())[0]
    hello = await watch.receive_json_from(timeout=5)
    assert hello["type"] == "session" and hello["session_id"] == sid and hello["track"] == "Test Loop"
    frames = loop_frames(n=60 * 21)
    for seq in range(0, len(frames), 600):
        await rig.send_to(bytes_data=wire.encode_batch(seq, frames[seq : seq + 600]))
        await receive_msg(rig)
    msgs = [await watch.receive_json_from(timeout=5)]
    while msgs[-1]["type"] != "lap" and len(msgs) < 10:
        msgs.append(await watch.receive_json_from(timeout=5))
    frame = next(m["frame"] for m in msgs if m["type"] == "frame")
    assert set(frame) >= {"speed", "lap", "lap_dist", "rpm", "pos_x"}
    assert msgs[-1]["lap"]["number"] == 1 and msgs[-1]["lap"]["time_ms"] == 20000
    await watch.disconnect()
    await rig.disconnect()


async def test_it_follows_the_users_next_session(rig_and_token, driver) -> None:
    _, token = rig_and_token
    watch = await viewer(driver, "/ws/live/")
    assert (await watch.connect())[0]
    assert (await watch.receive_json_from(timeout=5))["type"] == "waiting"
    rig, welcome = await open_session(token)
    started = await watch.receive_json_from(timeout=5)
    while started["type"] == "rigs":  # the picker's states come along
        started = await watch.receive_json_from(timeout=5)
    assert started["type"] == "session" and started["session_id"] == welcome["session_id"]
    await watch.disconnect()
    await rig.disconnect()


async def test_it_hides_a_session_from_another_user(rig_and_token, stranger) -> None:
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    watch = await viewer(stranger, f"/ws/live/{welcome['session_id']}/")
    await watch.connect()
    out = await watch.receive_output(timeout=5)
    assert out["type"] == "websocket.close" and out["code"] == 4404
    await rig.disconnect()


async def test_it_asks_anonymous_viewers_to_log_in() -> None:
    watch = await viewer(None, "/ws/live/")
    await watch.connect()
    out = await watch.receive_output(timeout=5)
    assert out["type"] == "websocket.close" and out["code"] == 4401


@pytest.mark.parametrize("origin", [(b"origin", b"http://evil.example"), None])
async def test_it_refuses_a_foreign_or_missing_origin(driver, origin: tuple[bytes, bytes] | None) -> None:
    watch = await viewer(driver, "/ws/live/", origin=origin)
    connected, _ = await watch.connect()
    assert not connected
