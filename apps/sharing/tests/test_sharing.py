"""Share links over HTTP and through their services: what a link opens, and nothing more."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.utils import timezone

from apps.accounts.lib.tokens import SHARE_TOKEN_PREFIX, token_hash
from apps.accounts.models import Rig
from apps.sessions.models import Car, Lap, Session, Track
from apps.sharing.models import CoachedDriver, CoachNote, ShareLink
from apps.sharing.selectors import share_link_resolve, share_link_session
from apps.sharing.services import (
    NoteRefused,
    coach_note_send,
    note_clean,
    share_link_create,
    share_link_revoke,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


def make_session(owner: Any, rig: Rig | None = None, *, state: str = "live", laps: int = 0) -> Session:
    track, _ = Track.objects.get_or_create(game="demo", name="Test Loop", defaults={"length_m": 1000.0})
    car, _ = Car.objects.get_or_create(game="demo", name="Test Car")
    session = Session.objects.create(owner=owner, rig=rig, game="demo", track=track, car=car, state=state)
    now = timezone.now()
    for n in range(1, laps + 1):
        Lap.objects.create(
            session=session,
            number=n,
            time_ms=90_000 + n,
            sector_ms=[30_000, 30_000, 30_000 + n],
            started_at=now,
            ended_at=now,
            t_start=0.0,
            t_end=90.0,
        )
    return session


def share_rig(rig: Rig, **kw: Any) -> tuple[ShareLink, str]:
    return share_link_create(owner=rig.owner, rig=rig, expires_in=kw.pop("expires_in", None), **kw)


def share_session(session: Session, **kw: Any) -> tuple[ShareLink, str]:
    return share_link_create(
        owner=session.owner, session=session, expires_in=kw.pop("expires_in", None), **kw
    )


# Tokens and resolution


def test_it_stores_only_a_hash_of_the_token(rig_and_token) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig, label="Coach Alex")
    with connection.cursor() as cur:
        cur.execute("SELECT * FROM accounts_sharelink")
        rows = repr(cur.fetchall())
    assert token not in rows and token[len(SHARE_TOKEN_PREFIX) :] not in rows
    assert link.token_hash == token_hash(token) and link.token_hash in rows


def test_it_makes_unguessable_prefixed_tokens(rig_and_token) -> None:
    rig, _ = rig_and_token
    tokens = {share_rig(rig)[1] for _ in range(5)}
    assert len(tokens) == 5
    for token in tokens:
        assert token.startswith("sc_share_")
        # urlsafe base64 carries 6 bits a character: 22 characters hold 128 bits.
        assert len(token) - len(SHARE_TOKEN_PREFIX) >= 22


def test_it_resolves_a_link_or_says_why_not(rig_and_token) -> None:
    rig, _ = rig_and_token
    live, live_token = share_rig(rig)
    old, old_token = share_rig(rig, expires_in=dt.timedelta(hours=1))
    ShareLink.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    gone, gone_token = share_rig(rig)
    share_link_revoke(link=gone)
    assert share_link_resolve(token=live_token).ok
    assert share_link_resolve(token=old_token).refusal == "expired"
    assert share_link_resolve(token=gone_token).refusal == "revoked"
    assert share_link_resolve(token="sc_share_" + "x" * 32).refusal == "unknown"
    assert share_link_resolve(token="sc_rig_whatever").refusal == "unknown"


def test_it_refuses_a_link_whose_rig_was_unpaired(rig_and_token) -> None:
    from apps.accounts.services import rig_revoke

    rig, _ = rig_and_token
    _, token = share_rig(rig)
    rig_revoke(rig=rig)
    assert share_link_resolve(token=token).refusal == "revoked"


def test_it_shares_only_the_owners_things(rig_and_token, stranger) -> None:
    rig, _ = rig_and_token
    with pytest.raises(PermissionDenied):
        share_link_create(owner=stranger, rig=rig, expires_in=None)
    with pytest.raises(PermissionDenied):
        share_link_create(owner=stranger, session=make_session(rig.owner, rig), expires_in=None)


@pytest.fixture
def in_process_layer(settings) -> None:  # type: ignore[no-untyped-def]
    """These tests listen from sync code, one event loop per call; the Redis pub/sub layer
    ties a channel to its loop, so they use the in-process layer (same group_send code path;
    Redis delivery is covered by the socket tests)."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def test_it_tells_open_viewers_when_a_link_is_revoked(
    rig_and_token, django_capture_on_commit_callbacks, in_process_layer
) -> None:
    rig, _ = rig_and_token
    link, _ = share_rig(rig)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"share.{link.pk}", channel)
    with django_capture_on_commit_callbacks(execute=True):
        share_link_revoke(link=link)
    event = async_to_sync(layer.receive)(channel)
    assert event == {"type": "share.revoked", "share_id": link.pk}


def test_it_opens_only_the_rigs_live_session(rig_and_token, driver) -> None:
    rig, _ = rig_and_token
    other_rig = Rig.objects.create(owner=driver, name="Other", token_hash="0" * 64, token_hint="0000")
    ended = make_session(driver, rig, state="ended")
    make_session(driver, other_rig)
    link, _ = share_rig(rig)
    assert share_link_session(link=link) is None  # the rig's archive stays closed
    assert share_link_session(link=link, session_id=ended.pk) is None
    live = make_session(driver, rig)
    assert share_link_session(link=link) == live


# Notes


def test_it_cleans_notes_for_a_terminal_and_a_speech_engine() -> None:
    assert note_clean("  brake\x00 later\n into\x1b[31m T1\u202e ") == "brake later into [31m T1"
    for bad in ("", " \x07 ", "x" * 281, 42, None):
        with pytest.raises(NoteRefused):
            note_clean(bad)
    assert note_clean("x" * 280) == "x" * 280


def test_it_stores_and_delivers_a_note_then_rate_limits(
    rig_and_token, django_capture_on_commit_callbacks, in_process_layer
) -> None:
    rig, _ = rig_and_token
    session = make_session(rig.owner, rig)
    link, _ = share_rig(rig, label="Coach Alex")
    layer = get_channel_layer()
    to_session, to_rig = async_to_sync(layer.new_channel)(), async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"session.{session.pk}", to_session)
    async_to_sync(layer.group_add)(f"rig.{rig.pk}", to_rig)
    with django_capture_on_commit_callbacks(execute=True):
        coach_note_send(link=link, session=session, text="Brake later into T1")
    base = {"type": "coaching.note", "author": "Coach Alex", "text": "Brake later into T1"}
    assert async_to_sync(layer.receive)(to_session) == {**base, "session_id": session.pk}
    assert async_to_sync(layer.receive)(to_rig) == {**base, "rig_id": rig.pk}
    assert CoachNote.objects.get().text == "Brake later into T1"
    with pytest.raises(NoteRefused, match="one note every 3 seconds"):
        coach_note_send(link=link, session=session, text="again")
    assert CoachNote.objects.count() == 1


def test_it_caps_notes_per_ten_minutes(rig_and_token) -> None:
    rig, _ = rig_and_token
    session = make_session(rig.owner, rig)
    link, _ = share_rig(rig)
    for i in range(20):
        cache.delete(f"rl:note-burst:{link.token_hash[:20]}")  # step past the 3 s spacing
        coach_note_send(link=link, session=session, text=f"note {i}")
    cache.delete(f"rl:note-burst:{link.token_hash[:20]}")
    with pytest.raises(NoteRefused, match="at most 20 notes"):
        coach_note_send(link=link, session=session, text="one too many")


def test_it_refuses_notes_to_an_ended_session(rig_and_token) -> None:
    rig, _ = rig_and_token
    session = make_session(rig.owner, rig, state="ended")
    link, _ = share_session(session)
    with pytest.raises(NoteRefused, match="not live"):
        coach_note_send(link=link, session=session, text="hello")


# The Sharing page


def test_it_creates_a_link_and_shows_its_url_once(client: Client, rig_and_token, driver) -> None:
    rig, _ = rig_and_token
    client.force_login(driver)
    resp = client.post("/sharing/", {"target": f"rig:{rig.pk}", "expiry": "1d", "label": "Coach Alex"})
    assert resp.status_code == 200
    url = re.search(r'value="(http://testserver/s/(sc_share_[^/]+)/)"', resp.content.decode())
    assert url is not None
    link = ShareLink.objects.get()
    assert (link.kind, link.rig, link.label) == ("live_rig", rig, "Coach Alex")
    assert dt.timedelta(hours=23) < link.expires_at - timezone.now() <= dt.timedelta(days=1)
    listing = client.get("/sharing/").content.decode()
    assert (
        url.group(2) not in listing and f"sc_share_…{link.token_hint}" in listing and "Coach Alex" in listing
    )


@pytest.mark.parametrize(
    ("expiry", "delta"), [("1h", dt.timedelta(hours=1)), ("7d", dt.timedelta(days=7)), ("never", None)]
)
def test_it_sets_the_chosen_expiry(client: Client, driver, expiry: str, delta: dt.timedelta | None) -> None:
    session = make_session(driver, state="ended")
    client.force_login(driver)
    client.post("/sharing/", {"target": f"session:{session.pk}", "expiry": expiry})
    link = ShareLink.objects.get()
    assert link.session == session
    if delta is None:
        assert link.expires_at is None
    else:
        assert delta - dt.timedelta(minutes=1) < link.expires_at - timezone.now() <= delta


def test_it_will_not_share_another_users_rig_or_session(client: Client, rig_and_token, stranger) -> None:
    rig, _ = rig_and_token
    session = make_session(rig.owner, rig)
    client.force_login(stranger)
    for target in (f"rig:{rig.pk}", f"session:{session.pk}", "rig:abc", "planet:1"):
        assert client.post("/sharing/", {"target": target, "expiry": "1h"}).status_code == 200
    assert not ShareLink.objects.exists()


def test_it_revokes_from_the_sharing_page_and_lists_only_active_links(
    client: Client, rig_and_token, driver
) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig, label="to revoke")
    client.force_login(driver)
    assert client.post(f"/sharing/{link.pk}/revoke/").status_code == 302
    assert share_link_resolve(token=token).refusal == "revoked"
    assert "to revoke" not in client.get("/sharing/").content.decode()


def test_it_hides_another_users_link_from_revocation(client: Client, rig_and_token, stranger) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig)
    client.force_login(stranger)
    assert client.post(f"/sharing/{link.pk}/revoke/").status_code == 404
    assert share_link_resolve(token=token).ok


# Share pages, without an account


def test_it_shows_the_read_only_live_dashboard_and_counts_use(client: Client, rig_and_token) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig)
    resp = client.get(f"/s/{token}/")
    html = resp.content.decode()
    assert resp.status_code == 200 and f'data-ws-path="ws/share/{token}/"' in html
    assert 'id="note-form"' in html and "Waiting for the driver" in html
    assert resp["Referrer-Policy"] == "no-referrer"
    link.refresh_from_db()
    assert link.use_count == 1 and link.last_used_at is not None


def test_it_shows_a_shared_session_with_its_laps(client: Client, driver) -> None:
    session = make_session(driver, state="ended", laps=3)
    _, token = share_session(session)
    resp = client.get(f"/s/{token}/")
    html = resp.content.decode()
    assert resp.status_code == 200 and "Test Loop" in html and "read-only" in html
    assert html.count("<tr class=") == 3 and "1:30.003" in html
    assert 'id="note-form"' not in html


@pytest.mark.parametrize(
    ("case", "status", "text"),
    [
        ("unknown", 404, "Unknown share link"),
        ("expired", 410, "has expired"),
        ("revoked", 410, "was revoked"),
    ],
)
def test_it_explains_a_dead_link(client: Client, rig_and_token, case: str, status: int, text: str) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig, expires_in=dt.timedelta(hours=1))
    if case == "unknown":
        token = SHARE_TOKEN_PREFIX + "nope" * 8
    elif case == "expired":
        ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    else:
        share_link_revoke(link=link)
    for path in (f"/s/{token}/", f"/s/{token}/live/"):
        resp = client.get(path)
        assert resp.status_code == status and text in resp.content.decode()
        assert "ws/share" not in resp.content.decode()


def test_it_gives_a_share_link_holder_nothing_else(client: Client, rig_and_token, driver) -> None:
    rig, _ = rig_and_token
    shared = make_session(driver, rig, state="ended", laps=1)
    other = make_session(driver, rig)
    link, token = share_session(shared)
    assert client.get(f"/s/{token}/").status_code == 200  # the holder has "visited" the link
    for path in (
        "/live/",
        "/sessions/",
        f"/sessions/{other.pk}/live/",
        f"/sessions/{shared.pk}/live/",
        f"/sessions/{other.pk}/",
        "/sharing/",
        "/rigs/",
        "/coaching/drivers/",
    ):
        resp = client.get(path)
        assert resp.status_code in (302, 403, 404), path
        assert resp.status_code != 302 or "/accounts/login/" in resp["Location"], path
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    for path in (
        "/api/rig/me/",
        "/api/sessions/",
        f"/api/sessions/{other.pk}/",
        f"/api/sessions/{shared.pk}/laps/",
    ):
        assert client.get(path, **bearer).status_code in (401, 403, 404), path


def test_it_lets_no_share_link_holder_write(client: Client, rig_and_token, driver) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig)
    client.get(f"/s/{token}/")
    posts = {
        f"/sharing/{link.pk}/revoke/": {},
        "/sharing/": {"target": f"rig:{rig.pk}", "expiry": "never"},
        f"/rigs/{rig.pk}/revoke/": {},
        f"/rigs/{rig.pk}/rename/": {"name": "pwned"},
    }
    for path, data in posts.items():
        resp = client.post(path, data, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert resp.status_code in (302, 401, 403, 404), path
        assert resp.status_code != 302 or "/accounts/login/" in resp["Location"], path
    rig.refresh_from_db()
    assert (rig.name, rig.revoked_at) == ("Sim rig", None)
    assert share_link_resolve(token=token).ok and ShareLink.objects.count() == 1


def test_it_opens_a_session_link_only_on_its_session(client: Client, driver) -> None:
    shared, other = make_session(driver, state="ended", laps=1), make_session(driver, laps=2)
    _, token = share_session(shared)
    html = client.get(f"/s/{token}/live/").content.decode()
    assert f'data-session="{shared.pk}"' in html and f'data-session="{other.pk}"' not in html


# Drivers I coach


def test_it_saves_a_shared_driver_and_shows_live_status(client: Client, rig_and_token, coach) -> None:
    rig, _ = rig_and_token
    _, token = share_rig(rig, label="Max")
    client.force_login(coach)
    resp = client.post("/coaching/drivers/", {"link": f"https://simcoach.example/s/{token}/", "nickname": ""})
    assert resp.status_code == 302
    saved = CoachedDriver.objects.get()
    assert (saved.coach, saved.nickname) == (coach, "Max")
    assert "offline" in client.get("/coaching/drivers/").content.decode()
    make_session(rig.owner, rig)
    listing = client.get("/coaching/drivers/").content.decode()
    assert "live" in listing and "Test Loop" in listing
    page = client.get(f"/coaching/drivers/{saved.pk}/")
    assert page.status_code == 200 and f"ws/coached/{saved.pk}/" in page.content.decode()
    assert token not in page.content.decode()  # the saved copy works without the token in the page


def test_it_keeps_a_coached_driver_private_to_its_coach(
    client: Client, rig_and_token, coach, stranger
) -> None:
    rig, _ = rig_and_token
    link, _ = share_rig(rig)
    saved = CoachedDriver.objects.create(coach=coach, share_link=link, nickname="Max")
    client.force_login(stranger)
    assert client.get(f"/coaching/drivers/{saved.pk}/").status_code == 404
    assert client.post(f"/coaching/drivers/{saved.pk}/remove/").status_code == 404
    assert CoachedDriver.objects.count() == 1


def test_it_marks_a_revoked_coached_driver_and_closes_its_page(client: Client, rig_and_token, coach) -> None:
    rig, _ = rig_and_token
    link, _ = share_rig(rig)
    saved = CoachedDriver.objects.create(coach=coach, share_link=link, nickname="Max")
    share_link_revoke(link=link)
    client.force_login(coach)
    assert "link revoked" in client.get("/coaching/drivers/").content.decode()
    assert client.get(f"/coaching/drivers/{saved.pk}/").status_code == 410


def test_it_refuses_to_save_a_dead_or_malformed_link(client: Client, rig_and_token, coach) -> None:
    rig, _ = rig_and_token
    link, token = share_rig(rig)
    share_link_revoke(link=link)
    client.force_login(coach)
    for pasted in (token, "https://example.com/not-a-link"):
        assert client.post("/coaching/drivers/", {"link": pasted}).status_code == 400
    assert not CoachedDriver.objects.exists()
