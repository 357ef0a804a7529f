"""The live page in a real browser while a real agent streams the demo car into real Daphne."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import time
from pathlib import Path

import pytest
import websockets
from playwright.sync_api import Page, sync_playwright

from apps.accounts.services import rig_create
from simcoach_agent import wire
from simcoach_agent.sources.demo import DemoCar
from tests.servers import BROWSER_ARGS, agent, set_server_password, stop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs a loop

# Widgets and how to read them; each must change while the car drives.
WIDGETS = [
    "speed",
    "rpm",
    "gear",
    "throttle",
    "brake",
    "steering",
    "current",
    "position",
    "tyres",
    "fuel",
    "lap",
    "last",
    "best",
    "delta",
    "sectors",
    "laps",
    "map",
    "gforce",
    "shift",
    "coaching",
    "coach-counts",
]


def login(page: Page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "driver")
    page.fill("#id_password", "driver-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/live/")


def snapshot(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-w]')].map(el => [el.dataset.w,
            el.tagName === 'CANVAS' ? el.toDataURL() : el.outerHTML]))"""
    )


def test_it_shows_the_demo_car_moving_on_the_live_page(daphne_url: str, driver, tmp_path: Path) -> None:
    set_server_password(driver, "driver-pass-1")
    _, token = rig_create(owner=driver, name="Rig")
    proc = agent(["--quiet", "run", "--game", "demo", "--server", daphne_url, "--token", token], tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
            page = browser.new_page()
            login(page, daphne_url)
            page.wait_for_function(
                "() => document.getElementById('conn').textContent === 'live'", timeout=20_000
            )
            page.wait_for_function(
                "() => Number(document.getElementById('speed').textContent) > 0", timeout=20_000
            )
            first = page.inner_text("#speed"), page.inner_text("#cur")
            page.wait_for_timeout(1500)
            second = page.inner_text("#speed"), page.inner_text("#cur")
            assert first != second
            assert "Spa-Francorchamps" in page.inner_text("#title")
            browser.close()
    finally:
        stop(proc)


def stream_fast(url: str, token: str, laps: int, speedup: float, done: threading.Event) -> None:
    """Stream whole demo laps faster than real time so laps complete within the test."""

    async def run() -> None:
        car = DemoCar(seed=3, realtime=False, laps=laps, start_t=time.time())
        info = car.info()
        assert info is not None
        hello = {
            "type": "hello",
            "protocol": wire.PROTOCOL_VERSION,
            "agent": "test",
            "game": "demo",
            "track": info.track,
            "car": info.car,
            "car_class": info.car_class,
            "kind": "practice",
            "session_uid": "fast-1",
            "track_length_m": info.track_length_m,
        }
        ws_url = url.replace("http", "ws") + "/ws/rig/"
        async with websockets.connect(ws_url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await ws.send(wire.encode_control(hello))
            await ws.recv()
            batch: list[dict[str, float]] = []
            seq = 0
            for frame in car.frames():
                batch.append(frame)
                if len(batch) == 30:  # half a second of driving, sent every 0.5/speedup s
                    await ws.send(wire.encode_batch(seq, batch))
                    seq += len(batch)
                    batch = []
                    await asyncio.sleep(0.5 / speedup)
                    while True:  # drain acks and coaching without blocking
                        try:
                            await asyncio.wait_for(ws.recv(), 0.001)
                        except TimeoutError:
                            break
        done.set()

    asyncio.run(run())


def test_it_updates_every_widget(daphne_url: str, driver) -> None:
    set_server_password(driver, "driver-pass-1")
    _, token = rig_create(owner=driver, name="Rig")
    done = threading.Event()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        login(page, daphne_url)
        page.wait_for_function("() => document.getElementById('conn').textContent === 'live'", timeout=20_000)
        before = snapshot(page)
        streamer = threading.Thread(target=stream_fast, args=(daphne_url, token, 3, 16.0, done), daemon=True)
        streamer.start()
        # Three laps: the second lap sets a best, the third runs a live delta against it.
        page.wait_for_function("() => document.querySelectorAll('#laps tr').length >= 2", timeout=120_000)
        page.wait_for_function("() => document.getElementById('delta').textContent !== '–'", timeout=60_000)
        after = snapshot(page)
        counts = page.locator("#coach-counts").inner_text()
        held = page.locator("#coaching li.held").count()
        page.screenshot(path=str(Path(os.environ.get("SIMCOACH_SHOTS", "/tmp")) / "live-dashboard.png"))
        page.locator(".panel.coach").screenshot(
            path=str(Path(os.environ.get("SIMCOACH_SHOTS", "/tmp")) / "live-coaching.png")
        )
        browser.close()
    streamer.join(60)
    unchanged = [w for w in WIDGETS if before.get(w) == after.get(w)]
    assert not unchanged, f"widgets that never updated: {unchanged}"
    # The cue discipline's counters, and what it held back listed as such
    found = re.fullmatch(
        r"spoken (\d+) · held back (\d+) \(repeat (\d+), budget (\d+)\) · late (\d+)", counts
    )
    assert found is not None, counts
    spoken, held_back, repeat, budget, _ = map(int, found.groups())
    assert spoken > 0 and held_back == repeat + budget
    assert held <= held_back  # the page lists (at most its last 40 of) the held-back messages
