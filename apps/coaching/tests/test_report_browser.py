"""In a real browser: a demo session ends while its page is open, and the report appears."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client
from playwright.sync_api import sync_playwright

from apps.sessions.models import Session
from apps.sessions.services import session_end
from apps.sessions.tests.factories import session_with_demo_laps

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def end_outside_the_browser_loop(session: Session) -> None:
    """End the session as the agent's "end" does, on a thread without Playwright's event loop."""

    def end() -> None:
        try:
            session_end(session=session)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(end).result()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_shows_the_report_when_the_session_ends(live_server, driver, embedded_jobs, no_openai_key) -> None:
    session = session_with_demo_laps(driver, laps=2, noise=False, end=False)
    client = Client()
    client.force_login(driver)
    cookie = {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies([cookie])
            page = context.new_page()
            page.goto(f"{live_server.url}/sessions/{session.pk}/")
            assert "No report yet" in page.inner_text("#report-panel")
            end_outside_the_browser_loop(session)
            page.wait_for_selector("#report-panel .report-summary", timeout=60_000)
            panel = page.inner_text("#report-panel")
            assert "Written from your data without AI: no OpenAI key configured." in panel
            assert "Best lap" in panel and "New report" in panel
        finally:
            browser.close()
