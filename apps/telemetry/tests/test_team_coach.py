"""A team's coach watching a team driver live (/ws/coached/team/<team>/<driver>/), through the
real ASGI stack and channel layer: what the driver shares with the team, notes to the rig, and
the cut-off when the team's grant goes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache

from apps.sessions.models import Session
from apps.sharing.models import CoachNote
from apps.teams.models import Membership, Team
from apps.teams.services import (
    invitation_accept,
    invitation_create_user,
    membership_leave,
    membership_remove,
    membership_role_set,
    membership_share_default_set,
    session_share_set,
    team_create,
    team_delete,
)

from .test_consumers import closed_with, open_session, receive_msg
from .test_share import next_of, stream
from .test_viewer import viewer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


def _team(owner: Any, coach: Any, driver: Any, *, share: bool = True) -> tuple[Team, Membership, Membership]:
    """A team `owner` owns, with `coach` as its coach and `driver` as a driver sharing by default."""
    team = team_create(owner=owner, name="Racing")
    by = team.memberships.get()
    joined = {}
    for user, role in ((coach, "coach"), (driver, "driver")):
        invitation = invitation_create_user(by=by, username=user.username, role=role)
        joined[role] = invitation_accept(user=user, invitation=invitation)
    membership_share_default_set(membership=joined["driver"], share=share)
    return team, joined["coach"], joined["driver"]


async def watch_team(user: Any, team: Team, driver: Any) -> tuple[WebsocketCommunicator, dict[str, Any]]:
    comm = await viewer(user, f"/ws/coached/team/{team.pk}/{driver.pk}/")
    assert (await comm.connect())[0]
    return comm, await comm.receive_json_from(timeout=5)


async def test_a_team_coach_watches_sends_a_note_to_the_rig_and_is_cut_off_when_the_driver_leaves(
    rig_and_token, driver, coach, stranger
) -> None:
    team, _, driving = await database_sync_to_async(_team)(stranger, coach, driver)
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    watch, hello = await watch_team(coach, team, driver)
    assert hello["type"] == "session" and hello["session_id"] == welcome["session_id"]
    await stream(rig, 1)
    assert {"speed", "rpm"} <= set((await next_of(watch, "frame"))["frame"])

    await watch.send_json_to({"type": "note", "text": "Brake later into T1"})
    expected = {"type": "note", "author": "coach (Racing)", "text": "Brake later into T1"}
    assert await receive_msg(rig) == expected  # the agent prints (and may speak) it
    assert await next_of(watch, "note") == expected
    note = await CoachNote.objects.select_related("team", "sent_by").aget()
    assert (note.team, note.sent_by, note.share_link_id) == (team, coach, None)

    await database_sync_to_async(membership_leave)(membership=driving)
    assert await next_of(watch, "closed") == {
        "type": "closed",
        "code": 4404,
        "reason": "not a driver of a team you are in",
    }
    assert (await closed_with(watch))[0] == 4404
    # and the door stays shut
    late = await viewer(coach, f"/ws/coached/team/{team.pk}/{driver.pk}/")
    await late.connect()
    assert (await closed_with(late))[0] == 4404
    await rig.disconnect()


def _unshare(team: Team, driving: Membership) -> None:
    session_share_set(membership=driving, session=Session.objects.get(owner_id=driving.user_id), shared=False)


def _demote(team: Team, coaching: Membership) -> None:
    membership_role_set(by=team.memberships.get(role="owner"), member=coaching, role="driver")


def _remove(team: Team, driving: Membership) -> None:
    membership_remove(by=team.memberships.get(role="owner"), member=driving)


def _delete(team: Team, _: Membership) -> None:
    team_delete(by=team.memberships.get(role="owner"))


@pytest.mark.parametrize(
    ("change", "who", "code"),
    [
        (_unshare, "driver", 4410),  # the driver hides the session from the team
        (_remove, "driver", 4404),  # the owner removes the driver
        (_delete, "driver", 4404),  # the owner deletes the team
        (_demote, "coach", 4403),  # the coach is made a plain driver
    ],
)
async def test_it_cuts_a_team_coach_off_at_once(
    rig_and_token, driver, coach, stranger, change: Callable[[Team, Membership], None], who: str, code: int
) -> None:
    team, coaching, driving = await database_sync_to_async(_team)(stranger, coach, driver)
    _, token = rig_and_token
    rig, _ = await open_session(token)
    watch, hello = await watch_team(coach, team, driver)
    assert hello["type"] == "session"
    await database_sync_to_async(change)(team, driving if who == "driver" else coaching)
    # Told by the team's group when the change commits, long before the periodic re-check.
    closed = await next_of(watch, "closed")
    assert closed["code"] == code
    assert (await closed_with(watch))[0] == code
    await rig.disconnect()


async def test_it_shows_nothing_unshared_until_the_driver_shares_it(
    rig_and_token, driver, coach, stranger
) -> None:
    team, _, driving = await database_sync_to_async(_team)(stranger, coach, driver, share=False)
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    watch, hello = await watch_team(coach, team, driver)
    assert hello == {"type": "waiting"}  # live, but private: the coach sees nothing of it
    await watch.send_json_to({"type": "note", "text": "hello?"})
    assert (await next_of(watch, "note_refused"))["reason"] == "there is no live session to send a note to"
    await database_sync_to_async(membership_share_default_set)(membership=driving, share=True)
    shown = await next_of(watch, "session")
    assert shown["session_id"] == welcome["session_id"]
    await watch.disconnect()
    await rig.disconnect()


async def test_it_refuses_a_driver_role_member_and_anyone_outside(
    rig_and_token, driver, coach, stranger
) -> None:
    team, _, _ = await database_sync_to_async(_team)(stranger, coach, driver)
    mate = await database_sync_to_async(_mate)(team)
    _, token = rig_and_token
    rig, _ = await open_session(token)
    for user, code in ((mate, 4403), (None, 4401)):
        comm = await viewer(user, f"/ws/coached/team/{team.pk}/{driver.pk}/")
        await comm.connect()
        assert (await closed_with(comm))[0] == code
    other = await database_sync_to_async(team_create)(owner=stranger, name="Other")
    comm = await viewer(stranger, f"/ws/coached/team/{other.pk}/{driver.pk}/")  # driver not in it
    await comm.connect()
    assert (await closed_with(comm))[0] == 4404
    assert not await CoachNote.objects.aexists()
    await rig.disconnect()


def _mate(team: Team) -> Any:
    from django.contrib.auth.models import User

    mate = User.objects.create_user("mate")
    invitation = invitation_create_user(by=team.memberships.get(role="owner"), username="mate")
    invitation_accept(user=mate, invitation=invitation)
    return mate


async def test_a_team_coach_pins_a_cue_signed_with_their_name_until_demoted(
    rig_and_token, driver, coach, stranger
) -> None:
    """Cues ride the same grant as notes: a team coach pins one (signed "coach (Racing)", via
    team) and the rig gets it; demoted to driver, the next pin is refused and nothing is stored."""
    from apps.coaching.models import Cue

    team, coaching, _ = await database_sync_to_async(_team)(stranger, coach, driver)
    _, token = rig_and_token
    rig, welcome = await open_session(token)
    watch, _ = await watch_team(coach, team, driver)
    await watch.send_json_to({"type": "cue_pin", "at_m": 300, "text": "brake at the 100 board"})
    pinned = (await next_of(watch, "cue"))["cue"]
    assert (pinned["author"], pinned["via"], pinned["text"]) == (
        "coach (Racing)",
        "team",
        "brake at the 100 board",
    )
    sent = await receive_msg(rig)
    while sent["type"] != "cue":
        sent = await receive_msg(rig)
    assert sent["at_m"] == 300 and sent["text"] == "brake at the 100 board"

    owner = await database_sync_to_async(lambda: team.memberships.get(role="owner"))()
    await database_sync_to_async(membership_role_set)(by=owner, member=coaching, role="driver")
    await watch.send_json_to({"type": "cue_pin", "at_m": 400, "text": "not any more"})
    reply = await watch.receive_json_from(timeout=5)  # the access event may close it first
    while reply["type"] not in ("cue_refused", "closed"):
        reply = await watch.receive_json_from(timeout=5)
    assert await database_sync_to_async(Cue.objects.filter(session_id=welcome["session_id"]).count)() == 1
    await rig.disconnect()
    await watch.disconnect()
