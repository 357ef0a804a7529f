"""`make demo`'s last step, for real: the demo command serves the site with the car streaming,
and however it is stopped, it takes its server and agent down with it."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
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


def login(
    base: str, username: str, password: str, path: str = "/accounts/login/"
) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}{path}").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf
    form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf.group(1)}
    opener.open(f"{base}{path}", urllib.parse.urlencode(form).encode())
    return opener


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    base: str
    banner: str
    db: Path

    def login(self, who: str) -> tuple[str, str]:
        found = re.search(rf"{who}\s+(?:\S+/\s+)?(\S+) / (\S+)", self.banner)
        assert found, f"no {who} login in the banner:\n{self.banner}"
        return found.group(1), found.group(2)


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    var = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "SIMCOACH_VAR_DIR": str(var), "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}"}
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "INFLUX_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"):
        env.pop(name, None)  # the demo runs on the embedded defaults, whatever CI's pass sets
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    return env


@pytest.fixture
def demo(demo_env: dict[str, str]) -> Iterator[Demo]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port)],
        cwd=ROOT,
        env=demo_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the server's log lines too: each must appear once
        text=True,
    )
    try:
        banner = ""
        while "Ctrl-C" not in banner:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line, f"the demo command exited before printing its banner:\n{banner}"
            banner += line
        yield Demo(
            proc, f"http://127.0.0.1:{port}", banner, Path(demo_env["SIMCOACH_VAR_DIR"]) / "simcoach.sqlite3"
        )
    finally:
        stop(proc)  # type: ignore[arg-type]


def test_it_serves_the_live_page_with_the_demo_car_streaming(demo: Demo) -> None:
    user, password = demo.login("log in")
    assert user == "demo" and f"{demo.base}/live/" in demo.banner
    first = wait_for(lambda: frames_stored(demo.db), 30, "the demo car's first frames")
    wait_for(lambda: frames_stored(demo.db) > first + 60, 30, "more frames")
    page = login(demo.base, user, password).open(f"{demo.base}/live/")
    assert page.status == 200 and b'id="live"' in page.read()


def test_it_prints_an_admin_login_that_opens_the_admin(demo: Demo) -> None:
    user, password = demo.login("admin")
    assert f"{demo.base}/admin/" in demo.banner
    admin = login(demo.base, user, password, path="/admin/login/?next=/admin/")
    page = admin.open(f"{demo.base}/admin/").read().decode()
    assert "Site administration" in page and "Log out" in page


def test_each_server_log_line_is_printed_once(demo: Demo) -> None:
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"{demo.base}/no-such-page-{os.getpid()}/")
    assert missing.value.code == 404
    demo.proc.send_signal(signal.SIGINT)
    rest: list[str] = []
    reader = threading.Thread(target=lambda: rest.append(demo.proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(30)  # EOF once the demo and every child are gone
    assert not reader.is_alive(), "the demo's output never closed: a child still holds it"
    out = rest[0]
    assert out.count(f"Not Found: /no-such-page-{os.getpid()}/") == 1, out


def test_it_refuses_a_port_already_in_use(demo_env: dict[str, str]) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        run = subprocess.run(
            [sys.executable, "manage.py", "demo", "--port", str(port)],
            cwd=ROOT,
            env=demo_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert f"127.0.0.1:{port} is already in use" in run.stderr and "--port" in run.stderr


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (read from /proc: children, grandchildren...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))):
            parents[int(entry.name)] = int(stat[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _stat(pid: int) -> list[str] | None:
    """(state, ppid, ...) of a process, or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rsplit(")", 1)[1].split()  # the name in (...) may hold spaces


def alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")  # a zombie serves no port


def port_free(base: str) -> bool:
    host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return False
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name
)
def test_no_child_survives_the_demo_being_stopped(demo: Demo, sig: signal.Signals) -> None:
    children = descendants(demo.proc.pid)
    assert len(children) >= 2, "the server and the agent should both be running"
    demo.proc.send_signal(sig)
    demo.proc.wait(30)
    survivors = lambda: {pid for pid in children if alive(pid)}  # noqa: E731
    try:
        wait_for(lambda: not survivors(), 20, f"the demo's children to exit after {sig.name}")
        assert port_free(demo.base), f"something still listens on the demo's port after {sig.name}"
    finally:
        for pid in survivors():  # a failing run must not leave its orphans to the next test
            os.kill(pid, signal.SIGKILL)
