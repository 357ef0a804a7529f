"""A driver logs in, opens a comparison and reads it: corner table, charts from the API."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, Page

from apps.coaching.services import lap_analyse
from apps.sessions.models import Session

from .factories import session_with_demo_laps

# Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 30_000


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "driver")
    page.fill("input[name=password]", "driver-pass-1")
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url, timeout=WAIT_MS)


@pytest.fixture
def session(driver) -> Session:  # type: ignore[no-untyped-def]
    # Built before the browser starts: Playwright's loop in this thread would refuse the
    # sync-to-async bridge that session events go through.
    s = session_with_demo_laps(
        driver, laps=3, noise=False, per_lap={3: {"brake_earlier_m": {"La Source": 15}}}
    )
    for lap in s.laps.all():
        lap_analyse(lap_id=lap.pk)
    return s


def test_it_shows_the_corner_table_and_charts(live_server, session: Session, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    ref, other = (session.laps.get(number=n).pk for n in (2, 3))
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    page.check(f"input[name=laps][value='{ref}']")
    page.check(f"input[name=laps][value='{other}']")
    page.check(f"input[name=ref][value='{ref}']")
    page.click("#compare-form button[type=submit]")
    page.wait_for_url(lambda url: "/compare/" in url and f"ref={ref}" in url, timeout=WAIT_MS)

    row = page.locator("[data-w=corner-table] tr[data-corner='La Source']")
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "La Source"
    assert float(cells[3]) == pytest.approx(-15, abs=2)  # braked 15 m earlier
    assert float(cells[-1]) > 0.05  # and lost time there
    assert "La Source" in page.locator("[data-w=biggest-losses]").inner_text()
    # The charts come from /api/compare/: five linked uPlot charts and the loss map.
    page.wait_for_function(
        "() => document.querySelectorAll('#compare-charts .uplot').length === 5", timeout=WAIT_MS
    )
    assert page.locator("#compare-charts .u-title").first.inner_text().startswith("Speed")
    assert errors == []


def test_it_keeps_the_reference_the_driver_picks_in_the_url(
    live_server, session: Session, browser: Browser
) -> None:  # type: ignore[no-untyped-def]
    # Issue "Lap truth": ticking lap 2 then lap 1 made the out-lap on top the reference.
    out_lap, fast = (session.laps.get(number=n).pk for n in (1, 2))
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/sessions/{session.pk}/")
    assert "pick the reference" in page.locator("[data-w=compare-help]").inner_text()
    page.check(f"input[name=laps][value='{fast}']")
    page.check(f"input[name=laps][value='{out_lap}']")
    page.click("#compare-form button[type=submit]")
    # No pick: the fastest green lap ticked is the reference, and the URL says so.
    page.wait_for_url(lambda url: "/compare/" in url and f"ref={fast}" in url, timeout=WAIT_MS)
    assert "lap 2" in page.locator("#legend li:has([data-w=reference])").inner_text().lower()
    assert page.locator("[data-w=versus] h3").first.inner_text().lower().startswith("lap 1 vs lap 2")
    # The driver picks the out-lap instead: the page and its charts follow, and a reload keeps it.
    page.click("[data-w=make-reference]")
    page.wait_for_url(lambda url: f"ref={out_lap}" in url, timeout=WAIT_MS)
    page.reload()
    assert "lap 1" in page.locator("#legend li:has([data-w=reference])").inner_text().lower()
    assert page.locator("[data-w=versus] h3").first.inner_text().lower().startswith("lap 2 vs lap 1")
    page.wait_for_function(
        "() => document.querySelectorAll('#compare-charts .uplot').length === 5", timeout=WAIT_MS
    )
    assert errors == []
