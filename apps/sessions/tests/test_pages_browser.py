"""The archive pages' scripts in a real browser, on sessions in the states that used to break:
a live session before its first lap, untimed laps, and a real Crew Chief import (no sectors,
no steering or temperatures in the file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from apps.sessions.models import Session
from apps.sessions.services_import import session_import

from .factories import session_with_demo_laps
from .test_compare_browser import WAIT_MS, log_in

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _visit(browser: Browser, base: str, paths: list[str]) -> list[str]:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    log_in(page, base)
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle", timeout=WAIT_MS)
    return errors


@pytest.fixture
def states(driver) -> tuple[Session, Session]:  # type: ignore[no-untyped-def]
    # Built before the browser starts (its event loop in this thread refuses the ORM bridge).
    live = session_with_demo_laps(driver, laps=0, end=False)
    untimed = session_with_demo_laps(driver, laps=2, start_t=1.8e9)
    untimed.laps.update(time_ms=None, stats={"timing": "untimed", "partial": False})
    return live, untimed


def test_it_runs_the_session_page_of_a_live_session_and_of_untimed_laps(
    live_server, states, browser: Browser
) -> None:  # type: ignore[no-untyped-def]
    live, untimed = states
    lap = untimed.laps.get(number=2)
    errors = _visit(
        browser, live_server.url, [f"/sessions/{live.pk}/", f"/sessions/{untimed.pk}/", f"/laps/{lap.pk}/"]
    )
    assert errors == []


@pytest.fixture
def magny_cours(driver, fixtures_dir: Path) -> Session:  # type: ignore[no-untyped-def]
    path = fixtures_dir / "crewchief/session_1681021274_df.csv.gz"
    with path.open("rb") as f:
        return session_import(owner=driver, fileobj=f, filename=path.name).session


@pytest.mark.fixtures
def test_it_runs_every_page_script_on_a_real_import(live_server, magny_cours, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    session = magny_cours
    a, b = (session.laps.get(number=n) for n in (3, 5))
    paths = [f"/sessions/{session.pk}/", f"/laps/{a.pk}/", f"/compare/?laps={a.pk},{b.pk}&ref={b.pk}"]
    assert _visit(browser, live_server.url, paths) == []
