"""Per-IP limits behind a proxy: a spoofed X-Forwarded-For gains nothing; counters hold under
concurrency; the real user is not locked out by someone guessing from elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connections
from django.test import Client

from apps.accounts.apis import STARTS_PER_IP_PER_HOUR
from apps.accounts.views import (
    LOGIN_FAILS_PER_IP,
    LOGIN_FAILS_PER_USER_IP,
    PAIR_FAILS_PER_IP,
    PAIR_FAILS_PER_USER,
    SIGNUPS_PER_IP,
)
from simcoach_site.lib.ratelimit import attempt

pytestmark = pytest.mark.django_db
NGINX = "172.18.0.5"  # the one trusted proxy: every request reaches Django from it
ATTACKER = "203.0.113.66"
REAL_USER = "198.51.100.7"


@pytest.fixture(autouse=True)
def _behind_one_proxy(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 1
    cache.clear()


def via_proxy(client_addr: str, spoofed: str | None = None) -> dict[str, str]:
    """What nginx sends on: the client's own X-Forwarded-For, then the address it saw."""
    chain = f"{spoofed}, {client_addr}" if spoofed else client_addr
    return {"REMOTE_ADDR": NGINX, "HTTP_X_FORWARDED_FOR": chain}


def wrong_login(client: Client, n: int, username: str = "driver", addr: str = ATTACKER) -> int:
    resp = client.post(
        "/accounts/login/", {"username": username, "password": f"guess-{n}"}, **via_proxy(addr, f"10.9.{n}.1")
    )
    return resp.status_code


class TestLoginLimits:
    def test_it_ignores_spoofed_first_hops(self, client: Client, driver: User) -> None:
        statuses = [wrong_login(client, n) for n in range(LOGIN_FAILS_PER_USER_IP + 1)]
        assert statuses == [200] * LOGIN_FAILS_PER_USER_IP + [429]
        right = client.post(
            "/accounts/login/",
            {"username": "driver", "password": "driver-pass-1"},
            **via_proxy(ATTACKER, "1.1.1.1"),
        )
        assert right.status_code == 429 and b"Too many failed logins" in right.content

    def test_it_trusts_no_header_without_a_trusted_proxy(
        self, client: Client, driver: User, settings
    ) -> None:  # type: ignore[no-untyped-def]
        settings.TRUSTED_PROXY_COUNT = 0
        # Every request claims another address, last hop included: all come from one socket peer.
        statuses = [
            client.post(
                "/accounts/login/",
                {"username": "driver", "password": "x"},
                REMOTE_ADDR=ATTACKER,
                HTTP_X_FORWARDED_FOR=f"10.0.{n}.1",
            ).status_code
            for n in range(LOGIN_FAILS_PER_USER_IP + 1)
        ]
        assert statuses[-1] == 429 and statuses.count(200) == LOGIN_FAILS_PER_USER_IP

    def test_it_does_not_lock_the_real_user_out(self, client: Client, driver: User) -> None:
        for n in range(LOGIN_FAILS_PER_USER_IP + 1):
            wrong_login(client, n)
        assert wrong_login(client, 99) == 429
        real = Client().post(
            "/accounts/login/", {"username": "driver", "password": "driver-pass-1"}, **via_proxy(REAL_USER)
        )
        assert real.status_code == 302

    def test_it_limits_one_address_across_usernames(self, client: Client) -> None:
        statuses = [wrong_login(client, n, username=f"user{n}") for n in range(LOGIN_FAILS_PER_IP + 1)]
        assert statuses == [200] * LOGIN_FAILS_PER_IP + [429]

    def test_it_gives_a_right_password_its_attempt_back(self, client: Client, driver: User) -> None:
        for n in range(LOGIN_FAILS_PER_USER_IP - 1):
            assert wrong_login(client, n) == 200
        right = client.post(
            "/accounts/login/", {"username": "driver", "password": "driver-pass-1"}, **via_proxy(ATTACKER)
        )
        assert right.status_code == 302
        client.post("/accounts/logout/", **via_proxy(ATTACKER))
        # 9 wrong + 1 right counted 10; the right one was given back, so one more guess is evaluated.
        assert wrong_login(client, 50) == 200
        assert wrong_login(client, 51) == 429


class TestAdminLoginLimits:
    @pytest.fixture
    def admin_user(self, django_user_model):  # type: ignore[no-untyped-def]
        return django_user_model.objects.create_superuser("boss", "boss@example.com", "boss-pass-1")

    def test_it_limits_the_admin_login(self, client: Client, admin_user: User) -> None:
        statuses = [
            client.post(
                "/admin/login/?next=/admin/",
                {"username": "boss", "password": f"g{n}"},
                **via_proxy(ATTACKER, f"10.{n}.0.1"),
            ).status_code
            for n in range(LOGIN_FAILS_PER_USER_IP + 1)
        ]
        assert statuses == [200] * LOGIN_FAILS_PER_USER_IP + [429]

    def test_the_admin_still_logs_in_from_elsewhere(self, client: Client, admin_user: User) -> None:
        for n in range(LOGIN_FAILS_PER_USER_IP + 1):
            client.post("/admin/login/", {"username": "boss", "password": f"g{n}"}, **via_proxy(ATTACKER))
        other = Client()
        page = other.get("/admin/login/", **via_proxy(REAL_USER))
        assert page.status_code == 200 and b"csrfmiddlewaretoken" in page.content
        resp = other.post(
            "/admin/login/?next=/admin/",
            {"username": "boss", "password": "boss-pass-1"},
            **via_proxy(REAL_USER),
        )
        assert resp.status_code == 302 and resp["Location"] == "/admin/"
        assert other.get("/admin/", **via_proxy(REAL_USER)).status_code == 200


class TestSignupLimits:
    def test_it_limits_signups_per_address_whatever_the_header_says(self, client: Client) -> None:
        statuses = []
        for n in range(SIGNUPS_PER_IP + 1):
            data = {"username": f"bot{n}", "password1": "a-Long-pass-42", "password2": "a-Long-pass-42"}
            statuses.append(
                Client().post("/accounts/signup/", data, **via_proxy(ATTACKER, f"10.{n}.0.1")).status_code
            )
        assert statuses == [302] * SIGNUPS_PER_IP + [429]
        assert User.objects.filter(username__startswith="bot").count() == SIGNUPS_PER_IP
        ok = Client().post(
            "/accounts/signup/",
            {"username": "human", "password1": "a-Long-pass-42", "password2": "a-Long-pass-42"},
            **via_proxy(REAL_USER),
        )
        assert ok.status_code == 302


class TestPairingLimits:
    def test_it_limits_wrong_codes_per_user(self, client: Client, driver: User) -> None:
        client.force_login(driver)
        statuses = [
            client.post(
                "/pair/", {"code": f"AAAA-AA{n:02d}"}, **via_proxy(ATTACKER, f"10.{n}.0.1")
            ).status_code
            for n in range(PAIR_FAILS_PER_USER + 1)
        ]
        assert statuses == [400] * PAIR_FAILS_PER_USER + [429]

    def test_it_limits_wrong_codes_per_address_across_accounts(self, django_user_model) -> None:  # type: ignore[no-untyped-def]
        statuses = []
        for account in range(PAIR_FAILS_PER_IP // PAIR_FAILS_PER_USER + 1):
            c = Client()
            c.force_login(django_user_model.objects.create_user(f"acct{account}", password="p-Long-pass-1"))
            for n in range(PAIR_FAILS_PER_USER):
                resp = c.post("/pair/", {"code": "BBBB-BBBB"}, **via_proxy(ATTACKER, f"10.{account}.{n}.1"))
                statuses.append(resp.status_code)
        assert statuses.count(400) == PAIR_FAILS_PER_IP
        assert set(statuses[PAIR_FAILS_PER_IP:]) == {429}

    def test_device_code_requests_are_limited_per_address(self, client: Client) -> None:
        statuses = [
            client.post(
                "/api/rig/device/",
                {"client_name": "x"},
                "application/json",
                **via_proxy(ATTACKER, f"10.{n}.0.1"),
            ).status_code
            for n in range(STARTS_PER_IP_PER_HOUR + 1)
        ]
        assert statuses == [200] * STARTS_PER_IP_PER_HOUR + [429]
        other = client.post(
            "/api/rig/device/", {"client_name": "x"}, "application/json", **via_proxy(REAL_USER)
        )
        assert other.status_code == 200


def hammer(threads: int, work: Callable[[int], object]) -> list[object]:
    """Run `work` on `threads` threads released at the same instant."""
    gate = threading.Barrier(threads)
    results: list[object] = [None] * threads

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = work(i)
        finally:
            connections.close_all()  # this thread's own connection, or the test db cannot be dropped

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


class TestAtomicCounters:
    # On real Redis when REDIS_URL is set (settings' CACHES), on locmem otherwise.

    def test_at_most_the_limit_of_parallel_attempts_get_through(self) -> None:
        allowed = hammer(150, lambda i: attempt("hammer", limit=10, window_s=60))
        assert allowed.count(True) == 10

    @pytest.mark.django_db(transaction=True)
    def test_parallel_wrong_passwords_are_evaluated_no_more_than_the_limit(self, driver: User) -> None:
        def guess(i: int) -> int:
            data = {"username": "driver", "password": f"wrong-{i}"}
            return Client().post("/accounts/login/", data, **via_proxy(ATTACKER, f"10.{i}.0.1")).status_code

        statuses = hammer(40, guess)
        assert statuses.count(200) == LOGIN_FAILS_PER_USER_IP  # evaluated (wrong password shown)
        assert statuses.count(429) == 40 - LOGIN_FAILS_PER_USER_IP
