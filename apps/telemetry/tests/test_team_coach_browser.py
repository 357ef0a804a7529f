"""A team's coach watches a team driver live, sends a note, and is cut off when the driver
leaves the team.

Everything runs for real: Daphne in a subprocess on the test database, the agent's demo car
streaming through the driver's rig socket, headless Chromium for the driver and the coach.
The driver leaves through the team page, in Daphne's process, so the cut-off travels the
same channel layer path it does in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.teams.models import Team
from apps.teams.services import (
    invitation_accept,
    invitation_create_user,
    membership_share_default_set,
    team_create,
)
from tests.servers import BROWSER_ARGS

from .logins import session_cookie
from .test_share_browser import agent, agent_heard, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 30_000


@pytest.fixture
def team(driver, coach, stranger) -> Team:  # type: ignore[no-untyped-def]
    """Owned by `stranger`; `coach` coaches in it; `driver` drives in it, sharing by default."""
    team = team_create(owner=stranger, name="Night shift")
    owner = team.memberships.get()
    invitation_accept(user=coach, invitation=invitation_create_user(by=owner, username="coach", role="coach"))
    driving = invitation_accept(user=driver, invitation=invitation_create_user(by=owner, username="driver"))
    membership_share_default_set(membership=driving, share=True)
    return team


def test_a_team_coach_watches_notes_and_is_cut_off_when_the_driver_leaves(
    server: str,  # noqa: F811
    agent: Path,  # noqa: F811
    team: Team,
    driver,  # type: ignore[no-untyped-def]
    coach,  # type: ignore[no-untyped-def]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    driver_cookie, coach_cookie = session_cookie(driver), session_cookie(coach)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            coach_context = browser.new_context()
            coach_context.add_cookies([{"name": "sessionid", "value": coach_cookie, "url": server}])
            coaching = coach_context.new_page()
            coaching.goto(server + "/coaching/drivers/")
            row = coaching.locator(f"#coached tr[data-driver='{driver.pk}']")
            expect(row).to_contain_text("Team Night shift")
            row.get_by_role("link", name="Watch").click()
            expect(coaching.locator("#conn")).to_have_text("live", timeout=WAIT_MS)
            expect(coaching.locator("#cur")).not_to_have_text("–", timeout=WAIT_MS)  # frames arrive

            coaching.fill("#note-text", "Lift earlier for the chicane")
            coaching.click("#note-form button[type=submit]")
            assert agent_heard(agent, "Lift earlier for the chicane")["author"] == "coach (Night shift)"

            driver_context = browser.new_context()
            driver_context.add_cookies([{"name": "sessionid", "value": driver_cookie, "url": server}])
            driving = driver_context.new_page()
            driving.goto(f"{server}/teams/{team.pk}/")
            driving.get_by_role("button", name="Leave Night shift").click()
            expect(driving.locator("body")).to_contain_text(
                "nothing of yours is visible to it", timeout=WAIT_MS
            )

            expect(coaching.locator("#share-closed")).to_contain_text(
                "not a driver of a team you are in", timeout=WAIT_MS
            )
            expect(coaching.locator("#note-text")).to_be_disabled()
            coaching.goto(server + "/coaching/drivers/")
            expect(coaching.locator("#coached")).not_to_contain_text("Team Night shift")
        finally:
            browser.close()
