"""A driver shares their live view; a coach opens it in another browser, writes, is cut off.

Everything runs for real: Daphne in a subprocess on the test database, the agent's demo car
streaming through the rig socket, headless Chromium for both people.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from tests.servers import BROWSER_ARGS, stop

from .logins import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 30_000


@pytest.fixture
def server(daphne_url: str) -> str:
    """Daphne serving the real ASGI app against this test's database."""
    return daphne_url


@pytest.fixture
def agent(server: str, rig_and_token, tmp_path: Path) -> Iterator[Path]:
    """The real agent streaming its demo car; its JSON output lands in a file."""
    _, token = rig_and_token
    out = tmp_path / "agent.jsonl"
    env = {**os.environ, "SIMCOACH_AGENT_HOME": str(tmp_path / "agent-home"), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(settings.BASE_DIR) / "agent"), env.get("PYTHONPATH", "")])
    cmd = [
        sys.executable,
        "-m",
        "simcoach_agent",
        "--json",
        "run",
        "--game",
        "demo",
        "--server",
        server + "/",
        "--token",
        token,
    ]
    with out.open("w") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield out
        finally:
            stop(proc)


def agent_heard(out: Path, text: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in out.read_text().splitlines():
            if (
                line.startswith("{")
                and (event := json.loads(line)).get("event") == "note"
                and event.get("text") == text
            ):
                return event
        time.sleep(0.2)
    raise AssertionError(f"the agent never printed the note; its output:\n{out.read_text()[-2000:]}")


@pytest.fixture
def driver_session(driver) -> str:  # type: ignore[no-untyped-def]
    return session_cookie(driver)


def test_it_shares_live_takes_a_note_and_cuts_the_viewer_off(
    server: str, agent: Path, driver_session: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            owner_context = browser.new_context()
            owner_context.add_cookies([{"name": "sessionid", "value": driver_session, "url": server}])
            owner = owner_context.new_page()
            owner.goto(server + "/sharing/")
            owner.select_option("select[name=target]", index=0)
            owner.select_option("select[name=expiry]", "1h")
            owner.fill("input[name=label]", "Coach Alex")
            owner.click("#share-create button[type=submit]")
            share_url = owner.input_value("#new-share-url")
            assert "/s/sc_share_" in share_url

            owner.goto(server + "/live/")
            coach = browser.new_context().new_page()  # a second browser context: no cookies, no account
            coach.goto(share_url)
            expect(coach.locator("#conn")).to_have_text("live", timeout=WAIT_MS)
            # Frames move: the lap clock shows one value, then another.
            expect(coach.locator("#cur")).not_to_have_text("–", timeout=WAIT_MS)
            first = coach.inner_text("#cur")
            expect(coach.locator("#cur")).not_to_have_text(first, timeout=WAIT_MS)

            coach.fill("#note-text", "Brake a touch later into Les Combes")
            coach.click("#note-form button[type=submit]")
            expect(owner.locator("#coaching li.note")).to_contain_text(
                "Coach Alex: Brake a touch later into Les Combes", timeout=WAIT_MS
            )
            assert agent_heard(agent, "Brake a touch later into Les Combes")["author"] == "Coach Alex"

            owner.goto(server + "/sharing/")
            owner.click("#share-links button.danger")
            expect(owner.locator("#share-links")).to_contain_text("No active links", timeout=WAIT_MS)
            expect(coach.locator("#share-closed")).to_contain_text("share link revoked", timeout=WAIT_MS)
            expect(coach.locator("#note-text")).to_be_disabled()
            coach.reload()
            expect(coach.locator("#share-gone")).to_contain_text("revoked", timeout=WAIT_MS)
        finally:
            browser.close()
