"""Cue discipline on the real rig socket: coaching about frames far behind the newest one (a
backlog replayed after an outage) never reaches the agent, is counted, and viewers see it
marked; the counters reach a viewer who connects later."""

from __future__ import annotations

from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from simcoach_agent import wire

from .frames import loop_frames
from .test_consumers import HELLO, closed_with, open_session, receive_msg, send_hello
from .test_share import next_of
from .test_viewer import viewer

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_700_000_000.0


async def send_and_collect(
    rig: WebsocketCommunicator, seq: int, frames: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Send one batch; the coaching messages the agent gets before the batch's ack."""
    await rig.send_to(bytes_data=wire.encode_batch(seq, frames))
    said = []
    while True:
        msg = await receive_msg(rig)
        if msg["type"] == "coaching":
            said.append(msg)
        elif msg["type"] == "ack" and msg["seq"] >= seq + len(frames) - 1:
            return said


def with_tyres(frames: list[dict[str, Any]], **temps: float) -> list[dict[str, Any]]:
    return [{**f, **temps} for f in frames]


async def test_coaching_of_old_frames_never_reaches_the_agent_and_is_counted(rig_and_token, driver) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    owner = await viewer(driver, f"/ws/live/{welcome['session_id']}/")
    assert (await owner.connect())[0]
    first = await next_of(owner, "session")
    assert first["coach_counts"] is None  # nothing said yet

    fresh = with_tyres(loop_frames(n=60, t0=T0), tyre_temp_fl=115.0)
    (said,) = await send_and_collect(rig, 0, fresh)
    assert said["rule"] == "tyre_critical" and said["lap"] == 1
    assert T0 <= said["t"] <= T0 + 1 and "until_m" not in said

    # the next frames in sequence, but from 100 s before: what a spool replay sends
    old = with_tyres(loop_frames(start_seq=60, n=60, t0=T0 - 100), tyre_temp_fl=85.0, tyre_temp_fr=104.0)
    assert await send_and_collect(rig, 60, old) == []

    spoken = (await next_of(owner, "coaching"))["message"]
    assert (spoken["rule"], spoken["status"]) == ("tyre_critical", "spoken")
    late = await next_of(owner, "coaching")
    assert (late["message"]["rule"], late["message"]["status"]) == ("tyre_hot", "late")
    assert late["counts"]["spoken"] == 1 and late["counts"]["late"] == 1 and late["counts"]["held"] == 0

    await rig.disconnect()  # the counters are written at most once a second, and on the way out
    again = await viewer(driver, f"/ws/live/{welcome['session_id']}/")
    assert (await again.connect())[0]
    counts = (await next_of(again, "session"))["coach_counts"]
    assert counts["spoken"] == 1 and counts["late"] == 1

    # the agent reconnects: the session's counters carry on
    rig, _ = await open_session(token)
    more = with_tyres(loop_frames(start_seq=120, n=60, t0=T0), tyre_temp_rl=104.0)
    assert [m["rule"] for m in await send_and_collect(rig, 120, more)] == ["tyre_hot"]
    assert (await next_of(owner, "coaching"))["counts"]["spoken"] == 2
    for comm in (owner, again, rig):
        await comm.disconnect()


async def test_a_backlog_batch_speaks_only_its_last_seconds(rig_and_token) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    rig, _ = await open_session(token)
    # ten seconds in one batch (a replay); the tyre is critical in its first second only
    frames = loop_frames(n=wire.MAX_FRAMES_PER_BATCH, t0=T0)
    frames = [{**f, "tyre_temp_fl": 115.0 if i < 60 else 90.0} for i, f in enumerate(frames)]
    assert await send_and_collect(rig, 0, frames) == []
    await rig.disconnect()


async def test_after_a_hello_with_the_agents_newest_frame_the_backlog_is_late(rig_and_token) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    rig, _ = await open_session(token, {**HELLO, "newest_t": T0 + 100})
    # the first second of a backlog 100 s old: even its last frames are late
    frames = with_tyres(loop_frames(n=60, t0=T0), tyre_temp_fl=115.0)
    assert await send_and_collect(rig, 0, frames) == []
    await rig.disconnect()


async def test_a_hello_with_a_bad_newest_t_is_refused(rig_and_token) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    rig = await send_hello(token, {**HELLO, "newest_t": "now"})
    code, reason = await closed_with(rig)
    assert code == wire.CLOSE_PROTOCOL_ERROR and "newest_t" in reason


@override_settings(COACH_CUE_BUDGET=0)
async def test_the_budget_setting_holds_back_all_but_critical(rig_and_token, driver) -> None:  # type: ignore[no-untyped-def]
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    owner = await viewer(driver, f"/ws/live/{welcome['session_id']}/")
    assert (await owner.connect())[0]
    await next_of(owner, "session")
    frames = with_tyres(loop_frames(n=60, t0=T0), tyre_temp_fl=115.0, tyre_temp_fr=104.0)
    said = await send_and_collect(rig, 0, frames)
    assert [m["rule"] for m in said] == ["tyre_critical"]
    statuses = {}
    for _ in range(2):
        msg = (await next_of(owner, "coaching"))["message"]
        statuses[msg["rule"]] = msg["status"]
    assert statuses == {"tyre_critical": "spoken", "tyre_hot": "budget"}
    await owner.disconnect()
    await rig.disconnect()
