"""/live/ with two rigs in a real browser: two real agents stream the demo car into real Daphne,
one is stopped with Ctrl-C (SIGINT), and the page follows the car that still moves."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from apps.accounts.models import Rig
from apps.accounts.pairing import device_authorization_start, device_token_poll
from apps.accounts.services import rig_create
from apps.sessions.models import Session
from tests.e2e.test_live_dashboard import login
from tests.servers import agent, set_server_password, stop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop


def off_loop(fn: Any, /, **kwargs: Any) -> Any:
    """Call ``fn`` on a thread of its own: Playwright's sync API runs an event loop in this
    one, and code that broadcasts after commit (async_to_sync) refuses to run beside it."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, **kwargs).result()


def streaming_session(rig: Rig, timeout: float = 60) -> Session:
    """The rig's live session once frames are stored (the timeout only stops a hung test)."""
    deadline = time.monotonic() + timeout
    while True:
        session = Session.objects.filter(rig=rig, state=Session.State.LIVE, frame_count__gt=0).first()
        if session is not None:
            return session
        assert time.monotonic() < deadline, f"{rig.name} never streamed"
        time.sleep(0.2)


def pill(page: Page, rig: Rig) -> str:
    return page.text_content(f'#rig-picker [data-rig="{rig.pk}"] [data-rig-state]') or ""


def wait_state(page: Page, rig: Rig, state: str) -> None:
    page.wait_for_function(
        '([id, state]) => document.querySelector(`#rig-picker [data-rig="${id}"] [data-rig-state]`)'
        ".textContent === state",
        arg=[rig.pk, state],
        timeout=30_000,
    )


def wait_showing(page: Page, session: Session) -> None:
    """The page shows this session, and its car moves there."""
    page.wait_for_function(
        "(id) => document.getElementById('live').dataset.session === String(id)",
        arg=session.pk,
        timeout=30_000,
    )
    page.wait_for_function("() => Number(document.getElementById('speed').textContent) > 0", timeout=20_000)
    first = page.inner_text("#cur")
    page.wait_for_function(
        "(t) => document.getElementById('cur').textContent !== t", arg=first, timeout=10_000
    )


def test_a_rig_stopped_with_ctrl_c_goes_offline_and_live_follows_the_moving_car(
    daphne_url: str, driver: Any, browser: Browser, tmp_path: Path
) -> None:
    set_server_password(driver, "driver-pass-1")
    moving, token_a = rig_create(owner=driver, name="Moving rig")
    second, token_b = rig_create(owner=driver, name="Second rig")
    base = ["--quiet", "run", "--game", "demo", "--server", daphne_url]
    a = agent([*base, "--token", token_a], tmp_path / "a")
    b = None
    try:
        session_a = streaming_session(moving)
        b = agent([*base, "--token", token_b, "--seed", "7"], tmp_path / "b")
        session_b = streaming_session(second)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        login(page, daphne_url)
        wait_state(page, moving, "streaming")
        wait_state(page, second, "streaming")

        b.send_signal(signal.SIGINT)  # Ctrl-C: drain, `end`, exit
        assert b.wait(30) == 0
        # Ended by the agent's goodbye within seconds, not by the 600 s silence sweep (the
        # server may still be storing the last batch when the agent has exited).
        deadline = time.monotonic() + 15
        while Session.objects.get(pk=session_b.pk).state != Session.State.ENDED:
            assert time.monotonic() < deadline, "the stopped rig's session is still live"
            time.sleep(0.1)
        wait_state(page, second, "offline")
        wait_state(page, moving, "streaming")
        wait_showing(page, session_a)  # the page follows the car that still moves
        assert "following" in (page.get_attribute(f'[data-rig="{moving.pk}"]', "class") or "")

        page.click(f'#rig-picker [data-rig="{second.pk}"]')  # choose the stopped rig
        page.wait_for_url(f"{daphne_url}/live/?rig={second.pk}")
        page.wait_for_function(
            "() => document.getElementById('title').textContent.startsWith('Waiting')", timeout=20_000
        )
        assert pill(page, second) == "offline"
        page.click(f'#rig-picker [data-rig="{moving.pk}"]')  # and the moving one
        page.wait_for_url(f"{daphne_url}/live/?rig={moving.pk}")
        wait_showing(page, session_a)
    finally:
        stop(a)
        if b is not None:
            stop(b)


def test_the_throttle_label_is_readable_on_its_green_bar(
    daphne_url: str, driver: Any, browser: Browser
) -> None:
    set_server_password(driver, "driver-pass-1")
    page = browser.new_page()
    login(page, daphne_url)
    label: dict[str, str] = page.evaluate(
        """() => { const s = getComputedStyle(document.querySelector('#throttle + label'));
                   return {color: s.color, blend: s.mixBlendMode, background: s.backgroundColor}; }"""
    )
    # A blend mode turned the white label red over the green fill; now plain light text on a
    # dark chip, whatever the bar's colour under it.
    assert label["blend"] == "normal"
    r, g, b = (int(x) for x in label["color"][4:-1].split(",")[:3])
    assert min(r, g, b) > 200, label
    bg = [float(x) for x in label["background"][5:-1].split(",")]
    assert max(bg[:3]) < 40 and bg[3] > 0.5, label


def test_an_approved_pairing_shows_in_my_rigs_without_a_reload(
    daphne_url: str, driver: Any, browser: Browser
) -> None:
    set_server_password(driver, "driver-pass-1")
    grant = device_authorization_start(client_name="Sim cockpit", agent_version="0.1.0", client_ip=None)
    page = browser.new_page()
    login(page, daphne_url)
    page.goto(f"{daphne_url}/pair/?code={grant.auth.user_code}")
    page.fill("input[name=name]", "Garage rig")
    page.click("button[value=approve]")
    page.wait_for_url(f"{daphne_url}/rigs/")
    assert "waiting for the agent" in page.inner_text("#rig-rows")
    assert page.locator("#rig-rows input[name=name]").count() == 0
    page.evaluate("() => { window.sameDocument = true; }")
    off_loop(device_token_poll, device_code=grant.device_code)  # the agent collects its token
    page.wait_for_function(
        "() => [...document.querySelectorAll('#rig-rows input[name=name]')].some(i => i.value === 'Garage rig')",
        timeout=20_000,
    )
    assert "waiting for the agent" not in page.inner_text("#rig-rows")
    assert page.evaluate("() => window.sameDocument === true")  # updated in place, no reload


def test_the_report_pill_and_sections_are_styled(daphne_url: str, driver: Any, browser: Browser) -> None:
    from apps.coaching.models import Report
    from apps.coaching.tests.reportdata import ended_session

    set_server_password(driver, "driver-pass-1")
    session = off_loop(ended_session, owner=driver)
    sections = {k: f"{k} text" for k in ("summary", "tyres", "brakes", "fuel", "consistency", "plan")}
    off_loop(
        Report.objects.create,
        session=session,
        requested_by=driver,
        status=Report.Status.READY,
        sections=sections,
    )
    page = browser.new_page()
    login(page, daphne_url)
    page.goto(f"{daphne_url}/sessions/{session.pk}/")
    styles: dict[str, str] = page.evaluate(
        """() => ({pill: getComputedStyle(document.querySelector('[data-report-status]')).backgroundColor,
                   dl: getComputedStyle(document.querySelector('.report-sections')).display,
                   dt: getComputedStyle(document.querySelector('.report-sections dt')).color,
                   dd: getComputedStyle(document.querySelector('.report-sections dd')).marginLeft})"""
    )
    assert page.inner_text("[data-report-status]").strip().lower() == "ready"
    assert styles["pill"] not in ("rgba(0, 0, 0, 0)", "transparent"), styles  # READY has a background
    assert styles["dl"] == "grid" and styles["dd"] == "0px", styles  # label column beside the text
