"""Team life: invitations, roles, leaving, sharing, and team mates' laps through the one
access helper (compare with mixed lap ids, the live reference)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404
from django.test import Client
from django.utils import timezone

from apps.coaching.services import live_coach_for_session
from apps.sessions.selectors import lap_get_for_user, session_get_for_user
from apps.sessions.services import session_open
from apps.sessions.tests.factories import session_with_demo_laps
from apps.teams.models import Invitation, Membership
from apps.teams.selectors import TEAM_INVITE_PREFIX, invitation_by_token, live_reference_lap_id
from apps.teams.services import (
    TeamError,
    invitation_accept,
    invitation_create_link,
    invitation_create_user,
    invitation_revoke,
    live_reference_set,
    membership_leave,
    membership_remove,
    membership_role_set,
    ownership_transfer,
    session_share_set,
    team_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(driver):  # type: ignore[no-untyped-def]
    return team_create(owner=driver, name="Team")


def _owner(team: Any) -> Membership:
    return team.memberships.get(role="owner")


def _join(team: Any, user: Any, role: str = "driver") -> Membership:
    invitation = invitation_create_user(by=_owner(team), username=user.username, role=role)
    return invitation_accept(user=user, invitation=invitation)


class TestInvitations:
    def test_it_stores_only_a_hash_of_a_long_random_token(self, team) -> None:
        invitation, token = invitation_create_link(by=_owner(team))
        assert token.startswith(TEAM_INVITE_PREFIX)
        assert len(token) - len(TEAM_INVITE_PREFIX) >= 43  # 32 random bytes, url-safe base64
        assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
        assert invitation_by_token(token=token) == invitation

    def test_a_link_stops_working_when_revoked_or_expired(self, team, coach, stranger) -> None:
        invitation, token = invitation_create_link(by=_owner(team))
        invitation_revoke(by=_owner(team), invitation=invitation)
        assert invitation_by_token(token=token) is None
        with pytest.raises(TeamError):
            invitation_accept(user=coach, invitation=invitation)
        old, old_token = invitation_create_link(by=_owner(team))
        Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        assert invitation_by_token(token=old_token) is None
        assert not team.memberships.filter(user__in=[coach, stranger]).exists()

    def test_it_refuses_bad_expiries_roles_and_unknown_users(self, team) -> None:
        for expires_in in (dt.timedelta(seconds=10), dt.timedelta(days=31)):
            with pytest.raises(TeamError, match="expires"):
                invitation_create_link(by=_owner(team), expires_in=expires_in)
        with pytest.raises(TeamError, match="transferred"):
            invitation_create_link(by=_owner(team), role="owner")
        with pytest.raises(TeamError, match="no user"):
            invitation_create_user(by=_owner(team), username="nobody")

    def test_a_username_invitation_is_for_that_user_only(self, team, coach, stranger) -> None:
        invitation = invitation_create_user(by=_owner(team), username="coach", role="coach")
        with pytest.raises(PermissionDenied):
            invitation_accept(user=stranger, invitation=invitation)
        assert invitation_accept(user=coach, invitation=invitation).role == "coach"
        assert not Invitation.objects.get(pk=invitation.pk).is_usable()

    def test_only_owners_and_managers_invite(self, team, coach) -> None:
        member = _join(team, coach)
        with pytest.raises(PermissionDenied):
            invitation_create_link(by=member)
        membership_role_set(by=_owner(team), member=member, role="manager")
        member.refresh_from_db()
        invitation_create_link(by=member)

    def test_joining_twice_keeps_one_membership(self, team, coach) -> None:
        invitation, _ = invitation_create_link(by=_owner(team))
        first = invitation_accept(user=coach, invitation=invitation)
        assert invitation_accept(user=coach, invitation=invitation) == first


class TestRoles:
    def test_the_owner_transfers_ownership_and_stays_as_manager(self, team, driver, coach) -> None:
        member = _join(team, coach)
        with pytest.raises(TeamError):
            membership_leave(membership=_owner(team))
        ownership_transfer(by=_owner(team), to=member)
        assert team.memberships.get(user=coach).role == "owner"
        assert team.memberships.get(user=driver).role == "manager"
        membership_leave(membership=team.memberships.get(user=driver))
        assert not team.memberships.filter(user=driver).exists()

    def test_a_team_has_one_owner(self, team, coach) -> None:
        member = _join(team, coach)
        with pytest.raises(IntegrityError):
            Membership.objects.filter(pk=member.pk).update(role="owner")

    def test_managers_remove_drivers_but_not_managers_or_the_owner(
        self, team, coach, stranger, django_user_model
    ) -> None:
        manager = _join(team, coach, role="manager")
        driver2 = _join(team, stranger)
        other_manager = _join(team, django_user_model.objects.create_user("m2"), role="manager")
        for target in (_owner(team), other_manager):
            with pytest.raises(PermissionDenied):
                membership_remove(by=manager, member=target)
        membership_remove(by=manager, member=driver2)
        assert not team.memberships.filter(user=stranger).exists()
        with pytest.raises(PermissionDenied):
            membership_role_set(by=manager, member=other_manager, role="driver")


class TestTeamMatesLaps:
    @pytest.fixture
    def shared(self, team, driver, coach):  # type: ignore[no-untyped-def]
        mine = session_with_demo_laps(driver, laps=3)
        theirs = session_with_demo_laps(coach, laps=3)
        member = _join(team, coach)
        session_share_set(membership=member, session=theirs, shared=True)
        return {"mine": mine, "theirs": theirs, "member": member}

    def _lap(self, session: Any) -> Any:
        return session.laps.filter(is_out_lap=False, time_ms__isnull=False).order_by("number").first()

    def test_a_team_mates_shared_lap_is_readable_but_never_writable(self, shared, driver) -> None:
        lap = self._lap(shared["theirs"])
        assert lap_get_for_user(user=driver, lap_id=lap.pk, shared=True) == lap
        with pytest.raises(Http404):  # the owner-only default: exports, reference toggles
            lap_get_for_user(user=driver, lap_id=lap.pk)
        assert session_get_for_user(user=driver, session_id=shared["theirs"].pk, shared=True)
        with pytest.raises(Http404):
            session_get_for_user(user=driver, session_id=shared["theirs"].pk)

    def test_compare_takes_a_team_mates_lap_and_refuses_a_strangers_in_the_mix(
        self, shared, driver, stranger
    ) -> None:
        client = Client()
        client.force_login(driver)
        mine, theirs = self._lap(shared["mine"]), self._lap(shared["theirs"])
        strangers = self._lap(session_with_demo_laps(stranger, laps=2))
        ok = client.get(f"/compare/?laps={mine.pk},{theirs.pk}&ref={theirs.pk}")
        assert ok.status_code == 200
        assert client.get(f"/api/compare/?laps={mine.pk},{theirs.pk}&ref={theirs.pk}").status_code == 200
        for ids in (f"{mine.pk},{strangers.pk}", f"{mine.pk},{theirs.pk},{strangers.pk}"):
            assert client.get(f"/compare/?laps={ids}&ref={mine.pk}").status_code == 404
            assert client.get(f"/api/compare/?laps={ids}").status_code == 404
        session_share_set(membership=shared["member"], session=shared["theirs"], shared=False)
        assert client.get(f"/compare/?laps={mine.pk},{theirs.pk}&ref={theirs.pk}").status_code == 404
        # "compare with mine" builds the URL: that lap as the reference, with my best
        session_share_set(membership=shared["member"], session=shared["theirs"], shared=True)
        resp = client.get(f"/laps/{theirs.pk}/compare-with-mine/")
        assert resp.status_code == 302 and f"ref={theirs.pk}" in resp["Location"]

    def test_a_team_mates_lap_becomes_the_live_reference_until_they_leave(
        self, shared, driver, coach
    ) -> None:
        theirs = (
            shared["theirs"].laps.filter(is_out_lap=False, time_ms__isnull=False).order_by("-time_ms").first()
        )
        live_reference_set(user=driver, lap_id=theirs.pk)
        s = shared["theirs"]
        nxt = session_open(
            owner=driver, rig_id=None, agent_uid="next", game=s.game, track=s.track.name, car=s.car.name
        )
        coach_state = live_coach_for_session(session_id=nxt.pk).state
        assert coach_state.best_lap_s == theirs.time_ms / 1000 and coach_state.ref_pinned
        membership_leave(membership=shared["member"])
        assert live_reference_lap_id(driver.pk, s.track_id, s.car_id) is None
        assert not live_coach_for_session(session_id=nxt.pk).state.ref_pinned

    def test_a_strangers_lap_cannot_be_chosen_as_reference(self, driver, stranger) -> None:
        lap = session_with_demo_laps(stranger, laps=2).laps.last()
        with pytest.raises(Http404):
            live_reference_set(user=driver, lap_id=lap.pk)


class TestApi:
    def test_a_team_from_creation_to_a_shared_lap_through_the_api(self, driver, coach) -> None:
        owner, mate = Client(), Client()
        owner.force_login(driver)
        mate.force_login(coach)
        team = owner.post("/api/teams/", {"name": "API team"}, content_type="application/json").json()
        assert team["role"] == "owner"
        invite = owner.post(
            f"/api/teams/{team['id']}/invitations/", {"role": "coach"}, content_type="application/json"
        )
        assert invite.status_code == 201 and invite.json()["token"].startswith(TEAM_INVITE_PREFIX)
        joined = mate.post(
            "/api/invitations/accept/", {"token": invite.json()["token"]}, content_type="application/json"
        )
        assert joined.status_code == 200 and joined.json()["role"] == "coach"
        assert [m["username"] for m in mate.get(f"/api/teams/{team['id']}/members/").json()] == [
            "driver",
            "coach",
        ]
        # a coach reads the team but does not manage it
        assert mate.get(f"/api/teams/{team['id']}/invitations/").status_code == 403
        session = session_with_demo_laps(coach, laps=2)
        lap = session.laps.filter(is_out_lap=False).first()
        assert (
            owner.post("/api/references/", {"lap": lap.pk}, content_type="application/json").status_code
            == 404
        )
        url = f"/api/teams/{team['id']}/sessions/{session.pk}/share/"
        assert mate.put(url, {"shared": True}, content_type="application/json").status_code == 200
        ref = owner.post("/api/references/", {"lap": lap.pk}, content_type="application/json")
        assert ref.status_code == 201 and ref.json()["lap"] == lap.pk
        assert (
            owner.put(url, {"shared": True}, content_type="application/json").status_code == 404
        )  # not hers

    def test_the_api_refuses_bad_input_with_reasons(self, driver, team) -> None:
        client = Client()
        client.force_login(driver)
        post = lambda url, data: client.post(url, data, content_type="application/json")  # noqa: E731
        assert post("/api/teams/", {"name": ""}).status_code == 400
        assert (
            post(f"/api/teams/{team.pk}/invitations/", {"role": "owner"})
            .json()["detail"]
            .startswith("invite as")
        )
        assert post(f"/api/teams/{team.pk}/invitations/", {"expires_in_hours": 0}).status_code == 400
        assert post(f"/api/teams/{team.pk}/invitations/", {"username": "nobody"}).status_code == 400
        assert post("/api/invitations/accept/", {"token": "sc_team_nope"}).status_code == 400
        assert post("/api/invitations/accept/", {}).status_code == 400
        assert client.delete(f"/api/teams/{team.pk}/").status_code == 400  # the owner cannot leave


class TestPages:
    def test_leaving_through_the_page_hides_the_drivers_sessions_at_once(self, team, driver, coach) -> None:
        member = _join(team, coach)
        session = session_with_demo_laps(coach, laps=2)
        session_share_set(membership=member, session=session, shared=True)
        owner, mate = Client(), Client()
        owner.force_login(driver)
        mate.force_login(coach)
        assert owner.get(f"/teams/{team.pk}/sessions/{session.pk}/").status_code == 200
        assert mate.post(f"/teams/{team.pk}/leave/").status_code == 302
        assert owner.get(f"/teams/{team.pk}/sessions/{session.pk}/").status_code == 404
        assert mate.get(f"/teams/{team.pk}/").status_code == 404

    def test_the_owner_invites_removes_and_transfers_through_the_page(
        self, team, driver, coach, stranger
    ) -> None:
        owner = Client()
        owner.force_login(driver)
        owner.post(f"/teams/{team.pk}/invite/", {"username": "coach", "role": "coach", "expiry": "7d"})
        mate = Client()
        mate.force_login(coach)
        pending = Invitation.objects.get(invited_user=coach)
        assert f"{team.name} invites you as Coach".encode() in mate.get("/teams/").content
        assert mate.post(f"/teams/invitations/{pending.pk}/accept/").status_code == 302
        member = team.memberships.get(user=coach)
        owner.post(f"/teams/{team.pk}/invite/", {"username": "", "role": "driver", "expiry": "1d"})
        assert b"/teams/join/sc_team_" in owner.get(f"/teams/{team.pk}/").content  # shown once
        assert b"/teams/join/sc_team_" not in owner.get(f"/teams/{team.pk}/").content
        owner.post(f"/teams/{team.pk}/members/{member.pk}/transfer/")
        assert team.memberships.get(user=coach).role == "owner"
        assert (
            mate.post(f"/teams/{team.pk}/members/{team.memberships.get(user=driver).pk}/remove/").status_code
            == 302
        )
        assert not team.memberships.filter(user=driver).exists()
        refused = owner.post(
            f"/teams/{team.pk}/invite/", {"username": "stranger", "role": "driver", "expiry": "7d"}
        )
        assert refused.status_code == 404  # no longer in the team
