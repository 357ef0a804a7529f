"""Two browsers: the owner creates a team and invites; the second driver joins and shares a
session; the owner finds it on the team leaderboard and opens "compare with mine"."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from apps.sessions.models import Session
from apps.sessions.tests.factories import session_with_demo_laps

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 30_000


def _log_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url, timeout=WAIT_MS)


def _page(browser: Browser, errors: list[str]) -> Page:
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A blocked inline script or style shows up as a console error: the pages must have none.
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    return page


def _real(errors: list[str]) -> list[str]:
    # The login lands on /live/, whose socket the HTTP-only live_server cannot serve.
    return [e for e in errors if "/ws/live/" not in e]


@pytest.fixture
def sessions(driver, coach) -> dict[str, Session]:  # type: ignore[no-untyped-def]
    # Built before the browser starts (Playwright's loop would refuse the ORM's async bridge).
    return {"owner": session_with_demo_laps(driver, laps=3), "mate": session_with_demo_laps(coach, laps=3)}


def test_owner_invites_a_driver_who_shares_and_the_owner_compares(
    sessions: dict[str, Session], live_server: Any, browser: Browser
) -> None:
    base, errors = live_server.url, []
    owner, mate = _page(browser, errors), _page(browser, errors)
    _log_in(owner, base, "driver", "driver-pass-1")
    owner.goto(f"{base}/teams/")
    owner.fill("#team-create input[name=name]", "Night shift")
    owner.click("#team-create button[type=submit]")
    owner.wait_for_url(
        lambda url: "/teams/" in url and url.rstrip("/").split("/")[-1].isdigit(), timeout=WAIT_MS
    )
    team_url = owner.url
    owner.click("#invite button[type=submit]")  # no username: a link
    link = owner.locator("#invite-link").inner_text(timeout=WAIT_MS)
    assert "/teams/join/sc_team_" in link

    _log_in(mate, base, "coach", "coach-pass-1")
    mate.goto(link)
    mate.click("#join")
    mate.wait_for_url(team_url, timeout=WAIT_MS)
    mate.click(f"#my-sessions button[data-session='{sessions['mate'].pk}']")
    mate.wait_for_selector("#activity td:has-text('coach')", timeout=WAIT_MS)

    track, car = sessions["mate"].track_id, sessions["mate"].car_id
    team_id = team_url.rstrip("/").split("/")[-1]
    owner.goto(f"{base}/leaderboards/?track={track}&car={car}&scope={team_id}")
    rows = owner.locator("#board tbody tr")
    assert rows.count() == 1  # only the shared session: the owner shared nothing yet
    assert "coach" in rows.first.inner_text()
    mate_lap = rows.first.get_attribute("data-lap")
    rows.first.locator("a.compare-mine").click()
    owner.wait_for_url(lambda url: "/compare/" in url and f"ref={mate_lap}" in url, timeout=WAIT_MS)
    assert owner.locator("h1, h2").first.is_visible()
    assert not _real(errors), errors
