"""The one access decision (apps/sharing/access.py): each reason, what it allows, and when it ends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.test import Client

from apps.accounts.services import rig_create
from apps.sessions.models import Session
from apps.sessions.selectors import session_get_for_user
from apps.sharing.access import (
    coached_rows,
    driver_grants,
    grant_by_team,
    may_see,
    may_send_notes,
    may_watch_live,
    session_access,
    still_covers,
    why,
)
from apps.sharing.services import coached_driver_save, share_link_create, share_link_revoke
from apps.teams.models import Membership, Team
from apps.teams.selectors import LeaderboardQuery, leaderboard
from apps.teams.services import (
    invitation_accept,
    invitation_create_user,
    membership_leave,
    session_share_set,
    team_create,
    team_delete,
)

from .test_sharing import make_session

pytestmark = pytest.mark.django_db


def _join(team: Team, user: Any, role: str) -> Membership:
    owner = team.memberships.get(role="owner")
    return invitation_accept(
        user=user, invitation=invitation_create_user(by=owner, username=user.username, role=role)
    )


@pytest.fixture
def world(driver, coach, stranger, django_user_model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A team owned by `stranger`, `coach` coaching in it, `mate` a plain driver in it, and
    `driver` in it sharing one live session (`shared`) but not another (`private`)."""
    team = team_create(owner=stranger, name="Racing")
    mate = django_user_model.objects.create_user("mate")
    _join(team, coach, "coach")
    _join(team, mate, "driver")
    driving = _join(team, driver, "driver")
    shared, private = make_session(driver), make_session(driver)
    session_share_set(membership=driving, session=shared, shared=True)
    return {"team": team, "mate": mate, "driving": driving, "shared": shared, "private": private}


def test_the_owner_sees_and_watches_but_sends_no_notes(world, driver) -> None:
    assert why(driver, world["private"]) == "owner"
    assert may_see(driver, world["private"]) and may_watch_live(driver, world["private"])
    assert not may_send_notes(driver, world["private"])


def test_a_team_coach_sees_watches_and_notes_what_is_shared_with_the_team(world, coach) -> None:
    assert why(coach, world["shared"]) == "team coach"
    assert may_watch_live(coach, world["shared"]) and may_send_notes(coach, world["shared"])
    assert why(coach, world["private"]) is None  # privacy by default


def test_a_team_member_sees_the_archive_only(world) -> None:
    mate = world["mate"]
    assert why(mate, world["shared"]) == "team member"
    assert may_see(mate, world["shared"])
    assert not may_watch_live(mate, world["shared"]) and not may_send_notes(mate, world["shared"])
    assert session_get_for_user(user=mate, session_id=world["shared"].pk, shared=True) == world["shared"]
    with pytest.raises(Http404):
        session_get_for_user(user=mate, session_id=world["private"].pk, shared=True)


def test_nothing_of_the_driver_is_visible_to_outsiders(world, django_user_model) -> None:
    outsider = django_user_model.objects.create_user("outsider")
    for viewer in (outsider, AnonymousUser(), None):
        for session in (world["shared"], world["private"]):
            assert why(viewer, session) is None and not may_see(viewer, session)


def test_a_share_link_is_an_anonymous_grant_on_what_it_names(world, driver) -> None:
    link, token = share_link_create(owner=driver, session=world["private"], expires_in=None, label="Alex")
    assert why(None, world["private"], token=token) == "share link"
    assert may_send_notes(AnonymousUser(), world["private"], token=token)
    assert why(None, world["shared"], token=token) is None  # another session of the driver: no
    share_link_revoke(link=link)
    assert why(None, world["private"], token=token) is None


def test_a_live_rig_link_covers_the_rigs_live_session_only(driver) -> None:
    rig, _ = rig_create(owner=driver, name="Rig")
    live, ended = make_session(driver, rig), make_session(driver, rig, state="ended")
    _, token = share_link_create(owner=driver, rig=rig, expires_in=dt.timedelta(hours=1))
    assert why(None, live, token=token) == "share link"
    assert why(None, ended, token=token) is None  # never the rig's archive


def test_a_coached_driver_is_a_personal_grant_of_the_saved_link(world, driver, django_user_model) -> None:
    helper = django_user_model.objects.create_user("helper")
    link, token = share_link_create(owner=driver, session=world["private"], expires_in=None)
    coached_driver_save(coach=helper, link=link, nickname="D")
    assert why(helper, world["private"]) == "coached driver"
    assert may_send_notes(helper, world["private"])
    assert why(django_user_model.objects.create_user("other"), world["private"]) is None  # not theirs


def test_the_strongest_reason_is_given(world, driver, coach) -> None:
    link, _ = share_link_create(owner=driver, session=world["shared"], expires_in=None)
    coached_driver_save(coach=coach, link=link)
    grant = session_access(coach, world["shared"])
    assert grant is not None and grant.reason == "team coach"
    assert [g.reason for g in driver_grants(coach, driver.pk)] == ["team coach", "coached driver"]


def test_an_ended_session_is_seen_but_not_watched_or_noted(world, coach) -> None:
    Session.objects.filter(pk=world["shared"].pk).update(state="ended")
    ended = Session.objects.get(pk=world["shared"].pk)
    assert may_see(coach, ended) and not may_watch_live(coach, ended) and not may_send_notes(coach, ended)


def test_leaving_the_team_ends_every_team_grant_at_once(world, driver, coach) -> None:
    grant = grant_by_team(coach, world["team"].pk, driver.pk).grant
    assert grant is not None and still_covers(grant, world["shared"].pk)
    membership_leave(membership=world["driving"])
    assert why(coach, world["shared"]) is None and why(world["mate"], world["shared"]) is None
    assert not grant_by_team(coach, world["team"].pk, driver.pk).ok
    assert not still_covers(grant, world["shared"].pk)


def test_deleting_the_team_ends_its_grants_and_its_board(world, driver, coach, stranger) -> None:
    query = LeaderboardQuery(
        track_id=world["shared"].track_id, car_id=world["shared"].car_id, team_id=world["team"].pk
    )
    leaderboard(user=stranger, query=query)  # the board exists while the team does
    team_delete(by=world["team"].memberships.get(role="owner"))
    assert why(coach, world["shared"]) is None
    assert not Membership.objects.filter(team_id=world["team"].pk).exists()
    with pytest.raises(Http404):
        leaderboard(user=stranger, query=query)


def test_only_the_owner_deletes_a_team_after_confirming(world, coach, stranger) -> None:
    team, client = world["team"], Client()
    client.force_login(coach)
    assert client.post(f"/teams/{team.pk}/delete/", {"confirm": team.name}).status_code == 403
    client.force_login(stranger)
    assert client.get(f"/teams/{team.pk}/delete/").status_code == 200
    assert client.post(f"/teams/{team.pk}/delete/").status_code == 302  # not confirmed: kept
    assert Team.objects.filter(pk=team.pk).exists()
    assert client.post(f"/teams/{team.pk}/delete/", {"confirm": team.name}).status_code == 302
    assert not Team.objects.filter(pk=team.pk).exists()


def test_drivers_i_coach_lists_saved_and_team_drivers_in_one_list(
    world, driver, coach, django_user_model
) -> None:
    other = django_user_model.objects.create_user("other-driver")
    link, _ = share_link_create(owner=other, session=make_session(other), expires_in=None)
    coached_driver_save(coach=coach, link=link, nickname="Saved one")
    rows = coached_rows(coach)
    assert [(r.name, r.via) for r in rows] == [("Saved one", "One session"), (driver.username, "Team Racing")]
    assert rows[1].live_session == world["shared"]  # live and shared: watchable
    # the mate shares nothing: not listed; a plain member coaches nobody
    assert coached_rows(world["mate"]) == []
    page = Client()
    page.force_login(coach)
    html = page.get("/coaching/drivers/").content.decode()
    assert "Saved one" in html and f"/coaching/teams/{world['team'].pk}/drivers/{driver.pk}/live/" in html


def test_the_team_session_page_shows_only_what_is_shared_with_that_team(world, driver) -> None:
    team, page = world["team"], Client()
    page.force_login(world["mate"])
    assert page.get(f"/teams/{team.pk}/sessions/{world['shared'].pk}/").status_code == 200
    assert page.get(f"/teams/{team.pk}/sessions/{world['private'].pk}/").status_code == 404
    assert page.get(f"/teams/{team.pk}/sessions/999999/").status_code == 404
    other = team_create(owner=world["mate"], name="Elsewhere")  # the mate's team, driver not in it
    assert page.get(f"/teams/{other.pk}/sessions/{world['shared'].pk}/").status_code == 404
    page.force_login(driver)  # the driver, through the team's door: what the team sees
    assert page.get(f"/teams/{team.pk}/sessions/{world['shared'].pk}/").status_code == 200
    assert page.get(f"/teams/{team.pk}/sessions/{world['private'].pk}/").status_code == 404
