"""The deployment's HTTP chain for real: client -> an nginx-like proxy -> Daphne as the image
runs it (`python -m simcoach_site.serve`, TRUSTED_PROXY_COUNT=1, no --proxy-headers).

A client that writes its own X-Forwarded-For gains nothing, another client is not limited with
it, and Daphne's access log never shows a share token, an invite or a pairing code.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.cache import cache
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apps.accounts.apis import STARTS_PER_IP_PER_HOUR
from apps.accounts.views import LOGIN_FAILS_PER_USER_IP
from simcoach_site.lib.net import free_port, wait_for_port
from tests.servers import ROOT, server_env, stop

pytestmark = pytest.mark.django_db(transaction=True)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te"}


class ForwardingHandler(BaseHTTPRequestHandler):
    """What nginx's `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for` does: pass the
    request on with the peer's address appended to whatever X-Forwarded-For the client sent."""

    upstream_port = 0

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"x-forwarded-for"}}
        sent = self.headers.get_all("X-Forwarded-For") or []
        headers["X-Forwarded-For"] = ", ".join([*sent, self.client_address[0]])
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        upstream.request(self.command, self.path, body=body, headers=headers)
        resp = upstream.getresponse()
        payload = resp.read()
        self.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


class ProxyServer(ThreadingHTTPServer):
    request_queue_size = 256  # listen backlog: many clients may connect at one instant
    daemon_threads = True


@dataclass
class Chain:
    proxy_port: int
    daphne_port: int
    access_log: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        source: str = "127.0.0.1",
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.proxy_port, timeout=30, source_address=(source, 0)
        )
        conn.request(method, path, body=body.encode(), headers=headers or {})
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, text


@pytest.fixture(autouse=True)
def _clear_limits() -> None:
    cache.clear()  # the server's counters: the same Redis db (or nothing to clear on locmem)


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    daphne_port = free_port()
    log = tmp_path / "daphne-access.log"
    cmd = [sys.executable, "-m", "simcoach_site.serve", "-v", "1", "-b", "127.0.0.1", "-p", str(daphne_port)]
    env = server_env(TRUSTED_PROXY_COUNT="1", PYTHONUNBUFFERED="1")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*cmd, "simcoach_site.asgi:application"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
        handler = type("Handler", (ForwardingHandler,), {"upstream_port": daphne_port})
        proxy = ProxyServer(("127.0.0.1", 0), handler)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            wait_for_port("127.0.0.1", daphne_port, proc)
            yield Chain(proxy_port=proxy.server_address[1], daphne_port=daphne_port, access_log=log)
        finally:
            proxy.shutdown()
            proxy.server_close()
            stop(proc)


def device_start(chain: Chain, *, spoofed: str | None, source: str = "127.0.0.1") -> int:
    headers = {"Content-Type": "application/json", **({"X-Forwarded-For": spoofed} if spoofed else {})}
    status, _, _ = chain.request(
        "POST", "/api/rig/device/", source=source, body='{"client_name": "x"}', headers=headers
    )
    return status


def test_spoofed_first_hops_gain_nothing_through_the_proxy(chain: Chain) -> None:
    statuses = [device_start(chain, spoofed=f"10.66.{n}.1") for n in range(STARTS_PER_IP_PER_HOUR + 1)]
    assert statuses == [200] * STARTS_PER_IP_PER_HOUR + [429]
    # Another client (another loopback address) is not limited by that one's requests.
    assert device_start(chain, spoofed=None, source="127.0.0.2") == 200


def test_wrong_passwords_through_the_proxy_are_limited(chain: Chain, driver) -> None:  # type: ignore[no-untyped-def]
    statuses = [
        login(chain, "driver", f"guess-{n}", spoofed=f"10.77.{n}.1")
        for n in range(LOGIN_FAILS_PER_USER_IP + 1)
    ]
    assert statuses == [200] * LOGIN_FAILS_PER_USER_IP + [429]


def login(chain: Chain, username: str, password: str, *, spoofed: str) -> int:
    _, headers, page = chain.request("GET", "/accounts/login/")
    cookie = headers["set-cookie"].split(";", 1)[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    form = f"csrfmiddlewaretoken={token[1]}&username={username}&password={password}"
    post_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": cookie,
        "X-Forwarded-For": spoofed,
    }
    status, _, _ = chain.request("POST", "/accounts/login/", body=form, headers=post_headers)
    return status


def test_the_access_log_shows_no_tokens(chain: Chain) -> None:
    secrets = ["sc_share_Tok3nThatMustNotLeak", "sc_invite_InviteThatMustNotLeak", "WDJB-MJHT"]
    assert chain.request("GET", f"/s/{secrets[0]}/")[0] == 404
    assert chain.request("GET", f"/s/{secrets[0]}/live/")[0] == 404
    assert chain.request("GET", f"/accounts/signup/?invite={secrets[1]}")[0] in (200, 403)
    assert chain.request("GET", f"/pair/?code={secrets[2]}")[0] == 302
    # A socket for an unknown share link, straight to Daphne: refused or closed, logged either way.
    try:
        with connect(
            f"ws://127.0.0.1:{chain.daphne_port}/ws/share/{secrets[0]}/", origin="http://localhost"
        ) as ws:
            ws.recv(timeout=5)
    except (InvalidStatus, ConnectionClosed, TimeoutError):
        pass
    chain.request("GET", "/api/status")  # a last request, so the ones before are surely logged
    log = chain.access_log.read_text()
    assert log.count("[redacted]") >= 5, log
    assert '"GET /s/[redacted]/live/" 404' in log
    assert "/ws/share/[redacted]/" in log
    for secret in secrets:
        assert secret not in log
