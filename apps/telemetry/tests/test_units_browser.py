"""The chosen units in a real browser: the live dashboard (the real agent's demo car streaming
through Daphne) and the lap page's chart axes, switched on the units page in between."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.sessions.models import Lap
from apps.sessions.tests.factories import session_with_demo_laps

from .test_share_browser import WAIT_MS, agent, driver_session, server  # noqa: F401 (fixtures)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lap(driver) -> Lap:  # type: ignore[no-untyped-def]
    # Built before the browser starts (its event loop in this thread refuses the ORM bridge).
    return session_with_demo_laps(driver, laps=2, start_t=1.6e9).laps.get(number=2)


def _choose(page: Page, base: str, speed: str, pressure: str, temperature: str) -> None:
    page.goto(base + "/accounts/units/")
    page.select_option("select[name=speed]", speed)
    page.select_option("select[name=pressure]", pressure)
    page.select_option("select[name=temperature]", temperature)
    page.click("[data-w=units-form] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Units saved", timeout=WAIT_MS)


def _live_pressure(page: Page, base: str, unit: str) -> float:
    page.goto(base + "/live/")
    expect(page.locator("[data-unit=speed]")).to_have_text("mph" if unit == "psi" else "km/h")
    cell = page.locator("[data-wheel=fl] .press")
    expect(cell).to_have_text(re.compile(rf"^\d+\.\d+ {unit}$"), timeout=WAIT_MS)
    return float(cell.inner_text().split()[0])


def test_the_live_dashboard_and_the_lap_chart_show_the_chosen_units(
    server: str,  # noqa: F811
    agent: Path,  # noqa: F811
    driver_session: str,  # noqa: F811
    lap: Lap,
    browser: Browser,
) -> None:
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": driver_session, "url": server}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    _choose(page, server, "mph", "psi", "°F")
    psi = _live_pressure(page, server, "psi")
    assert 15 < psi < 40  # a GT3's hot pressures are about 26-28 psi
    expect(page.locator("#water")).to_have_text(re.compile(r"^\d+ °F$"), timeout=WAIT_MS)
    expect(page.locator("#track-temp")).to_have_text("86 °F")  # the demo's 30 °C track
    expect(page.locator("#air-temp")).to_have_text("72 °F")  # and 22 °C air
    page.goto(f"{server}/laps/{lap.pk}/")
    titles = page.locator("#lap-charts .u-title, #temp-charts .u-title")
    expect(titles.first).to_have_text("Speed mph", timeout=WAIT_MS)
    expect(page.locator("#temp-charts .u-title").first).to_have_text("Tyres °F", timeout=WAIT_MS)

    _choose(page, server, "km/h", "bar", "°C")
    bar = _live_pressure(page, server, "bar")
    assert 1.0 < bar < 2.8
    page.goto(f"{server}/laps/{lap.pk}/")
    expect(titles.first).to_have_text("Speed km/h", timeout=WAIT_MS)
    expect(page.locator("#temp-charts .u-title").first).to_have_text("Tyres °C", timeout=WAIT_MS)
    assert errors == []
    context.close()
