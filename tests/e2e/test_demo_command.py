"""`make demo`'s last step, for real: the demo command serves the site with the car streaming."""

from __future__ import annotations

import http.cookiejar
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from simcoach_site.lib.net import free_port
from tests.servers import ROOT, stop

pytestmark = pytest.mark.browser  # slow end-to-end, like the browser tests


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def frames_stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT COALESCE(SUM(frame_count), 0) FROM racing_sessions_session").fetchone()
    return int(row[0])


def login(base: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf
    form = {"username": "demo", "password": password, "csrfmiddlewaretoken": csrf.group(1)}
    opener.open(f"{base}/accounts/login/", urllib.parse.urlencode(form).encode())
    return opener


def test_it_serves_the_live_page_with_the_demo_car_streaming(tmp_path: Path) -> None:
    env = {**os.environ, "SIMCOACH_VAR_DIR": str(tmp_path), "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}"}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "INFLUX_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)  # the demo runs on the embedded defaults, whatever CI's pass sets
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        banner = ""
        while "log in" not in banner:
            line = demo.stdout.readline() if demo.stdout else ""
            assert line, "the demo command exited before printing its banner"
            banner += line
        password = re.search(r"log in\s+demo / (\S+)", banner)
        assert password and f"http://127.0.0.1:{port}/live/" in banner
        db = tmp_path / "simcoach.sqlite3"
        first = wait_for(lambda: frames_stored(db), 30, "the demo car's first frames")
        wait_for(lambda: frames_stored(db) > first + 60, 30, "more frames")
        page = login(f"http://127.0.0.1:{port}", password.group(1)).open(f"http://127.0.0.1:{port}/live/")
        assert page.status == 200 and b'id="live"' in page.read()
    finally:
        stop(demo)
    assert demo.returncode is not None
