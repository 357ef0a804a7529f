"""The live page's focus verdict in a real browser, in the viewer's units: a driver who reads
mph reads the braking point of the lap just driven in feet (static/js/focus.js)."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from playwright.sync_api import Browser

from apps.accounts.models import UnitPreference
from apps.coaching.models import FocusCorner
from apps.coaching.reports import report_facts
from apps.sessions.models import Session
from apps.sessions.tests.test_compare_browser import log_in
from simcoach_site.lib.units import M_PER_FT

from .test_progress import LC, _session
from .test_progress_browser import _frames

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def imperial_focus(driver: Any) -> tuple[Session, float]:
    # Built before the browser starts (its event loop in this thread refuses the ORM bridge).
    UnitPreference.objects.create(user=driver, speed="mph", pressure="psi", temperature="°F")
    s1 = _session(driver, 1, laps=4, brake_earlier_m={LC: 10}, per_lap={2: {"brake_earlier_m": {LC: -10}}})
    report_facts(session=s1)
    return s1, FocusCorner.objects.get().target


def test_the_live_verdict_says_feet_to_a_driver_who_reads_mph(
    live_server, imperial_focus, browser: Browser
) -> None:  # type: ignore[no-untyped-def]
    session, target = imperial_focus
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/sessions/{session.pk}/live/")
    item = f'#live-focus li[data-focus="{LC}"]'
    assert re.search(r"brake at \d+ ft or later", page.inner_text(item))
    page.evaluate("(frames) => frames.forEach((f) => window.simcoachFocus.frame(f))", _frames(3, target - 12))
    text = page.inner_text(item)
    assert page.get_attribute(item, "data-hit") == "miss", text
    said = re.search(r"✗ missed \(lap 3: (\d+) ft\)", text)
    assert said, text
    # The frames brake on a 3 m grid from target − 12 m: the first braking frame, in feet
    assert float(said.group(1)) == pytest.approx((target - 12) / M_PER_FT, abs=3 / M_PER_FT + 1)
    assert " m)" not in text and errors == []
    page.close()
