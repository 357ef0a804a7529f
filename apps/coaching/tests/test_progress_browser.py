"""The progress page in a real browser under the site's Content-Security-Policy: its small
multiples draw (server-side SVG, no script), nothing is blocked, and a lap's corner row leads
to that corner's card."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Browser

from apps.accounts.services import unit_preference_set
from apps.coaching.models import FocusCorner
from apps.coaching.reports import report_facts
from apps.sessions.models import Session
from apps.sessions.tests.test_compare_browser import WAIT_MS, log_in
from simcoach_site.lib.units import Units

from .test_progress import LC, POUHON, _session

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_sessions(driver: Any) -> list[Session]:
    # Built before the browser starts (its event loop in this thread refuses the ORM bridge).
    s1 = _session(driver, 1, laps=3, brake_earlier_m={LC: 10}, per_lap={2: {"brake_earlier_m": {LC: -10}}})
    s2 = _session(driver, 2, laps=3, corner_speed_delta_kmh={POUHON: -5})
    report_facts(session=s1)
    # Chosen, not guessed from the browser's language (en-US would read mph): the trend's words
    # follow the reader's units.
    unit_preference_set(user=driver, units=Units(speed="km/h", pressure="bar", temperature="°C"))
    return [s1, s2]


def test_it_draws_every_corner_under_the_csp(live_server, two_sessions, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server.url)
    lap = two_sessions[1].laps.get(number=2)
    page.goto(f"{live_server.url}/laps/{lap.pk}/")
    page.click(f'[data-w="corners"] tr:has-text("{POUHON}") a[data-w="corner-progress"]')
    page.wait_for_url(lambda url: "/progress/" in url and url.endswith("#corner-pouhon"), timeout=WAIT_MS)
    page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    cards = page.locator("[data-corner]")
    assert cards.count() == 11
    assert page.locator(f'[data-corner="{POUHON}"] polyline.spark-line').count() == 4
    box = page.locator(f'[data-corner="{POUHON}"] svg').first.bounding_box()
    assert box is not None and box["width"] == 150
    assert "minimum −5.0 km/h" in page.inner_text(f'[data-corner="{POUHON}"] .trend')
    assert POUHON in page.inner_text('[data-w="weakest"]')
    assert LC in page.inner_text('[data-w="focus"]')
    assert [p for p in problems if "Content Security Policy" in p or "Refused" in p] == []
    page.close()


def _frames(lap: int, brake_at: float) -> list[dict[str, float]]:
    # A car passing Les Combes (2220-2575 m at Spa): full brake from `brake_at` to the apex.
    return [
        {
            "lap": lap,
            "lap_dist": d,
            "speed": 120.0 if 2300 <= d <= 2500 else 250.0,
            "brake": 1.0 if brake_at <= d < 2415 else 0.0,
        }
        for d in range(2000, 2700, 3)
    ]


@pytest.fixture
def open_focus(driver: Any) -> tuple[Session, float]:
    s1 = _session(driver, 1, laps=4, brake_earlier_m={LC: 10}, per_lap={2: {"brake_earlier_m": {LC: -10}}})
    report_facts(session=s1)  # opens the Les Combes focus: brake at ~2251 m or later
    return s1, FocusCorner.objects.get().target


def test_the_live_page_says_hit_or_miss_at_a_focus_corner(live_server, open_focus, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    first_session, target = open_focus
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/sessions/{first_session.pk}/live/")
    item = f'#live-focus li[data-focus="{LC}"]'
    assert page.get_attribute(item, "data-hit") is None
    page.evaluate("(frames) => frames.forEach((f) => window.simcoachFocus.frame(f))", _frames(2, target + 1))
    assert page.get_attribute(item, "data-hit") == "hit" and "✓ on target" in page.inner_text(item)
    page.evaluate("(frames) => frames.forEach((f) => window.simcoachFocus.frame(f))", _frames(3, target - 12))
    assert page.get_attribute(item, "data-hit") == "miss" and "✗ missed (lap 3" in page.inner_text(item)
    assert errors == []
    page.close()
