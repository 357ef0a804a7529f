"""Every main page under the Content-Security-Policy in real Chromium, served by real Daphne:
no violation reported, no script error, and the behaviour that moved out of inline code (the
live tyre colours, the revoke confirmation, the share link's select-on-click) still works."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from apps.accounts.services import rig_create
from apps.coaching.services import lap_analyse
from apps.sessions.tests.factories import session_with_demo_laps
from apps.sharing.services import share_link_create
from tests.servers import BROWSER_ARGS, agent, set_server_password, stop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop
WAIT_MS = 30_000
# Collects what the page's CSP refused, from before the first script of every page runs.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


class Watch:
    """Everything a page says went wrong: CSP reports, console errors, uncaught exceptions."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: {exc}"))

    def _console(self, msg: object) -> None:
        text, kind = msg.text, msg.type  # type: ignore[attr-defined]
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"{self.page.url}: console {kind}: {text}")

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status < 400, f"{url}: {response and response.status}"
        assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
        self.collect()

    def collect(self) -> None:
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)  # the pages' first fetches and sockets
        self.problems += [f"{self.page.url}: {v}" for v in self.page.evaluate("() => window.__csp || []")]


def test_the_main_pages_keep_to_the_policy(daphne_url: str, driver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Everything stored before Chromium starts: Playwright's loop in this thread would refuse the
    # sync-to-async bridge that session events go through.
    set_server_password(driver, "driver-pass-1")
    session = session_with_demo_laps(driver, laps=3, noise=False)
    laps = list(session.laps.order_by("number"))
    for lap in laps:
        lap_analyse(lap_id=lap.pk)
    _, session_token = share_link_create(owner=driver, session=session, expires_in=None, label="Coach")
    rig, rig_token = rig_create(owner=driver, name="Rig")
    _, live_token = share_link_create(owner=driver, rig=rig, expires_in=None, label="Coach")
    base = daphne_url
    proc = agent(["--quiet", "run", "--game", "demo", "--server", base, "--token", rig_token], tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
            check_pages(browser, base, session, laps, rig, session_token, live_token)
            browser.close()
    finally:
        stop(proc)


def check_pages(browser: Browser, base: str, session, laps, rig, session_token: str, live_token: str) -> None:  # type: ignore[no-untyped-def]
    if True:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch = Watch(page)
        for path in (
            "/",
            "/accounts/login/",
            "/accounts/signup/",
            f"/s/{session_token}/",
            f"/s/{live_token}/",
        ):
            watch.visit(base + path)

        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "driver")
        page.fill("#id_password", "driver-pass-1")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/live/")
        # The live page with the demo car streaming: the tyre colours are set from JS now.
        page.wait_for_function(
            "() => document.getElementById('conn').textContent === 'live'", timeout=WAIT_MS
        )
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-wheel] .io i')].some(i => i.style.background)",
            timeout=WAIT_MS,
        )
        assert page.locator("[data-wheel] .brake-temp").count() == 4
        watch.collect()

        ref, other = laps[1].pk, laps[2].pk
        for path in (f"/sessions/{session.pk}/", f"/laps/{ref}/", f"/compare/?laps={ref},{other}"):
            watch.visit(base + path)
            # uPlot draws its charts under the policy (it styles through the CSSOM, not markup)
            page.wait_for_function("() => document.querySelectorAll('.uplot').length > 0", timeout=WAIT_MS)
            watch.collect()
        for path in (
            "/sessions/",
            f"/sessions/{session.pk}/report/",
            "/import/",
            "/pair/",
            "/rigs/",
            "/coaching/drivers/",
            "/accounts/password/",
        ):
            watch.visit(base + path)

        # Sharing: a new link's input selects itself on click (was an inline onclick).
        watch.visit(f"{base}/sharing/")
        page.select_option("select[name=target]", f"session:{session.pk}")
        page.click("#share-create button[type=submit]")
        page.wait_for_selector("#new-share-url")
        page.click("#new-share-url")
        selected = page.evaluate(
            "(() => { const i = document.getElementById('new-share-url'); return i.selectionEnd - i.selectionStart; })()"
        )
        assert selected == len(page.input_value("#new-share-url")) > 0
        watch.collect()

        # My rigs: revoking asks first (was an inline onsubmit); dismissing keeps the rig.
        watch.visit(f"{base}/rigs/")
        questions: list[str] = []
        page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
        page.click("form[data-confirm] button")
        page.wait_for_timeout(300)
        assert questions == ["Revoke Rig? Its agent will be disconnected."]
        assert page.url == f"{base}/rigs/"
        rig.refresh_from_db()
        assert rig.revoked_at is None
        watch.collect()
        assert watch.problems == []


def test_a_violation_is_seen(daphne_url: str, browser: Browser) -> None:
    # Guards the watcher: an inline script injected into a served page must be reported.
    page = browser.new_page()
    watch = Watch(page)
    watch.visit(f"{daphne_url}/accounts/login/")
    page.evaluate("""() => { const s = document.createElement('div');
        s.innerHTML = '<img src=x onerror="window.hacked=1">'; document.body.appendChild(s); }""")
    page.wait_for_timeout(500)
    watch.collect()
    assert page.evaluate("() => window.hacked === undefined")
    assert any("script-src" in p for p in watch.problems), watch.problems
