"""RFC 8628 pairing, end to end over HTTP: the agent's endpoints and the driver's page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from apps.accounts.lib.tokens import token_hash
from apps.accounts.models import DeviceAuthorization, Rig
from apps.accounts.pairing import USER_CODE_ALPHABET

pytestmark = pytest.mark.django_db
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


def start(client: Client) -> dict:
    resp = client.post(
        "/api/rig/device/", {"client_name": "SIM-PC", "agent_version": "0.1.0"}, "application/json"
    )
    assert resp.status_code == 200
    return resp.json()


def poll(client: Client, device_code: str) -> tuple[int, dict]:
    resp = client.post(
        "/api/rig/token/", {"grant_type": GRANT, "device_code": device_code}, "application/json"
    )
    return resp.status_code, resp.json()


def allow_next_poll(device_code: str) -> None:
    DeviceAuthorization.objects.filter(device_code_hash=token_hash(device_code)).update(last_polled_at=None)


def test_it_issues_a_typable_code_and_the_rfc_fields(client: Client) -> None:
    grant = start(client)
    assert set(grant) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    code = grant["user_code"]
    assert len(code) == 9 and code[4] == "-" and set(code.replace("-", "")) <= set(USER_CODE_ALPHABET)
    assert grant["verification_uri"].endswith("/pair/")
    assert grant["verification_uri_complete"].endswith(f"/pair/?code={code}")
    assert 0 < grant["expires_in"] <= 900


def test_it_pairs_on_approval_and_hands_the_token_out_once(client: Client, driver) -> None:
    grant = start(client)
    assert poll(client, grant["device_code"]) == (
        400,
        {"error": "authorization_pending", "error_description": "waiting for the driver to approve the code"},
    )
    page = Client()
    page.force_login(driver)
    shown = page.get("/pair/", {"code": grant["user_code"].lower().replace("-", " ")})
    assert b"SIM-PC" in shown.content and b"0.1.0" in shown.content
    resp = page.post("/pair/", {"code": grant["user_code"], "decision": "approve", "name": "Cockpit"})
    assert resp.status_code == 302
    allow_next_poll(grant["device_code"])
    status, body = poll(client, grant["device_code"])
    assert status == 200 and body["token_type"] == "Bearer" and body["access_token"].startswith("sc_rig_")
    assert len(body["access_token"]) >= len("sc_rig_") + 32  # 192 bits, url-safe base64
    rig = Rig.objects.get(pk=body["rig_id"])
    assert (
        rig.owner == driver and rig.name == "Cockpit" and rig.token_hash == token_hash(body["access_token"])
    )
    allow_next_poll(grant["device_code"])
    assert poll(client, grant["device_code"])[1]["error"] == "invalid_grant"
    me = client.get("/api/rig/me/", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.json() == {"rig_id": rig.pk, "rig_name": "Cockpit", "user": "driver"}


def test_it_stores_no_token_in_clear(client: Client, driver) -> None:
    grant = start(client)
    DeviceAuthorization.objects.update(status="approved", user=driver)
    token = poll(client, grant["device_code"])[1]["access_token"]
    from django.db import connection

    with connection.cursor() as cur:
        for table in ("accounts_rig", "accounts_deviceauthorization"):
            cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump = repr(cur.fetchall())
            assert token not in dump and grant["device_code"] not in dump


def test_it_says_slow_down_to_an_impatient_agent(client: Client) -> None:
    grant = start(client)
    assert poll(client, grant["device_code"])[1]["error"] == "authorization_pending"
    assert poll(client, grant["device_code"])[1]["error"] == "slow_down"
    auth = DeviceAuthorization.objects.get()
    assert auth.interval_s == grant["interval"] + 5


def test_it_reports_access_denied(client: Client, driver) -> None:
    grant = start(client)
    page = Client()
    page.force_login(driver)
    page.post("/pair/", {"code": grant["user_code"], "decision": "deny"})
    assert poll(client, grant["device_code"])[1]["error"] == "access_denied"
    assert not Rig.objects.exists()


def test_it_expires_codes(client: Client, driver) -> None:
    grant = start(client)
    DeviceAuthorization.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert poll(client, grant["device_code"])[1]["error"] == "expired_token"
    page = Client()
    page.force_login(driver)
    resp = page.post("/pair/", {"code": grant["user_code"], "decision": "approve"})
    assert resp.status_code == 400 and b"expired" in resp.content


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"grant_type": GRANT, "device_code": "nope"}, "invalid_grant"),
        ({"grant_type": "password", "device_code": "x"}, "unsupported_grant_type"),
        ({"device_code": "x"}, "invalid_request"),
    ],
)
def test_it_rejects_bad_polls(client: Client, body: dict, error: str) -> None:
    resp = client.post("/api/rig/token/", body, "application/json")
    assert resp.status_code == 400 and resp.json()["error"] == error


def test_it_rate_limits_wrong_codes_per_user(driver) -> None:
    page = Client()
    page.force_login(driver)
    for _ in range(5):
        assert page.post("/pair/", {"code": "BBBB-BBBB"}).status_code == 400
    grant = start(Client())
    locked = page.post("/pair/", {"code": grant["user_code"], "decision": "approve"})
    assert locked.status_code == 429
    assert DeviceAuthorization.objects.get().status == "pending"


def test_it_rate_limits_wrong_codes_per_ip(django_user_model) -> None:
    for i in range(4):
        page = Client(REMOTE_ADDR="10.9.9.9")
        page.force_login(django_user_model.objects.create_user(f"u{i}", password="x-pass-123"))
        for _ in range(5):
            page.post("/pair/", {"code": "CCCC-CCCC"})
    assert page.post("/pair/", {"code": "CCCC-CCCC"}).status_code == 429


def test_it_requires_login_for_the_pair_page(client: Client) -> None:
    assert client.get("/pair/").status_code == 302


def test_it_rejects_an_unknown_token_on_me(client: Client) -> None:
    assert client.get("/api/rig/me/", HTTP_AUTHORIZATION="Bearer sc_rig_forged").status_code == 401
