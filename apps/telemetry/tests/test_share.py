"""Share viewer sockets (/ws/share/<token>/, /ws/coached/<id>/) through the real ASGI stack."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.utils import timezone

from apps.accounts.services import rig_create
from apps.sharing.models import CoachedDriver, CoachNote, ShareLink
from apps.sharing.services import share_link_create, share_link_revoke
from simcoach_agent import wire
from simcoach_site.asgi import application

from .frames import loop_frames
from .test_consumers import HELLO, closed_with, open_session, receive_msg
from .test_viewer import ORIGIN, viewer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


def share_socket(token: str, origin: tuple[bytes, bytes] | None = ORIGIN) -> WebsocketCommunicator:
    # No cookie: a share link needs no account.
    return WebsocketCommunicator(application, f"/ws/share/{token}/", headers=[origin] if origin else [])


async def share(owner: Any, **target: Any) -> tuple[ShareLink, str]:
    expires_in = target.pop("expires_in", None)
    create = database_sync_to_async(share_link_create)
    return await create(owner=owner, expires_in=expires_in, label="Coach Alex", **target)


async def watch_share(token: str) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = share_socket(token)
    connected, _ = await comm.connect()
    assert connected
    return comm, await comm.receive_json_from(timeout=5)


async def next_of(comm: WebsocketCommunicator, kind: str, limit: int = 200) -> dict[str, Any]:
    """The next message of one type, skipping frames and the like on the way."""
    for _ in range(limit):
        msg = await comm.receive_json_from(timeout=5)
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} message in {limit}")


async def stream(rig: WebsocketCommunicator, seconds: float, start: int = 0) -> int:
    """Send `seconds` of 60 Hz frames in 0.5 s batches, waiting for each ack like the agent."""
    frames = loop_frames(start_seq=start, n=int(seconds * 60))
    for i in range(0, len(frames), 30):
        await rig.send_to(bytes_data=wire.encode_batch(start + i, frames[i : i + 30]))
        while (await receive_msg(rig))["type"] != "ack":
            pass
    return start + len(frames)


async def test_it_streams_the_rigs_session_to_a_link_holder(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, welcome = await open_session(token)
    _, share_token = await share(driver, rig=rig_row)
    watch, hello = await watch_share(share_token)
    assert hello["type"] == "session" and hello["session_id"] == welcome["session_id"]
    assert hello["track"] == "Test Loop" and "owner" not in hello
    await stream(rig, 21)
    frame = await next_of(watch, "frame")
    assert {"speed", "lap", "lap_dist", "rpm"} <= set(frame["frame"])
    lap = await next_of(watch, "lap")
    assert lap["lap"]["number"] == 1 and lap["lap"]["time_ms"] == 20000
    await watch.disconnect()
    await rig.disconnect()


async def test_it_follows_the_rigs_next_session_and_no_other_rig(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    _, share_token = await share(driver, rig=rig_row)
    watch, hello = await watch_share(share_token)
    assert hello == {"type": "waiting"}
    _, other_token = await database_sync_to_async(rig_create)(owner=driver, name="Second rig")
    other, _ = await open_session(other_token, {**HELLO, "session_uid": "uid-other"})
    rig, welcome = await open_session(token)
    started = await watch.receive_json_from(timeout=5)
    # The second rig's session came first and was not shown: the next message is this rig's.
    assert started["type"] == "session" and started["session_id"] == welcome["session_id"]
    for comm in (watch, rig, other):
        await comm.disconnect()


async def test_it_relays_a_note_to_the_owner_and_to_the_rig(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, welcome = await open_session(token)
    sid = welcome["session_id"]
    owner = await viewer(driver, f"/ws/live/{sid}/")
    assert (await owner.connect())[0]
    await owner.receive_json_from(timeout=5)
    _, share_token = await share(driver, rig=rig_row)
    watch, _ = await watch_share(share_token)
    await watch.send_json_to({"type": "note", "text": "Brake\x00 later into\nT1\x1b[0m"})
    expected = {"type": "note", "author": "Coach Alex", "text": "Brake later into T1 [0m"}
    assert await next_of(owner, "note") == expected
    assert await next_of(watch, "note") == expected  # the coach sees it went out
    assert await receive_msg(rig) == expected  # the agent prints (and may speak) it
    note = await CoachNote.objects.aget()
    assert (note.session_id, note.text) == (sid, expected["text"])
    await watch.send_json_to({"type": "note", "text": "and again"})
    refused = await next_of(watch, "note_refused")
    assert "one note every 3 seconds" in refused["reason"]
    for comm in (watch, owner, rig):
        await comm.disconnect()


async def test_it_refuses_a_note_without_a_live_session(driver) -> None:
    from apps.sessions.models import Car, Session, Track

    track = await Track.objects.acreate(game="demo", name="Test Loop")
    car = await Car.objects.acreate(game="demo", name="Test Car")
    session = await Session.objects.acreate(owner=driver, game="demo", track=track, car=car, state="ended")
    _, share_token = await share(driver, session=session)
    watch, hello = await watch_share(share_token)
    assert hello["type"] == "session" and hello["session_id"] == session.pk and hello["state"] == "ended"
    await watch.send_json_to({"type": "note", "text": "hello"})
    assert "not live" in (await next_of(watch, "note_refused"))["reason"]
    assert not await CoachNote.objects.aexists()
    await watch.disconnect()


@pytest.mark.parametrize(
    "message",
    [
        {"text": json.dumps({"type": "frames", "seq": 1})},
        {"text": json.dumps({"type": "note", "text": "hi", "author": "the driver"})},
        {"text": json.dumps(["note", "hi"])},
        {"text": "{not json"},
        {"bytes": b"\x81\xa4type\xa4note"},
    ],
)
async def test_it_closes_on_anything_but_a_note(rig_and_token, driver, message: dict[str, Any]) -> None:
    rig_row, _ = rig_and_token
    _, share_token = await share(driver, rig=rig_row)
    watch, _ = await watch_share(share_token)
    if "bytes" in message:
        await watch.send_to(bytes_data=message["bytes"])
    else:
        await watch.send_to(text_data=message["text"])
    code, reason = await closed_with(watch)
    assert code == 4400 and "only send" in reason
    assert not await CoachNote.objects.aexists()


async def test_it_cuts_off_open_viewers_when_the_link_is_revoked(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, _ = await open_session(token)
    link, share_token = await share(driver, rig=rig_row)
    watchers = [(await watch_share(share_token))[0] for _ in range(3)]
    await database_sync_to_async(share_link_revoke)(link=link)
    for watch in watchers:
        assert await closed_with(watch) == (4410, "share link revoked")
    # And the notes channel is shut too: a fresh socket is refused at the door.
    late = share_socket(share_token)
    await late.connect()
    assert await closed_with(late) == (4410, "share link revoked")
    await rig.disconnect()


async def test_it_cuts_off_open_viewers_when_the_link_expires(rig_and_token, driver) -> None:
    rig_row, _ = rig_and_token
    link, share_token = await share(driver, rig=rig_row, expires_in=dt.timedelta(seconds=2))
    watch, hello = await watch_share(share_token)
    assert hello["type"] == "waiting"
    # No event announces an expiry: the consumer's own timer must notice it.
    assert await watch.receive_json_from(timeout=15) == {
        "type": "closed",
        "code": 4410,
        "reason": "share link expired",
    }
    assert await closed_with(watch) == (4410, "share link expired")


async def test_it_closes_when_the_shared_rig_is_unpaired(rig_and_token, driver) -> None:
    from apps.accounts.services import rig_revoke

    rig_row, _ = rig_and_token
    _, share_token = await share(driver, rig=rig_row)
    watch, _ = await watch_share(share_token)
    await database_sync_to_async(rig_revoke)(rig=rig_row)
    assert (await closed_with(watch))[0] == 4410


@pytest.mark.parametrize("case", ["unknown", "expired", "revoked"])
async def test_it_refuses_a_dead_link_at_connect(rig_and_token, driver, case: str) -> None:
    rig_row, _ = rig_and_token
    link, share_token = await share(driver, rig=rig_row)
    if case == "unknown":
        share_token = "sc_share_" + "0" * 32
    elif case == "expired":
        past = timezone.now() - dt.timedelta(seconds=1)
        await ShareLink.objects.filter(pk=link.pk).aupdate(expires_at=past)
    else:
        await database_sync_to_async(share_link_revoke)(link=link)
    watch = share_socket(share_token)
    await watch.connect()
    code, reason = await closed_with(watch)
    assert code == (4404 if case == "unknown" else 4410) and case in reason


@pytest.mark.parametrize("origin", [(b"origin", b"http://evil.example"), (b"origin", b"null"), None])
async def test_it_refuses_a_foreign_or_missing_origin(rig_and_token, driver, origin) -> None:
    rig_row, _ = rig_and_token
    _, share_token = await share(driver, rig=rig_row)
    connected, _ = await share_socket(share_token, origin=origin).connect()
    assert not connected


async def test_it_opens_exactly_the_shared_session(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, welcome = await open_session(token)
    from apps.sessions.models import Car, Session, Track

    track, car = await Track.objects.aget(name="Test Loop"), await Car.objects.aget(name="Test Car")
    old = await Session.objects.acreate(owner=driver, game="demo", track=track, car=car, state="ended")
    _, share_token = await share(driver, session=old)
    watch, hello = await watch_share(share_token)
    assert hello["session_id"] == old.pk
    await stream(rig, 2)  # the owner's live session streams meanwhile ...
    await watch.send_json_to({"type": "note", "text": "hi"})
    # ... and none of it reaches this link: the first thing after the snapshot is the refusal.
    assert (await watch.receive_json_from(timeout=5))["type"] == "note_refused"
    for path in (f"/ws/live/{welcome['session_id']}/", "/ws/live/", f"/ws/share/{token}/"):
        anon = WebsocketCommunicator(application, path, headers=[ORIGIN])
        await anon.connect()
        assert (await closed_with(anon))[0] in (4401, 4404), path
    await watch.disconnect()
    await rig.disconnect()


async def test_it_lets_a_coach_watch_a_saved_driver_and_no_one_else(
    rig_and_token, driver, coach, stranger
) -> None:
    rig_row, token = rig_and_token
    link, _ = await share(driver, rig=rig_row)
    saved = await CoachedDriver.objects.acreate(coach=coach, share_link=link, nickname="Max")
    rig, welcome = await open_session(token)
    mine = await viewer(coach, f"/ws/coached/{saved.pk}/")
    assert (await mine.connect())[0]
    assert (await mine.receive_json_from(timeout=5))["session_id"] == welcome["session_id"]
    for who in (stranger, None):
        theirs = await viewer(who, f"/ws/coached/{saved.pk}/")
        await theirs.connect()
        assert (await closed_with(theirs))[0] == 4404
    await mine.disconnect()
    await rig.disconnect()


VIEWERS = 50


async def test_it_fans_out_to_fifty_viewers_without_stalling_the_rig(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, _ = await open_session(token)
    _, share_token = await share(driver, rig=rig_row)
    watchers = [(await watch_share(share_token))[0] for _ in range(VIEWERS)]
    frames = loop_frames(n=60 * 4)
    for i in range(0, len(frames), 12):
        await rig.send_to(bytes_data=wire.encode_batch(i, frames[i : i + 12]))
        # The rig's ack comes back for every batch, whatever the viewers do.
        assert await receive_msg(rig) == {"type": "ack", "seq": i + len(frames[i : i + 12]) - 1}
        await asyncio.sleep(0.05)  # pace like a 20 Hz agent, so the throttle lets frames through
    for watch in watchers:
        first = await next_of(watch, "frame")
        assert first["frame"]["speed"] > 0
    await asyncio.gather(*(w.disconnect() for w in watchers))
    await rig.disconnect()
