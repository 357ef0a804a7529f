"""A coach pins a cue at a corner on the share page; the driver's agent says it before the
corner, the driver's live page shows it, and the trace confirms where the car was.

Everything runs for real: Daphne on the test database, the agent CLI streaming its demo car
(at 4x simulated time, so a lap of Spa takes about 35 s), headless Chromium for both people.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings

from tests.servers import BROWSER_ARGS, stop

from .logins import session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WAIT_MS = 30_000
CORNER = "Les Combes"  # its start, 2220 m, ends the Kemmel straight: a steady speed before it
LEAD_S = 3.0
SPEEDUP = 4.0


@pytest.fixture
def agent(daphne_url: str, rig_and_token, tmp_path: Path) -> Iterator[Path]:
    """The real agent CLI driving its demo car; its JSON lines land in a file."""
    _, token = rig_and_token
    out = tmp_path / "agent.jsonl"
    env = {**os.environ, "SIMCOACH_AGENT_HOME": str(tmp_path / "agent-home"), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(settings.BASE_DIR) / "agent"), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "simcoach_agent", "--json", "run", "--game", "demo", "--speed", str(SPEEDUP)]
    cmd += ["--server", daphne_url + "/", "--token", token]
    with out.open("w") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            yield out
        finally:
            stop(proc)


def agent_event(out: Path, match: dict[str, Any], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in out.read_text().splitlines():
            if line.startswith("{"):
                event = json.loads(line)
                if all(event.get(k) == v for k, v in match.items()):
                    return event
        time.sleep(0.2)
    raise AssertionError(f"the agent never printed {match}; its output:\n{out.read_text()[-3000:]}")


def trace_until(session_id: int, lap: int, at_m: float, timeout: float = 20.0) -> dict[str, np.ndarray]:
    """The session's stored frames, once they reach `at_m` on `lap` (the point was passed)."""
    from apps.traces.tracestore import get_trace_store

    deadline = time.monotonic() + timeout
    while True:
        cols = get_trace_store().read(
            session_id=session_id, t0=0.0, t1=math.inf, channels=["lap", "lap_dist", "speed"]
        )
        on_lap = np.asarray(cols["lap"]) == lap
        if np.any(on_lap & (np.asarray(cols["lap_dist"]) >= at_m)) or time.monotonic() > deadline:
            return {k: np.asarray(v) for k, v in cols.items()}
        time.sleep(0.5)


def test_a_coach_pins_a_cue_at_a_corner_and_the_driver_hears_it_before_the_corner(
    daphne_url: str, agent: Path, driver, rig_and_token
) -> None:
    from playwright.sync_api import expect, sync_playwright

    from apps.coaching.models import Cue
    from apps.sharing.services import share_link_create

    rig, _ = rig_and_token
    _, token = share_link_create(owner=driver, rig=rig, expires_in=None, label="Coach Alex")
    cookie = session_cookie(driver)  # before Playwright's event loop: the ORM refuses to run inside it
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        try:
            owner_context = browser.new_context()
            owner_context.add_cookies([{"name": "sessionid", "value": cookie, "url": daphne_url}])
            owner = owner_context.new_page()
            owner.goto(daphne_url + "/live/")
            coach = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
            coach.goto(f"{daphne_url}/s/{token}/live/")
            expect(coach.locator("#conn")).to_have_text("live", timeout=WAIT_MS)

            coach.click(f".cue-corner[data-name='{CORNER}']", timeout=WAIT_MS)
            expect(coach.locator("#cue-at")).to_have_value("2220")
            coach.fill("#cue-text", "brake at the 100 board")
            coach.select_option("#cue-lead", str(int(LEAD_S)))
            coach.click("#cue-form button[type=submit]")
            expect(coach.locator("#cue-list")).to_contain_text("brake at the 100 board", timeout=WAIT_MS)
            received = agent_event(agent, {"event_kind": "cue_received"}, 30)
            expect(coach.locator("#cue-list")).to_contain_text("delivered in", timeout=WAIT_MS)

            # A lap is ~35 s: the car reaches the corner within one lap and a bit.
            spoken = agent_event(agent, {"event": "cue_spoken", "id": received["id"]}, 90)
            assert spoken["label"] == CORNER and spoken["at_m"] == 2220.0
            before, kmh = spoken["before_m"], spoken["speed_kmh"]
            assert 0 < before and before == pytest.approx(2220.0 - spoken["lap_dist"], abs=0.11)
            # said at the last frame whose time to the point (at its speed) was within the lead
            assert before / (kmh / 3.6) <= LEAD_S
            assert before / (kmh / 3.6) > LEAD_S - 0.1

            # The live page of the driver shows it as it is said; the coach sees the facts.
            expect(owner.locator("#cue-banner")).to_contain_text(
                f"{CORNER} in {round(before)} m", timeout=WAIT_MS
            )
            expect(coach.locator("#cue-list")).to_contain_text(
                f"spoken {round(before)} m before", timeout=WAIT_MS
            )
            # Removed on the page: the agent drops it, and the driver's list empties too.
            coach.click(f"#cue-list li[data-cue='{received['id']}'] .cue-remove")
            agent_event(agent, {"event_kind": "cue_removed", "id": received["id"]}, 30)
            expect(owner.locator("#cue-list")).to_contain_text("No cues pinned.", timeout=WAIT_MS)

        finally:
            browser.close()

    # Playwright's sync API runs a loop in this thread: the database after the browser closes.
    cue = Cue.objects.get(pk=received["id"])
    assert cue.spoken_lap == spoken["lap"] and cue.spoken_before_m == before
    assert cue.delivery_ms is not None and cue.delivery_ms >= 0
    cols = trace_until(cue.session_id, spoken["lap"], 2220.0)
    on_lap = cols["lap"] == spoken["lap"]
    at = np.flatnonzero(on_lap & np.isclose(cols["lap_dist"], spoken["lap_dist"], atol=0.01))
    assert at.size, "the frame the cue was said at is in the trace"
    i = int(at[0])
    assert cols["speed"][i] == pytest.approx(kmh, abs=0.1)
    j = int(np.flatnonzero(on_lap & (cols["lap_dist"] >= 2220.0))[0])
    took = cols["t"][j] - cols["t"][i]  # simulated seconds from saying it to the corner
    print(
        f"cue: delivered in {cue.delivery_ms:.1f} ms; said {before} m before at {kmh} km/h; corner {took:.2f} s later"
    )
    assert LEAD_S - 0.1 < took < LEAD_S + 1.0
