"""/live/ follows the car that is moving, or the rig the driver chose, and shows every rig's state."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from apps.accounts.services import rig_create
from apps.sessions.models import Session
from apps.sessions.selectors import RigLive, rig_live_list, rig_to_follow
from simcoach_agent import wire

from .frames import loop_frames
from .test_consumers import HELLO, open_session, receive_msg
from .test_viewer import viewer

pytestmark = pytest.mark.django_db(transaction=True)


async def next_of(
    watch: WebsocketCommunicator, kind: str, *, skip: tuple[str, ...] = ("rigs",)
) -> dict[str, Any]:
    """The next message of ``kind``; only the types in ``skip`` may come before it."""
    while True:
        msg = await watch.receive_json_from(timeout=5)
        if msg["type"] == kind:
            return msg
        assert msg["type"] in skip, msg


async def rigs_until(watch: WebsocketCommunicator, want: dict[int, str]) -> dict[str, Any]:
    """Read `rigs` messages until the rigs named in ``want`` have those states."""
    while True:
        msg = await next_of(watch, "rigs", skip=("rigs", "session", "ended", "waiting", "frame", "lap"))
        states = {r["id"]: r["state"] for r in msg["rigs"]}
        if all(states.get(k) == v for k, v in want.items()):
            return msg


async def drive(comm: WebsocketCommunicator, seconds: float = 1.0, start_seq: int = 0) -> None:
    """Frames stamped now (the picker's "streaming" is frames in the last few seconds)."""
    n = int(seconds * 60)
    frames = loop_frames(start_seq=start_seq, n=n, t0=time.time() - seconds - start_seq / 60)
    await comm.send_to(bytes_data=wire.encode_batch(start_seq, frames))
    assert (await receive_msg(comm))["type"] == "ack"


async def new_rig(owner: Any, name: str) -> tuple[Any, str]:
    return await sync_to_async(rig_create)(owner=owner, name=name)


# ---- the states and the choice, on rows


def _live(rig_id: int, state: str, session_id: int | None, ago_s: float | None) -> RigLive:
    at = None if ago_s is None else timezone.now() - dt.timedelta(seconds=ago_s)
    return RigLive(rig_id, f"rig {rig_id}", state, session_id, at)  # type: ignore[arg-type]


def test_a_rig_is_streaming_idle_or_offline_by_its_live_sessions_last_frame(driver) -> None:
    now = timezone.now()
    names = {}
    for name, last_s, state in [
        ("streaming", 2, Session.State.LIVE),
        ("idle", 30, Session.State.LIVE),
        ("stale", 300, Session.State.LIVE),  # the 600 s sweep has not run yet: shown offline
        ("ended", 1, Session.State.ENDED),
        ("never", None, None),
    ]:
        rig, _ = rig_create(owner=driver, name=name)
        names[rig.pk] = name
        if state is not None:
            Session.objects.create(
                owner=driver,
                rig=rig,
                game="demo",
                state=state,
                started_at=now - dt.timedelta(seconds=900),
                last_frame_at=now - dt.timedelta(seconds=last_s or 0),
                track=_track(),
                car=_car(),
            )
    got = {names[r.rig_id]: (r.state, r.session_id is not None) for r in rig_live_list(user=driver, now=now)}
    assert got == {
        "streaming": ("streaming", True),
        "idle": ("idle", True),
        "stale": ("offline", False),
        "ended": ("offline", False),
        "never": ("offline", False),
    }


def test_a_just_opened_session_without_frames_is_idle(driver) -> None:
    rig, _ = rig_create(owner=driver, name="Rig")
    Session.objects.create(owner=driver, rig=rig, game="demo", track=_track(), car=_car())
    (row,) = rig_live_list(user=driver)
    assert row.state == "idle" and row.session_id is not None


def test_a_revoked_rig_and_another_users_rig_are_not_listed(driver, stranger) -> None:
    from apps.accounts.services import rig_revoke

    mine, _ = rig_create(owner=driver, name="Mine")
    gone, _ = rig_create(owner=driver, name="Gone")
    rig_revoke(rig=gone)
    rig_create(owner=stranger, name="Theirs")
    assert [r.name for r in rig_live_list(user=driver)] == ["Mine"]


def test_the_moving_car_is_followed_and_kept_while_it_streams() -> None:
    a, b = _live(1, "streaming", 10, 3), _live(2, "streaming", 20, 0.1)
    assert rig_to_follow([a, b], current=None) == b  # streamed most recently
    assert rig_to_follow([a, b], current=1) == a  # both move: no flipping between them
    stopped = _live(1, "offline", None, 120)
    assert rig_to_follow([stopped, b], current=1) == b  # the followed car stopped: the moving one
    idle = _live(1, "idle", 10, 20)
    assert rig_to_follow([idle, b], current=1) == b  # a car in the pits gives way to a moving one
    assert rig_to_follow([idle, _live(2, "offline", None, None)], current=None) == idle
    assert rig_to_follow([_live(1, "offline", None, 9), _live(2, "offline", None, 1)], current=None) is None


def _track() -> Any:
    from apps.sessions.models import Track

    return Track.objects.get_or_create(game="demo", name="Test Loop")[0]


def _car() -> Any:
    from apps.sessions.models import Car

    return Car.objects.get_or_create(game="demo", name="Test Car")[0]


# ---- the viewer socket


async def test_the_picker_hears_a_rig_go_idle_streaming_and_offline_at_its_end(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    watch = await viewer(driver, "/ws/live/")
    assert (await watch.connect())[0]
    await next_of(watch, "waiting")
    first = await next_of(watch, "rigs")
    assert first["rigs"] == [{"id": rig_row.pk, "name": rig_row.name, "state": "offline", "session_id": None}]
    rig, welcome = await open_session(token)
    sid = welcome["session_id"]
    assert (await next_of(watch, "session"))["session_id"] == sid
    await rigs_until(watch, {rig_row.pk: "idle"})
    await drive(rig)
    msg = await rigs_until(watch, {rig_row.pk: "streaming"})
    assert msg["following"] == rig_row.pk and msg["chosen"] is None
    await rig.send_to(bytes_data=wire.encode_control({"type": "end"}))  # the agent's goodbye
    ended = await next_of(watch, "ended", skip=("rigs", "frame"))
    assert ended["session_id"] == sid
    await rigs_until(watch, {rig_row.pk: "offline"})
    assert (await Session.objects.aget(pk=sid)).state == Session.State.ENDED  # at once, not after 600 s
    await watch.disconnect()
    await rig.disconnect()


async def test_a_second_car_that_starts_and_stops_does_not_take_the_page_from_the_moving_one(driver) -> None:
    rig_a, token_a = await new_rig(driver, "A")
    rig_b, token_b = await new_rig(driver, "B")
    a, welcome_a = await open_session(token_a, {**HELLO, "session_uid": "a-1"})
    await drive(a)
    watch = await viewer(driver, "/ws/live/")
    assert (await watch.connect())[0]
    assert (await next_of(watch, "session"))["session_id"] == welcome_a["session_id"]
    b, welcome_b = await open_session(token_b, {**HELLO, "session_uid": "b-1"})
    await drive(b)
    await drive(a, start_seq=60)
    await rigs_until(watch, {rig_a.pk: "streaming", rig_b.pk: "streaming"})  # still on A: it moves
    await b.send_to(bytes_data=wire.encode_control({"type": "end"}))
    await b.disconnect()
    await drive(a, start_seq=120)
    msg = await rigs_until(watch, {rig_b.pk: "offline"})
    assert msg["following"] == rig_a.pk
    await watch.disconnect()
    await a.disconnect()


async def test_after_the_followed_car_ends_the_page_moves_to_the_other_rig(driver) -> None:
    rig_a, token_a = await new_rig(driver, "A")
    rig_b, token_b = await new_rig(driver, "B")
    a, welcome_a = await open_session(token_a, {**HELLO, "session_uid": "a-1"})
    await drive(a)
    chosen = await viewer(driver, f"/ws/live/rig/{rig_a.pk}/")
    auto = await viewer(driver, "/ws/live/")
    for watch in (chosen, auto):
        assert (await watch.connect())[0]
        assert (await next_of(watch, "session"))["session_id"] == welcome_a["session_id"]
    b, welcome_b = await open_session(token_b, {**HELLO, "session_uid": "b-1"})
    await drive(b)
    for watch in (chosen, auto):  # both stay on A: it still moves
        assert (await rigs_until(watch, {rig_b.pk: "streaming"}))["following"] == rig_a.pk
    await a.send_to(bytes_data=wire.encode_control({"type": "end"}))
    for watch in (chosen, auto):
        assert (await next_of(watch, "ended", skip=("rigs", "frame")))["session_id"] == welcome_a[
            "session_id"
        ]
    # the auto page goes on to B, the one car still moving; the page that chose A waits for A
    assert (await next_of(auto, "session", skip=("rigs", "frame")))["session_id"] == welcome_b["session_id"]
    msg = await rigs_until(chosen, {rig_a.pk: "offline"})
    assert msg["following"] == rig_a.pk and msg["chosen"] == rig_a.pk
    for comm in (chosen, auto, a, b):
        await comm.disconnect()


async def test_a_chosen_rig_is_followed_into_its_next_session(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    watch = await viewer(driver, f"/ws/live/rig/{rig_row.pk}/")
    assert (await watch.connect())[0]
    await next_of(watch, "waiting")  # the rig has no session yet
    rig, first = await open_session(token, {**HELLO, "session_uid": "s-1"})
    assert (await next_of(watch, "session"))["session_id"] == first["session_id"]
    await rig.send_to(bytes_data=wire.encode_control({**HELLO, "session_uid": "s-2"}))  # the next session
    second = await receive_msg(rig)
    assert second["session_id"] != first["session_id"]
    msg = await next_of(watch, "session", skip=("rigs", "ended"))
    assert msg["session_id"] == second["session_id"]
    await watch.disconnect()
    await rig.disconnect()


async def test_another_users_rig_cannot_be_chosen(rig_and_token, stranger) -> None:
    rig_row, _ = rig_and_token
    watch = await viewer(stranger, f"/ws/live/rig/{rig_row.pk}/")
    await watch.connect()
    out = await watch.receive_output(timeout=5)
    assert out["type"] == "websocket.close" and out["code"] == wire.CLOSE_NOT_FOUND


async def test_a_silent_live_session_is_shown_as_ended(rig_and_token, driver) -> None:
    rig_row, token = rig_and_token
    rig, welcome = await open_session(token)
    await drive(rig)
    watch = await viewer(driver, f"/ws/live/rig/{rig_row.pk}/")
    assert (await watch.connect())[0]
    assert (await next_of(watch, "session"))["session_id"] == welcome["session_id"]
    # the agent was killed: no `end`, and its last frame is now two minutes old
    long_ago = timezone.now() - dt.timedelta(seconds=120)
    await Session.objects.filter(pk=welcome["session_id"]).aupdate(last_frame_at=long_ago)
    assert (await next_of(watch, "ended"))["session_id"] == welcome["session_id"]
    await rigs_until(watch, {rig_row.pk: "offline"})
    assert (await Session.objects.aget(pk=welcome["session_id"])).state == Session.State.LIVE  # only shown
    await watch.disconnect()
    await rig.disconnect()


# ---- the page


def test_the_page_lists_the_rigs_and_follows_the_moving_car_by_default(client, driver) -> None:
    moving, _ = rig_create(owner=driver, name="Moving")
    rig_create(owner=driver, name="Parked")
    Session.objects.create(
        owner=driver, rig=moving, game="demo", last_frame_at=timezone.now(), track=_track(), car=_car()
    )
    client.force_login(driver)
    html = client.get("/live/").content.decode()
    assert 'data-ws-path="ws/live/"' in html
    assert f'class="rig-choice following" href="/live/?rig={moving.pk}"' in html
    assert "Parked" in html and 'rig-state offline"' in html and 'rig-state streaming"' in html


def test_the_page_follows_a_chosen_rig(client, driver) -> None:
    rig, _ = rig_create(owner=driver, name="Rig")
    client.force_login(driver)
    html = client.get(f"/live/?rig={rig.pk}").content.decode()
    assert f'data-ws-path="ws/live/rig/{rig.pk}/"' in html and 'aria-current="page"' in html


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "", "١", "9" * 40])
def test_a_rig_that_is_not_a_number_is_a_400(client, driver, value: str) -> None:
    client.force_login(driver)
    response = client.get("/live/", {"rig": value})
    assert response.status_code == 400 and b"rig must be the number" in response.content


def test_another_users_or_an_unknown_rig_is_a_404(client, driver, stranger) -> None:
    theirs, _ = rig_create(owner=stranger, name="Theirs")
    client.force_login(driver)
    assert client.get(f"/live/?rig={theirs.pk}").status_code == 404
    assert client.get("/live/?rig=999999").status_code == 404
