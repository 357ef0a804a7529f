"""The authorization matrix: every route, and who may reach the objects it names.

Every URL pattern and WebSocket route must have an entry here; a new route without one fails
`test_it_has_an_entry_for_every_route`, so nobody adds a door without saying who may open it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.services import rig_create
from apps.coaching.models import Cue, FocusCorner
from apps.sessions.models import Import
from apps.sessions.tests.factories import session_with_demo_laps
from apps.sharing.services import coached_driver_save, share_link_create, share_link_revoke
from apps.teams.services import (
    invitation_accept,
    invitation_create_link,
    invitation_create_user,
    invitation_revoke,
    live_reference_set,
    membership_remove,
    session_share_set,
    team_create,
)
from apps.telemetry import routing
from simcoach_site.asgi import application

ORIGIN = (b"origin", b"http://localhost")


@dataclass(frozen=True)
class Public:
    """No object named; anyone may call it (its own checks apply)."""


@dataclass(frozen=True)
class LoginOnly:
    """No object in the URL; what it shows is the caller's own (login required)."""


@dataclass(frozen=True)
class Owned:
    """Names an object of the driver's: strangers get 404, anonymous visitors a login."""

    url: Callable[[dict[str, Any]], str]
    method: str = "get"
    ok: tuple[int, ...] = (200,)  # what the owner's GET answers (a redirect for some)


@dataclass(frozen=True)
class TeamRoute:
    """Names a team (the driver owns it): anyone outside the team, also a removed member or
    a coach of another team, gets 404; with `manage`, a plain member gets 403; with `coach`,
    a member with the driver role gets 403 (coaches, managers and the owner pass)."""

    url: Callable[[dict[str, Any]], str]
    method: str = "get"
    manage: bool = False
    coach: bool = False


@dataclass(frozen=True)
class InviteToken:
    """Names a team invitation token: unknown tokens 404, revoked ones 410 (after a login)."""

    url: Callable[[str], str]


@dataclass(frozen=True)
class ShareToken:
    """Names a share token: unknown tokens 404, revoked ones 410, no login involved."""

    url: Callable[[str], str]


MATRIX: dict[str, object] = {
    "": Public(),
    "accounts/login/": Public(),
    "accounts/logout/": Public(),
    "accounts/signup/": Public(),
    "accounts/password/": LoginOnly(),
    "accounts/password/done/": LoginOnly(),
    "pair/": LoginOnly(),
    "rigs/": LoginOnly(),
    "accounts/units/": LoginOnly(),
    "api/rig/device/": Public(),
    "api/rig/token/": Public(),
    "api/rig/me/": Public(),
    "rigs/<int:rig_id>/rename/": Owned(lambda o: f"/rigs/{o['rig'].pk}/rename/", "post"),
    "rigs/<int:rig_id>/revoke/": Owned(lambda o: f"/rigs/{o['rig'].pk}/revoke/", "post"),
    "sharing/": LoginOnly(),
    "sharing/<int:link_id>/revoke/": Owned(lambda o: f"/sharing/{o['link'].pk}/revoke/", "post"),
    "s/<str:token>/": ShareToken(lambda t: f"/s/{t}/"),
    "s/<str:token>/live/": ShareToken(lambda t: f"/s/{t}/live/"),
    "coaching/drivers/": LoginOnly(),
    "coaching/drivers/<int:coached_driver_id>/": Owned(lambda o: f"/coaching/drivers/{o['coached'].pk}/"),
    "coaching/drivers/<int:coached_driver_id>/remove/": Owned(
        lambda o: f"/coaching/drivers/{o['coached'].pk}/remove/", "post"
    ),
    "sessions/": LoginOnly(),
    "sessions/<int:session_id>/": Owned(lambda o: f"/sessions/{o['session'].pk}/"),
    "laps/<int:lap_id>/": Owned(lambda o: f"/laps/{o['lap'].pk}/"),
    # session and lap exports, pages and API: every format (apps/sessions/downloads.py)
    **{
        f"{api}{kind}s/<int:{kind}_id>/export.{fmt}": Owned(
            lambda o, api=api, kind=kind, fmt=fmt: f"/{api}{kind}s/{o[kind].pk}/export.{fmt}"
        )
        for api in ("", "api/")
        for kind in ("session", "lap")
        for fmt in ("csv", "parquet", "ld", "ldx")
    },
    "laps/<int:lap_id>/reference/": Owned(lambda o: f"/laps/{o['lap'].pk}/reference/", "post"),
    "compare/": Owned(lambda o: f"/compare/?laps={o['lap'].pk},{o['lap2'].pk}&ref={o['lap'].pk}"),
    "api/sessions/": LoginOnly(),
    "api/sessions/<int:session_id>/": Owned(lambda o: f"/api/sessions/{o['session'].pk}/"),
    "api/laps/<int:lap_id>/": Owned(lambda o: f"/api/laps/{o['lap'].pk}/"),
    "api/laps/<int:lap_id>/channels/": Owned(lambda o: f"/api/laps/{o['lap'].pk}/channels/?channels=speed"),
    "api/compare/": Owned(lambda o: f"/api/compare/?laps={o['lap'].pk},{o['lap2'].pk}"),
    "import/": LoginOnly(),
    "api/imports/": LoginOnly(),
    "api/imports/<int:import_id>/": Owned(lambda o: f"/api/imports/{o['import'].pk}/"),
    "api/imports/<int:import_id>/chunk": Owned(
        lambda o: f"/api/imports/{o['import'].pk}/chunk?offset=0", "put"
    ),
    "live/": LoginOnly(),
    "sessions/<int:session_id>/live/": Owned(lambda o: f"/sessions/{o['session'].pk}/live/"),
    "sessions/<int:session_id>/report/": Owned(lambda o: f"/sessions/{o['session'].pk}/report/"),
    "api/sessions/<int:session_id>/report/": Owned(lambda o: f"/api/sessions/{o['session'].pk}/report/"),
    "api/sessions/<int:session_id>/cues/": Owned(lambda o: f"/api/sessions/{o['session'].pk}/cues/"),
    "api/sessions/<int:session_id>/cues/<int:cue_id>/": Owned(
        lambda o: f"/api/sessions/{o['session'].pk}/cues/{o['cue'].pk}/"
    ),
    "progress/": LoginOnly(),
    "api/progress/": LoginOnly(),
    "progress/focus/<int:focus_id>/close/": Owned(
        lambda o: f"/progress/focus/{o['focus'].pk}/close/", "post"
    ),
    # teams (apps/teams): team pages, invitations, sharing, leaderboards, references, API
    "teams/": LoginOnly(),
    "teams/<int:team_id>/": TeamRoute(lambda o: f"/teams/{o['team'].pk}/"),
    "teams/<int:team_id>/invite/": TeamRoute(lambda o: f"/teams/{o['team'].pk}/invite/", "post", True),
    "teams/<int:team_id>/invitations/<int:invitation_id>/revoke/": TeamRoute(
        lambda o: f"/teams/{o['team'].pk}/invitations/{o['invitation'].pk}/revoke/", "post", True
    ),
    "teams/join/<str:token>/": InviteToken(lambda t: f"/teams/join/{t}/"),
    "teams/invitations/<int:invitation_id>/accept/": Owned(
        lambda o: f"/teams/invitations/{o['invited'].pk}/accept/", "post"
    ),
    "teams/<int:team_id>/leave/": TeamRoute(lambda o: f"/teams/{o['team'].pk}/leave/", "post"),
    "teams/<int:team_id>/delete/": TeamRoute(lambda o: f"/teams/{o['team'].pk}/delete/", "get", True),
    # a team's driver, as the team's members (sessions) and coaches (live, notes) reach them
    "coaching/teams/<int:team_id>/drivers/<int:driver_id>/": TeamRoute(
        lambda o: f"/coaching/teams/{o['team'].pk}/drivers/{o['session'].owner_id}/"
    ),
    "coaching/teams/<int:team_id>/drivers/<int:driver_id>/live/": TeamRoute(
        lambda o: f"/coaching/teams/{o['team'].pk}/drivers/{o['session'].owner_id}/live/", coach=True
    ),
    **{
        f"teams/<int:team_id>/members/<int:membership_id>/{action}/": TeamRoute(
            lambda o, action=action: f"/teams/{o['team'].pk}/members/{o['member'].pk}/{action}/", "post", True
        )
        for action in ("remove", "role", "transfer")
    },
    "teams/<int:team_id>/sharing/": TeamRoute(lambda o: f"/teams/{o['team'].pk}/sharing/", "post"),
    "teams/<int:team_id>/sessions/<int:session_id>/": TeamRoute(
        lambda o: f"/teams/{o['team'].pk}/sessions/{o['session'].pk}/"
    ),
    "teams/<int:team_id>/sessions/<int:session_id>/share/": TeamRoute(
        lambda o: f"/teams/{o['team'].pk}/sessions/{o['session'].pk}/share/", "post"
    ),
    "leaderboards/": LoginOnly(),
    "leaderboards/listing/": LoginOnly(),
    "laps/<int:lap_id>/compare-with-mine/": Owned(
        lambda o: f"/laps/{o['lap'].pk}/compare-with-mine/", ok=(302,)
    ),
    "references/": LoginOnly(),
    "references/use/<int:lap_id>/": Owned(lambda o: f"/references/use/{o['lap'].pk}/", "post"),
    "references/<int:reference_id>/clear/": Owned(
        lambda o: f"/references/{o['reference'].pk}/clear/", "post"
    ),
    "api/teams/": LoginOnly(),
    "api/teams/<int:team_id>/": TeamRoute(lambda o: f"/api/teams/{o['team'].pk}/"),
    "api/teams/<int:team_id>/members/": TeamRoute(lambda o: f"/api/teams/{o['team'].pk}/members/"),
    "api/teams/<int:team_id>/members/<int:membership_id>/": TeamRoute(
        lambda o: f"/api/teams/{o['team'].pk}/members/{o['member'].pk}/", "delete", True
    ),
    "api/teams/<int:team_id>/invitations/": TeamRoute(
        lambda o: f"/api/teams/{o['team'].pk}/invitations/", "get", True
    ),
    "api/teams/<int:team_id>/invitations/<int:invitation_id>/": TeamRoute(
        lambda o: f"/api/teams/{o['team'].pk}/invitations/{o['invitation'].pk}/", "delete", True
    ),
    "api/invitations/accept/": LoginOnly(),
    "api/teams/<int:team_id>/sessions/<int:session_id>/share/": TeamRoute(
        lambda o: f"/api/teams/{o['team'].pk}/sessions/{o['session'].pk}/share/", "put"
    ),
    "api/leaderboards/": LoginOnly(),
    "api/references/": LoginOnly(),
    "api/references/<int:reference_id>/": Owned(lambda o: f"/api/references/{o['reference'].pk}/", "delete"),
    "api/status": Public(),
    "api/status/": Public(),
    "api/schema/": Public(),
    "api/docs/": Public(),
    "api/": Public(),  # the list of routes, no data
    "favicon.ico": Public(),
    "admin/": Public(),  # Django's own staff check; tested by Django
    "admin/login/": Public(),  # the admin login, with the login limits in front (accounts/views.py)
}

# WebSocket routes: the rig socket takes only rig tokens (apps/telemetry/tests/test_consumers.py).
WS_MATRIX: dict[str, object] = {
    "ws/rig/": Public(),
    "ws/live/": LoginOnly(),
    "ws/live/<int:session_id>/": Owned(lambda o: f"/ws/live/{o['session'].pk}/"),
    "ws/live/rig/<int:rig_id>/": Owned(lambda o: f"/ws/live/rig/{o['rig'].pk}/"),
    "ws/share/<str:token>/": ShareToken(lambda t: f"/ws/share/{t}/"),
    "ws/coached/<int:coached_driver_id>/": Owned(lambda o: f"/ws/coached/{o['coached'].pk}/"),
    "ws/coached/team/<int:team_id>/<int:driver_id>/": TeamRoute(
        lambda o: f"/ws/coached/team/{o['team'].pk}/{o['session'].owner_id}/", coach=True
    ),
    "": Public(),  # every other path: accepted and closed with 4404, it serves nothing
}


def url_patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if str(p.pattern) == "admin/":
                yield "admin/"
                continue
            yield from url_patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def test_it_has_an_entry_for_every_route() -> None:
    assert set(url_patterns(get_resolver())) == set(MATRIX)
    ws = {str(p.pattern) for p in routing.rig_urlpatterns + routing.viewer_urlpatterns}
    assert ws == set(WS_MATRIX)


@pytest.fixture
def objects(driver, coach, django_user_model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    laps = list(session.laps.order_by("number"))
    rig, _ = rig_create(owner=driver, name="Rig")
    link, token = share_link_create(owner=driver, session=session, expires_in=dt.timedelta(hours=1))
    coached = coached_driver_save(coach=driver, link=link, nickname="me")
    focus = FocusCorner.objects.create(
        owner=driver, track=session.track, car=session.car, corner="La Source", kind="brake",
        target=250.0, baseline=240.0, opened_in=session,
    )  # fmt: skip
    # The driver owns a team, shares the session there; a team mate is in it as a driver.
    team = team_create(owner=driver, name="Home")
    owner = team.memberships.get()
    mate = django_user_model.objects.create_user("mate", "mate@example.com", "mate-pass-1")
    member = invitation_accept(user=mate, invitation=invitation_create_user(by=owner, username="mate"))
    session_share_set(membership=owner, session=session, shared=True)
    invitation, team_token = invitation_create_link(by=owner)
    # ... and a coach of the team, who watches its drivers live.
    team_coach = django_user_model.objects.create_user("team-coach", "tc@example.com", "coach-pass-1")
    invitation_accept(
        user=team_coach, invitation=invitation_create_user(by=owner, username="team-coach", role="coach")
    )
    # Another team, owned by the coach, invites the driver by username.
    other = team_create(owner=coach, name="Away")
    invited = invitation_create_user(by=other.memberships.get(), username=driver.username)
    reference = live_reference_set(user=driver, lap_id=laps[1].pk)
    cue = Cue.objects.create(
        owner=driver, session=session, author="driver", via="live", at_m=300.0, text="brake at 100"
    )
    return {
        "focus": focus,
        "cue": cue,
        "session": session,
        "lap": laps[0],
        "lap2": laps[1],
        "rig": rig,
        "link": link,
        "token": token,
        "coached": coached,
        "import": Import.objects.create(owner=driver, filename="a.ld", size=10),
        "team": team,
        "mate": mate,
        "member": member,
        "team_coach": team_coach,
        "invitation": invitation,
        "team_token": team_token,
        "invited": invited,
        "other_team": other,
        "reference": reference,
    }


def _call(client: Client, entry: Owned | TeamRoute, objs: dict[str, Any]) -> Any:
    return getattr(client, entry.method)(entry.url(objs))


@pytest.mark.django_db
def test_it_hides_every_owned_object_from_another_user(objects, stranger) -> None:
    client = Client()
    client.force_login(stranger)
    leaks = {}
    for route, entry in MATRIX.items():
        if isinstance(entry, Owned | TeamRoute):
            status = _call(client, entry, objects).status_code
            if status not in (403, 404):
                leaks[route] = status
    assert not leaks, f"routes that served another user's object: {leaks}"


@pytest.mark.django_db
def test_it_asks_anonymous_visitors_to_log_in(objects) -> None:
    client = Client()
    open_doors = {}
    for route, entry in MATRIX.items():
        if isinstance(entry, Owned | TeamRoute):
            resp = _call(client, entry, objects)
        elif isinstance(entry, LoginOnly | InviteToken):
            resp = client.get("/" + route)
        else:
            continue
        login_redirect = resp.status_code == 302 and "/accounts/login/" in resp["Location"]
        if not (login_redirect or resp.status_code in (401, 403)):
            open_doors[route] = resp.status_code
    assert not open_doors, f"routes open to anonymous visitors: {open_doors}"


@pytest.mark.django_db
def test_it_lets_the_owner_through(objects, driver) -> None:
    client = Client()
    client.force_login(driver)
    for route, entry in MATRIX.items():
        if isinstance(entry, Owned) and entry.method == "get":
            assert _call(client, entry, objects).status_code in entry.ok, route
        if isinstance(entry, TeamRoute) and entry.method == "get":
            assert _call(client, entry, objects).status_code == 200, route


def _token_routes() -> dict[str, object]:
    """Every route a script calls: the user API under api/ and the lap exports."""
    return {
        route: entry
        for route, entry in MATRIX.items()
        if (route.startswith("api/") or "/export." in route)
        and isinstance(entry, (Owned, LoginOnly, TeamRoute))
    }


@pytest.mark.django_db
def test_a_drf_token_opens_every_api_and_export_route(objects, driver) -> None:
    from rest_framework.authtoken.models import Token

    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=driver).key}")
    refused = {}
    for route, entry in _token_routes().items():
        if isinstance(entry, Owned | TeamRoute):
            resp = _call(api, entry, objects)
        else:  # api/imports/ is POST only: a token gets past auth to "no file"
            resp = api.post("/" + route) if route == "api/imports/" else api.get("/" + route)
        if resp.status_code in (301, 302, 401, 403):
            refused[route] = resp.status_code
    assert not refused, f"routes that refused the owner's token: {refused}"
    assert {r for r in _token_routes() if "/export." in r}, "the exports should be in the matrix"


@pytest.mark.django_db
def test_an_export_answers_a_bad_token_with_401_not_the_login_page(objects) -> None:
    url = f"/laps/{objects['lap'].pk}/export.csv"
    for header, says in [
        ("Token not-a-real-key", "Invalid token"),
        ("Bearer sc_rig_something", "Authorization: Token <key>"),
        ("Token", "Authorization: Token <key>"),
    ]:
        resp = Client(HTTP_AUTHORIZATION=header).get(url)
        assert resp.status_code == 401 and resp["WWW-Authenticate"].startswith("Token"), header
        assert says in resp.json()["detail"], header


@pytest.mark.django_db
def test_it_answers_unknown_and_revoked_share_tokens(objects) -> None:
    client = Client()
    share_link_revoke(link=objects["link"])
    for route, entry in MATRIX.items():
        if isinstance(entry, ShareToken):
            assert client.get(entry.url("sc_share_not-a-token")).status_code == 404, route
            assert client.get(entry.url(objects["token"])).status_code == 410, route


async def _ws_close_code(path: str, cookie: str | None) -> int | None:
    headers = [ORIGIN] + ([(b"cookie", f"sessionid={cookie}".encode())] if cookie else [])
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect()
    if not connected:
        return 403
    while True:
        out = await comm.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            return int(out["code"])


@pytest.mark.django_db(transaction=True)
async def test_it_closes_sockets_on_objects_of_another_user(objects, stranger) -> None:
    from asgiref.sync import sync_to_async

    client = Client()
    await sync_to_async(client.force_login)(stranger)
    cookie = client.cookies["sessionid"].value
    for route, entry in WS_MATRIX.items():
        if isinstance(entry, Owned | TeamRoute):
            assert await _ws_close_code(entry.url(objects), cookie) in (4403, 4404), route
            assert await _ws_close_code(entry.url(objects), None) in (4401, 4403, 4404), route
        elif isinstance(entry, ShareToken):
            assert await _ws_close_code(entry.url("sc_share_nope"), None) == 4404, route


def _outsiders(objects: dict[str, Any], django_user_model: Any) -> dict[str, Any]:
    """Everyone who must not reach the driver's team: a member and a coach of another team,
    a member removed from it, and a stranger."""
    make = django_user_model.objects.create_user
    other_member, other_coach, removed = make("other-member"), make("other-coach"), make("removed")
    away = objects["other_team"].memberships.get()
    for user, role in ((other_member, "driver"), (other_coach, "coach")):
        invitation_accept(
            user=user, invitation=invitation_create_user(by=away, username=user.username, role=role)
        )
    owner = objects["team"].memberships.get(role="owner")
    gone = invitation_accept(user=removed, invitation=invitation_create_user(by=owner, username="removed"))
    membership_remove(by=owner, member=gone)
    return {
        "member of another team": other_member,
        "coach of another team": other_coach,
        "removed member": removed,
    }


@pytest.mark.django_db
def test_it_keeps_every_team_route_from_outsiders(objects, django_user_model) -> None:
    leaks = {}
    for who, user in _outsiders(objects, django_user_model).items():
        client = Client()
        client.force_login(user)
        for route, entry in MATRIX.items():
            if isinstance(entry, Owned | TeamRoute):
                status = _call(client, entry, objects).status_code
                if status not in (403, 404):
                    leaks[(who, route)] = status
    assert not leaks, f"routes that served the driver's team or objects to an outsider: {leaks}"


@pytest.mark.django_db
def test_it_lets_only_owners_and_managers_manage_a_team(objects) -> None:
    client = Client()
    client.force_login(objects["mate"])  # a plain driver of the team
    for route, entry in MATRIX.items():
        if isinstance(entry, TeamRoute) and (entry.manage or entry.coach):
            assert _call(client, entry, objects).status_code == 403, route
        elif isinstance(entry, TeamRoute) and entry.method == "get":  # a member reads the team
            assert _call(client, entry, objects).status_code == 200, route


@pytest.mark.django_db
def test_it_lets_a_team_coach_coach_but_not_manage(objects) -> None:
    client = Client()
    client.force_login(objects["team_coach"])
    for route, entry in MATRIX.items():
        if isinstance(entry, TeamRoute) and entry.manage:
            assert _call(client, entry, objects).status_code == 403, route
        elif isinstance(entry, TeamRoute) and entry.method == "get":  # reads the team, watches its drivers
            assert _call(client, entry, objects).status_code == 200, route


async def _ws_first(path: str, cookie: str | None) -> dict[str, Any]:
    """The first thing a socket says: a message (it stayed open) or its close."""
    headers = [ORIGIN] + ([(b"cookie", f"sessionid={cookie}".encode())] if cookie else [])
    comm = WebsocketCommunicator(application, path, headers=headers)
    assert (await comm.connect())[0]
    out = await comm.receive_output(timeout=5)
    if out["type"] == "websocket.send":
        first = json.loads(out["text"])
        if first["type"] == "closed":
            out = await comm.receive_output(timeout=5)
            return {"close": int(out["code"])}
        await comm.disconnect()
        return first
    return {"close": int(out["code"])}


@pytest.mark.django_db(transaction=True)
async def test_it_opens_team_sockets_to_the_teams_coaches_only(objects, django_user_model) -> None:
    from asgiref.sync import sync_to_async

    outsiders = await sync_to_async(_outsiders)(objects, django_user_model)
    expected: dict[str, tuple[Any, dict[str, Any]]] = {
        "team coach": (objects["team_coach"], {"type": "waiting"}),  # nothing live: waits for it
        "the driver": (
            await django_user_model.objects.aget(pk=objects["session"].owner_id),
            {"type": "waiting"},
        ),
        "driver-role member": (objects["mate"], {"close": 4403}),
        "anonymous": (None, {"close": 4401}),
        **{who: (user, {"close": 4404}) for who, user in outsiders.items()},
    }
    got = {}
    for route, entry in WS_MATRIX.items():
        if not isinstance(entry, TeamRoute):
            continue
        for who, (user, _) in expected.items():
            cookie = None
            if user is not None:
                client = Client()
                await sync_to_async(client.force_login)(user)
                cookie = client.cookies["sessionid"].value
            got[(route, who)] = await _ws_first(entry.url(objects), cookie)
    assert got == {(r, who): want for (r, who) in got for w, (_, want) in expected.items() if w == who}
    assert got, "no team sockets in the matrix"


@pytest.mark.django_db
def test_it_answers_unknown_and_revoked_team_invitations(objects, stranger) -> None:
    client = Client()
    client.force_login(stranger)
    owner = objects["team"].memberships.get(role="owner")
    invitation_revoke(by=owner, invitation=objects["invitation"])
    for route, entry in MATRIX.items():
        if isinstance(entry, InviteToken):
            assert client.get(entry.url("sc_team_not-a-token")).status_code == 404, route
            assert client.get(entry.url(objects["team_token"])).status_code == 410, route
            assert client.post(entry.url(objects["team_token"])).status_code == 410, route
    assert not objects["team"].memberships.filter(user=stranger).exists()


async def _ws_said_before_close(path: str, cookie: str | None) -> tuple[list[str], int]:
    """Every message type a socket sent, and its close code (it must close)."""
    headers = [ORIGIN] + ([(b"cookie", f"sessionid={cookie}".encode())] if cookie else [])
    comm = WebsocketCommunicator(application, path, headers=headers)
    assert (await comm.connect())[0]
    said = []
    while (out := await comm.receive_output(timeout=5))["type"] != "websocket.close":
        said.append(json.loads(out["text"])["type"])
    return said, int(out["code"])


@pytest.mark.django_db(transaction=True)
async def test_no_socket_serves_the_driver_to_outsiders_or_a_driver_role_member(
    objects, django_user_model
) -> None:
    """Member and coach of another team, a removed member, and the team's own driver-role
    member on every socket that names the driver's things: refused, with nothing said first
    but the reason (a live session shared with the team makes a leak visible)."""
    from asgiref.sync import sync_to_async

    from apps.sessions.models import Session

    await Session.objects.filter(pk=objects["session"].pk).aupdate(state="live", source="live")
    people = {
        **await sync_to_async(_outsiders)(objects, django_user_model),
        "driver-role member": objects["mate"],
    }
    leaks = {}
    for who, user in people.items():
        client = Client()
        await sync_to_async(client.force_login)(user)
        cookie = client.cookies["sessionid"].value
        for route, entry in WS_MATRIX.items():
            if isinstance(entry, Owned | TeamRoute):
                said, code = await _ws_said_before_close(entry.url(objects), cookie)
                if code not in (4403, 4404) or set(said) - {"closed"}:
                    leaks[(who, route)] = (said, code)
    assert not leaks, f"sockets that served the driver to someone they should not: {leaks}"
