"""The site under URL_PREFIX=/ai-sim-coach, as production runs it: a real Daphne process with
DJANGO_DEBUG=0, collected static files, and requests shaped as nginx forwards them (prefix kept,
Host and X-Forwarded-Proto set). Pages, static files, API routes and sockets must all answer there.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.influxd import free_port

from . import stack

PREFIX = "/ai-sim-coach"
HOST = "sim.example.com"
HTTPS = {"Host": HOST, "X-Forwarded-Proto": "https"}
# migrate, collectstatic and a Daphne process before the first request: `make test` runs these.
pytestmark = pytest.mark.slow


@dataclass
class Site:
    port: int
    env: dict[str, str]

    def get(self, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", path, headers=HTTPS if headers is None else headers)
        response = conn.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        conn.close()
        return response


def _redis_or_embedded() -> dict[str, str]:
    # Production refuses the in-memory layer; a machine without Redis runs the same test with
    # the explicit embedded opt-in, which changes nothing about the prefix.
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/5", socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return {"SIMCOACH_ALLOW_EMBEDDED": "1", "REDIS_URL": "", "CELERY_BROKER_URL": ""}
    return {"REDIS_URL": "redis://127.0.0.1:6379/5", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/6"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp: Path = tmp_path_factory.mktemp("prefix")
    env = stack.production_env(
        tmp,
        URL_PREFIX=PREFIX,
        DATABASE_URL=f"sqlite:///{tmp / 'site.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        **_redis_or_embedded(),
    )
    for step in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        result = stack.manage(env, *step)
        assert result.returncode == 0, result.stderr
    port = free_port()
    log = open(tmp / "daphne.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "simcoach_site.serve", "-b", "127.0.0.1", "-p", str(port),
         "simcoach_site.asgi:application"],
        cwd=stack.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    site = Site(port=port, env=env)
    try:
        _wait_until_serving(site, proc, tmp / "daphne.log")
        yield site
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _wait_until_serving(site: Site, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"daphne exited: {log.read_text()}")
        try:
            site.get(f"{PREFIX}/api/status")
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"daphne did not serve within 60 s: {log.read_text()}")


def test_pages_render_with_prefixed_links(site: Site) -> None:
    page = site.get(f"{PREFIX}/accounts/login/")
    assert page.status == 200
    html = page.body.decode()
    assert f'data-prefix="{PREFIX}"' in html
    assert f'href="{PREFIX}/accounts/signup/"' in html
    assert re.search(rf'href="{PREFIX}/static/css/site\.[0-9a-f]{{12}}\.css"', html)
    cookie = page.getheader("Set-Cookie") or ""
    assert f"Path={PREFIX}" in cookie
    assert "Secure" in cookie


def test_static_files_are_served_under_the_prefix(site: Site) -> None:
    html = site.get(f"{PREFIX}/accounts/login/").body.decode()
    href = re.search(rf'href="({PREFIX}/static/css/site\.[0-9a-f]{{12}}\.css)"', html)
    assert href
    css = site.get(href.group(1))
    assert css.status == 200
    assert css.getheader("Content-Type", "").startswith("text/css")
    assert "immutable" in (css.getheader("Cache-Control") or "")


def test_login_redirects_stay_under_the_prefix(site: Site) -> None:
    response = site.get(f"{PREFIX}/live/")
    assert response.status == 302
    assert response.getheader("Location") == f"{PREFIX}/accounts/login/?next={PREFIX}/live/"


def test_api_routes_answer_under_the_prefix(site: Site) -> None:
    me = site.get(f"{PREFIX}/api/rig/me/")
    assert me.status == 401
    assert json.loads(me.body)["detail"]
    status = site.get(f"{PREFIX}/api/status")
    assert status.status == 200, status.body
    assert json.loads(status.body)["status"] == "ok"


def test_plain_http_is_sent_to_https_with_hsts(site: Site) -> None:
    response = site.get(f"{PREFIX}/accounts/login/", headers={"Host": HOST})
    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}{PREFIX}/accounts/login/"
    assert "max-age=31536000" in (
        site.get(f"{PREFIX}/accounts/login/").getheader("Strict-Transport-Security") or ""
    )


def test_the_rig_socket_is_routed_under_the_prefix(site: Site) -> None:
    # No token: the rig consumer itself answers 4401, which proves the path reached it.
    with connect(f"ws://127.0.0.1:{site.port}{PREFIX}/ws/rig/", open_timeout=10) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_viewer_sockets_are_routed_under_the_prefix(site: Site) -> None:
    # A logged-out browser from our own origin: the live consumer answers 4401.
    origin = f"https://{HOST}"
    with connect(f"ws://127.0.0.1:{site.port}{PREFIX}/ws/live/", origin=origin, open_timeout=10) as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


def test_the_compose_health_check_passes(site: Site) -> None:
    # The exact probe docker-compose.yml runs inside the web container, pointed at this port.
    probe = stack.compose()["services"]["web"]["healthcheck"]["test"]
    code = probe[probe.index("-c") + 1].replace(":8000", f":{site.port}")
    result = stack.run_python({**site.env, "DJANGO_ALLOWED_HOSTS": HOST}, "-c", code, timeout=30)
    assert result.returncode == 0, result.stderr
