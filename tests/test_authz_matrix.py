"""The authorization matrix: every route, and who may reach the objects it names.

Every URL pattern and WebSocket route must have an entry here; a new route without one fails
`test_it_has_an_entry_for_every_route`, so nobody adds a door without saying who may open it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.accounts.services import rig_create
from apps.coaching.models import FocusCorner
from apps.sessions.models import Import
from apps.sessions.tests.factories import session_with_demo_laps
from apps.sharing.services import coached_driver_save, share_link_create, share_link_revoke
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
    "progress/": LoginOnly(),
    "api/progress/": LoginOnly(),
    "progress/focus/<int:focus_id>/close/": Owned(
        lambda o: f"/progress/focus/{o['focus'].pk}/close/", "post"
    ),
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
def objects(driver, coach) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    session = session_with_demo_laps(driver, laps=2)
    laps = list(session.laps.order_by("number"))
    rig, _ = rig_create(owner=driver, name="Rig")
    link, token = share_link_create(owner=driver, session=session, expires_in=dt.timedelta(hours=1))
    coached = coached_driver_save(coach=driver, link=link, nickname="me")
    focus = FocusCorner.objects.create(
        owner=driver, track=session.track, car=session.car, corner="La Source", kind="brake",
        target=250.0, baseline=240.0, opened_in=session,
    )  # fmt: skip
    return {
        "focus": focus,
        "session": session,
        "lap": laps[0],
        "lap2": laps[1],
        "rig": rig,
        "link": link,
        "token": token,
        "coached": coached,
        "import": Import.objects.create(owner=driver, filename="a.ld", size=10),
    }


def _call(client: Client, entry: Owned, objs: dict[str, Any]) -> Any:
    return getattr(client, entry.method)(entry.url(objs))


@pytest.mark.django_db
def test_it_hides_every_owned_object_from_another_user(objects, stranger) -> None:
    client = Client()
    client.force_login(stranger)
    leaks = {}
    for route, entry in MATRIX.items():
        if isinstance(entry, Owned):
            status = _call(client, entry, objects).status_code
            if status not in (403, 404):
                leaks[route] = status
    assert not leaks, f"routes that served another user's object: {leaks}"


@pytest.mark.django_db
def test_it_asks_anonymous_visitors_to_log_in(objects) -> None:
    client = Client()
    open_doors = {}
    for route, entry in MATRIX.items():
        if isinstance(entry, Owned):
            resp = _call(client, entry, objects)
        elif isinstance(entry, LoginOnly):
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
            assert _call(client, entry, objects).status_code == 200, route


def _token_routes() -> dict[str, object]:
    """Every route a script calls: the user API under api/ and the lap exports."""
    return {
        route: entry
        for route, entry in MATRIX.items()
        if (route.startswith("api/") or "/export." in route) and isinstance(entry, (Owned, LoginOnly))
    }


@pytest.mark.django_db
def test_a_drf_token_opens_every_api_and_export_route(objects, driver) -> None:
    from rest_framework.authtoken.models import Token

    api = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=driver).key}")
    refused = {}
    for route, entry in _token_routes().items():
        if isinstance(entry, Owned):
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
        if isinstance(entry, Owned):
            assert await _ws_close_code(entry.url(objects), cookie) in (4403, 4404), route
            assert await _ws_close_code(entry.url(objects), None) in (4401, 4403, 4404), route
        elif isinstance(entry, ShareToken):
            assert await _ws_close_code(entry.url("sc_share_nope"), None) == 4404, route
