from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


def test_it_logs_in_and_out(client: Client, driver) -> None:
    resp = client.post("/accounts/login/", {"username": "driver", "password": "driver-pass-1"})
    assert resp.status_code == 302 and resp["Location"].endswith("/live/")
    assert client.get("/live/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/live/").status_code == 302


def test_it_locks_a_username_after_ten_wrong_passwords(client: Client, driver) -> None:
    for _ in range(10):
        assert client.post("/accounts/login/", {"username": "driver", "password": "nope"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": "driver", "password": "driver-pass-1"})
    assert locked.status_code == 429 and b"Too many failed logins" in locked.content
    # Other accounts are not locked by someone hammering this one.
    other = Client(REMOTE_ADDR="10.1.1.1")
    assert other.post("/accounts/login/", {"username": "coachless", "password": "x"}).status_code == 200


def test_it_signs_up_and_changes_password(client: Client) -> None:
    resp = client.post(
        "/accounts/signup/",
        {"username": "newbie", "password1": "a-Long-pass-42", "password2": "a-Long-pass-42"},
    )
    assert resp.status_code == 302
    resp = client.post(
        "/accounts/password/",
        {
            "old_password": "a-Long-pass-42",
            "new_password1": "b-Longer-pass-43",
            "new_password2": "b-Longer-pass-43",
        },
    )
    assert resp.status_code == 302
    client.post("/accounts/logout/")
    assert client.login(username="newbie", password="b-Longer-pass-43")
