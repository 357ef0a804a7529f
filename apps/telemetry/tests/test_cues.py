"""Cues over the sockets: a viewer pins, the rig's agent gets it, acks it and reports it said."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from apps.accounts.services import rig_create
from apps.coaching.models import Cue
from apps.sessions.models import Session
from apps.sessions.services import session_end
from apps.sharing.services import share_link_create, share_link_revoke
from simcoach_agent import wire

from .test_consumers import HELLO, open_session, receive_msg
from .test_share import watch_share
from .test_viewer import viewer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


async def rig_next(rig: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    for _ in range(50):
        msg = await receive_msg(rig)
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} for the agent")


async def page_next(page: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    for _ in range(200):
        msg = await page.receive_json_from(timeout=5)
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"no {kind!r} for the page")


async def owner_page(user: Any, session_id: int, cues: int = 0) -> WebsocketCommunicator:
    """The owner's live page on the session, which opens with `cues` active cues listed."""
    page = await viewer(user, f"/ws/live/{session_id}/")
    connected, _ = await page.connect()
    assert connected
    assert len((await page_next(page, "session"))["cues"]) == cues
    return page


async def another_drivers_cue(
    django_user_model: Any,
) -> tuple[WebsocketCommunicator, WebsocketCommunicator, dict[str, Any]]:
    """Another driver streaming on their own rig, with a cue they pinned: (rig, page, cue)."""
    other = await database_sync_to_async(django_user_model.objects.create_user)(
        "other", "o@example.com", "pw-other-1"
    )
    _, other_token = await database_sync_to_async(rig_create)(owner=other, name="Other rig")
    other_rig, other_welcome = await open_session(other_token, {**HELLO, "session_uid": "uid-other"})
    other_page = await owner_page(other, other_welcome["session_id"])
    await other_page.send_json_to({"type": "cue_pin", "at_m": 100, "text": "theirs"})
    return other_rig, other_page, await rig_next(other_rig, "cue")


def cue_row(cue_id: int) -> Cue:
    return Cue.objects.get(pk=cue_id)


async def test_a_pinned_cue_reaches_the_agent_whose_ack_and_report_are_recorded(
    rig_and_token, driver
) -> None:
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    page = await owner_page(driver, welcome["session_id"])

    await page.send_json_to(
        {"type": "cue_pin", "at_m": 300, "text": " brake  at 100 ", "label": "T1", "lead_s": 2}
    )
    sent = await rig_next(rig, "cue")
    assert {k: sent[k] for k in ("at_m", "text", "label", "lead_s", "repeat")} == {
        "at_m": 300.0,
        "text": "brake at 100",
        "label": "T1",
        "lead_s": 2.0,
        "repeat": "every_lap",
    }
    assert isinstance(sent["sent_at"], float)
    pinned = (await page_next(page, "cue"))["cue"]
    assert pinned["id"] == sent["id"] and pinned["author"] == "Driver" and pinned["delivery_ms"] is None

    await rig.send_to(
        bytes_data=wire.encode_control({"type": "cue_ack", "id": sent["id"], "received_at": 1.0})
    )
    delivered = (await page_next(page, "cue"))["cue"]
    assert delivered["delivery_ms"] is not None and delivered["delivery_ms"] >= 0
    row = await database_sync_to_async(cue_row)(sent["id"])
    assert row.delivered_at is not None and row.sent_at is not None and row.delivered_at >= row.sent_at

    report = {"type": "cue_spoken", "id": sent["id"], "lap": 3, "before_m": 118.4, "speed_kmh": 213.0}
    await rig.send_to(bytes_data=wire.encode_control(report))
    spoken = await page_next(page, "cue")
    assert spoken["spoken"] is True
    assert (spoken["cue"]["spoken_lap"], spoken["cue"]["spoken_before_m"]) == (3, 118.4)

    await page.send_json_to({"type": "cue_remove", "id": sent["id"]})
    assert (await rig_next(rig, "cue_removed"))["id"] == sent["id"]
    assert (await page_next(page, "cue"))["cue"]["removed"] is True
    await rig.disconnect()
    await page.disconnect()


async def test_a_reconnecting_agent_gets_the_sessions_active_cues_again(rig_and_token, driver) -> None:
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    page = await owner_page(driver, welcome["session_id"])
    await page.send_json_to({"type": "cue_pin", "at_m": 500, "text": "kept"})
    await page.send_json_to({"type": "cue_pin", "at_m": 600, "text": "removed"})
    first, second = await rig_next(rig, "cue"), await rig_next(rig, "cue")
    await page.send_json_to({"type": "cue_remove", "id": second["id"]})
    await rig_next(rig, "cue_removed")
    await rig.disconnect()

    again, welcome_again = await open_session(token)  # same session uid: the same session
    assert welcome_again["session_id"] == welcome["session_id"]
    resent = await rig_next(again, "cue")
    assert (resent["id"], resent["text"]) == (first["id"], "kept")
    await again.disconnect()
    await page.disconnect()


async def test_a_cue_carries_to_the_drivers_next_session_on_that_track_and_car(rig_and_token, driver) -> None:
    """A cue belongs to a place on a track: a new session (the game or the agent restarted) on
    the same track and car gets it, can ack and report it, and hears its removal; another car's
    session does not get it."""
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    page = await owner_page(driver, welcome["session_id"])
    await page.send_json_to({"type": "cue_pin", "at_m": 500, "text": "brake at the 100 board"})
    pinned = await rig_next(rig, "cue")
    await rig.disconnect()
    await database_sync_to_async(session_end)(session=await Session.objects.aget(pk=welcome["session_id"]))

    other_car, _ = await open_session(token, {**HELLO, "session_uid": "uid-other-car", "car": "Other Car"})
    assert await other_car.receive_nothing(timeout=1.0)  # no cue follows its welcome
    await other_car.disconnect()

    rig2, welcome2 = await open_session(token, {**HELLO, "session_uid": "uid-2"})
    assert welcome2["session_id"] != welcome["session_id"]
    carried = await rig_next(rig2, "cue")
    assert (carried["id"], carried["text"]) == (pinned["id"], "brake at the 100 board")
    await rig2.send_to(bytes_data=wire.encode_control({"type": "cue_ack", "id": carried["id"]}))
    await rig2.send_to(
        bytes_data=wire.encode_control(
            {"type": "cue_spoken", "id": carried["id"], "lap": 2, "before_m": 150.0, "speed_kmh": 180.0}
        )
    )
    page2 = await owner_page(driver, welcome2["session_id"], cues=1)  # listed on the new session
    await page2.send_json_to({"type": "cue_remove", "id": carried["id"]})
    assert (await rig_next(rig2, "cue_removed"))["id"] == carried["id"]
    cue = await Cue.objects.aget(pk=carried["id"])
    assert cue.spoken_before_m == 150.0 and cue.delivered_at is not None and cue.removed_at is not None
    await rig2.disconnect()
    await page.disconnect()
    await page2.disconnect()


@pytest.mark.parametrize(
    "reply",
    [
        {"type": "cue_ack", "id": "1"},
        {"type": "cue_ack"},
        {"type": "cue_ack", "id": 2**64 - 1},
        {"type": "cue_spoken", "id": True, "lap": 1, "before_m": 1, "speed_kmh": 1},
        {"type": "cue_spoken", "id": "OWN", "lap": 1, "before_m": math.nan, "speed_kmh": 100},
        {"type": "cue_spoken", "id": "OWN", "lap": -1, "before_m": 10, "speed_kmh": 100},
        {"type": "cue_spoken", "id": "OWN", "lap": 1, "before_m": 10, "speed_kmh": "fast"},
        {"type": "cue_ack", "id": "OTHER"},
        {"type": "cue_spoken", "id": "OTHER", "lap": 1, "before_m": 10, "speed_kmh": 100},
    ],
)
async def test_malformed_or_foreign_agent_replies_are_logged_and_the_socket_kept(
    rig_and_token, driver, django_user_model, caplog, reply: dict[str, Any]
) -> None:
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    page = await owner_page(driver, welcome["session_id"])
    await page.send_json_to({"type": "cue_pin", "at_m": 500, "text": "mine"})
    own = await rig_next(rig, "cue")
    # another driver's rig and cue: this rig may not ack or report it
    other_rig, other_page, theirs = await another_drivers_cue(django_user_model)

    ids = {"OWN": own["id"], "OTHER": theirs["id"]}
    if reply.get("id") in ids:
        reply = {**reply, "id": ids[reply["id"]]}
    with caplog.at_level(logging.WARNING, logger="apps.telemetry.consumers"):
        await rig.send_to(bytes_data=wire.encode_control(reply))
        await rig.send_to(bytes_data=wire.encode_control({"type": "end"}))  # the socket still listens
        await rig.receive_nothing(timeout=0.5)
    assert "ignored" in caplog.text or "refused" in caplog.text
    rows = await database_sync_to_async(lambda: list(Cue.objects.order_by("pk")))()
    assert all(r.delivered_at is None and r.spoken_at is None for r in rows)
    for comm in (rig, page, other_rig, other_page):
        await comm.disconnect()


async def test_an_unknown_agent_message_is_still_a_clear_refusal(rig_and_token) -> None:
    from .test_consumers import closed_with

    _, token = rig_and_token
    rig, _ = await open_session(token)
    await rig.send_to(bytes_data=wire.encode_control({"type": "cue_everything"}))
    code, reason = await closed_with(rig)
    assert code == wire.CLOSE_PROTOCOL_ERROR and "unknown message type" in reason


async def test_a_coach_pins_through_the_share_link_until_it_is_revoked(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, welcome = await open_session(token)
    link, share_token = await database_sync_to_async(share_link_create)(
        owner=driver, rig=rig_row, expires_in=None, label="Coach Alex"
    )
    coach, hello = await watch_share(share_token)
    assert hello["session_id"] == welcome["session_id"]
    await coach.send_to(
        text_data='{"type": "cue_pin", "at_m": 250.5, "text": "turn in late", "repeat": "once"}'
    )
    sent = await rig_next(rig, "cue")
    assert sent["repeat"] == "once"
    pinned = (await page_next(coach, "cue"))["cue"]
    assert pinned["author"] == "Coach Alex" and pinned["via"] == "share"

    await coach.send_to(text_data='{"type": "cue_remove", "id": 999999}')
    assert "no such cue" in (await page_next(coach, "cue_refused"))["reason"]
    await coach.send_to(text_data='{"type": "cue_pin", "at_m": 2000, "text": "beyond the lap"}')
    assert "0..1000 m" in (await page_next(coach, "cue_refused"))["reason"]

    await database_sync_to_async(share_link_revoke)(link=link)
    await coach.send_to(text_data='{"type": "cue_pin", "at_m": 10, "text": "too late"}')
    msg = await coach.receive_json_from(timeout=5)  # the revoke event may close it first
    assert msg["type"] in ("cue_refused", "closed")
    count = await database_sync_to_async(Cue.objects.count)()
    assert count == 1
    await rig.disconnect()
    await coach.disconnect()


async def test_an_expired_link_pins_nothing_even_before_its_socket_is_closed(rig_and_token, driver) -> None:
    import datetime as dt

    from django.utils import timezone

    from apps.sharing.models import ShareLink

    rig_row, token = rig_and_token
    rig, _ = await open_session(token)
    link, share_token = await database_sync_to_async(share_link_create)(
        owner=driver, rig=rig_row, expires_in=dt.timedelta(hours=1), label="Coach Alex"
    )
    coach, _ = await watch_share(share_token)
    past = timezone.now() - dt.timedelta(seconds=1)
    await database_sync_to_async(ShareLink.objects.filter(pk=link.pk).update)(expires_at=past)
    await coach.send_to(text_data='{"type": "cue_pin", "at_m": 10, "text": "too late"}')
    assert "expired" in (await page_next(coach, "cue_refused"))["reason"]
    assert await database_sync_to_async(Cue.objects.count)() == 0
    await rig.disconnect()
    await coach.disconnect()


async def test_an_owner_cannot_remove_another_sessions_cue_or_send_odd_fields(
    rig_and_token, driver, django_user_model
) -> None:
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    page = await owner_page(driver, welcome["session_id"])
    other_rig, other_page, theirs = await another_drivers_cue(django_user_model)

    await page.send_json_to({"type": "cue_remove", "id": theirs["id"]})
    assert "no such cue" in (await page_next(page, "cue_refused"))["reason"]
    await page.send_json_to(
        {
            "type": "cue_pin",
            "at_m": 100,
            "text": "x",
            "session_id": (await Cue.objects.aget(pk=theirs["id"])).session_id,
        }
    )
    assert "unexpected fields: session_id" in (await page_next(page, "cue_refused"))["reason"]
    await page.send_json_to({"type": "cue_pin", "at_m": -5, "text": "x"})
    assert "0..1000 m" in (await page_next(page, "cue_refused"))["reason"]
    row = await database_sync_to_async(Cue.objects.get)(pk=theirs["id"])
    assert row.removed_at is None and await database_sync_to_async(Cue.objects.count)() == 1
    for comm in (rig, page, other_rig, other_page):
        await comm.disconnect()
