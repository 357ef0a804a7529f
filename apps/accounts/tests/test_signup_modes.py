"""SIGNUP=open|invite|closed: who may create an account, and invites that work exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import Client
from django.utils import timezone

from apps.accounts.models import SignupInvite
from apps.accounts.services import signup_invite_create

pytestmark = pytest.mark.django_db
FORM = {"password1": "a-Long-pass-42", "password2": "a-Long-pass-42"}


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()


def sign_up(client: Client, username: str, invite: str | None = None) -> int:
    data = {"username": username, **FORM, **({"invite": invite} if invite is not None else {})}
    return client.post("/accounts/signup/", data).status_code


class TestOpen:
    def test_it_lets_anyone_sign_up_and_offers_the_link(self, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
        settings.SIGNUP = "open"
        assert b"/accounts/signup/" in client.get("/accounts/login/").content
        assert sign_up(client, "anyone") == 302
        assert User.objects.filter(username="anyone").exists()


class TestClosed:
    def test_it_refuses_every_sign_up_and_hides_the_link(self, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
        settings.SIGNUP = "closed"
        _, token = signup_invite_create(created_by=None)
        assert client.get("/accounts/signup/").status_code == 403
        assert sign_up(client, "anyone") == 403
        assert sign_up(client, "invited", invite=token) == 403  # not even with an invite
        assert not User.objects.filter(username__in=["anyone", "invited"]).exists()
        assert b"/accounts/signup/" not in client.get("/accounts/login/").content
        assert b"/accounts/signup/" not in client.get("/").content


class TestInvite:
    @pytest.fixture(autouse=True)
    def _invite_only(self, settings) -> None:  # type: ignore[no-untyped-def]
        settings.SIGNUP = "invite"

    def test_it_refuses_a_sign_up_without_an_invite(self, client: Client) -> None:
        page = client.get("/accounts/signup/")
        assert page.status_code == 403 and b"by invitation" in page.content
        assert sign_up(client, "gatecrasher") == 403
        assert not User.objects.filter(username="gatecrasher").exists()

    def test_it_signs_up_with_an_invite_exactly_once(self, client: Client, coach: User) -> None:
        invite, token = signup_invite_create(created_by=coach, note="for Max")
        page = client.get(f"/accounts/signup/?invite={token}")
        assert page.status_code == 200 and token.encode() in page.content  # carried in the form
        assert sign_up(client, "max", invite=token) == 302
        invite.refresh_from_db()
        assert invite.used_by == User.objects.get(username="max") and invite.used_at is not None
        assert sign_up(Client(), "max2", invite=token) == 403
        assert not User.objects.filter(username="max2").exists()

    @pytest.mark.parametrize(
        "token", ["", "sc_invite_nope", "sc_share_whatever", "sc_invite_" + "x" * 300], ids=str.__len__
    )
    def test_it_refuses_unknown_invites(self, client: Client, token: str) -> None:
        assert sign_up(client, "guesser", invite=token) == 403
        assert not User.objects.filter(username="guesser").exists()

    def test_it_refuses_an_expired_invite(self, client: Client) -> None:
        invite, token = signup_invite_create(created_by=None)
        SignupInvite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        page = client.get(f"/accounts/signup/?invite={token}")
        assert page.status_code == 403 and b"expired or already used" in page.content

    def test_a_bad_form_does_not_use_the_invite_up(self, client: Client) -> None:
        invite, token = signup_invite_create(created_by=None)
        resp = client.post(
            "/accounts/signup/", {"username": "x", "password1": "a", "password2": "b", "invite": token}
        )
        assert resp.status_code == 200
        invite.refresh_from_db()
        assert invite.used_at is None

    @pytest.mark.django_db(transaction=True)
    def test_two_sign_ups_racing_on_one_invite_make_one_account(self) -> None:
        _, token = signup_invite_create(created_by=None)
        gate, results = threading.Barrier(2), {}

        def run(name: str) -> None:
            gate.wait()
            try:
                results[name] = sign_up(Client(), name, invite=token)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(n,)) for n in ("racer1", "racer2")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [302, 403]
        assert User.objects.filter(username__startswith="racer").count() == 1


class TestInviteCreation:
    def test_the_command_prints_a_working_link_and_stores_only_a_hash(self, settings) -> None:  # type: ignore[no-untyped-def]
        settings.SIGNUP = "invite"
        out, err = StringIO(), StringIO()
        call_command(
            "create_signup_invite",
            "--days",
            "2",
            "--note",
            "Max",
            "--url",
            "https://sim.example.com/ai",
            stdout=out,
            stderr=err,
        )
        link = out.getvalue().strip()
        assert link.startswith("https://sim.example.com/ai/accounts/signup/?invite=sc_invite_")
        token = link.split("invite=", 1)[1]
        invite = SignupInvite.objects.get()
        assert token not in repr(list(SignupInvite.objects.values()))
        assert invite.note == "Max"
        assert dt.timedelta(days=1, hours=23) < invite.expires_at - timezone.now() <= dt.timedelta(days=2)
        assert sign_up(Client(), "max", invite=token) == 302

    def test_the_command_refuses_a_non_positive_lifetime(self) -> None:
        with pytest.raises(CommandError, match="--days must be 1 or more"):
            call_command("create_signup_invite", "--days", "0")

    def test_the_command_warns_when_invites_are_not_in_use(self, settings) -> None:  # type: ignore[no-untyped-def]
        settings.SIGNUP = "closed"
        err = StringIO()
        call_command("create_signup_invite", stdout=StringIO(), stderr=err)
        assert "SIGNUP is 'closed'" in err.getvalue()

    def test_an_admin_creates_one_and_sees_its_link_once(
        self, client: Client, django_user_model, settings
    ) -> None:  # type: ignore[no-untyped-def]
        settings.SIGNUP = "invite"
        boss = django_user_model.objects.create_superuser("boss", "b@example.com", "boss-pass-1")
        client.force_login(boss)
        resp = client.post("/admin/accounts/signupinvite/add/", {"note": "Lena"}, follow=True)
        assert resp.status_code == 200
        text = resp.content.decode()
        token = text.split("?invite=", 1)[1].split("<", 1)[0].split()[0].strip(".,")
        invite = SignupInvite.objects.get()
        assert invite.note == "Lena" and invite.created_by == boss
        assert sign_up(Client(), "lena", invite=token) == 302
        listing = client.get("/admin/accounts/signupinvite/").content.decode()
        assert token not in listing
