"""A tiny scripted HTTP server for the rig pairing endpoints (device code, token, me)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEVICE = {
    "device_code": "dev-123",
    "user_code": "WDJB-MJHT",
    "verification_uri": "http://example.invalid/pair/",
    "verification_uri_complete": "http://example.invalid/pair/?code=WDJB-MJHT",
    "expires_in": 600,
    "interval": 0,
}
GRANT = {"access_token": "sc_rig_new", "token_type": "Bearer", "rig_id": 12, "rig_name": "Cockpit"}


class PairServer:
    """Answers /api/rig/token/ from a script of (status, body); records every request."""

    def __init__(self, token_script: list[tuple[int, dict[str, Any]]], *, prefix: str = "") -> None:
        self.script = list(token_script)
        self.requests: list[tuple[str, str, Any, str]] = []  # (method, path, json, authorization)
        self.valid_tokens = {"sc_rig_new"}
        self.prefix = prefix
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.prefix}"

    def __enter__(self) -> PairServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, method: str, path: str, body: Any, auth: str) -> tuple[int, Any]:
        self.requests.append((method, path, body, auth))
        path = path.removeprefix(self.prefix)
        if method == "POST" and path == "/api/rig/device/":
            return 200, DEVICE
        if method == "POST" and path == "/api/rig/token/":
            return self.script.pop(0) if self.script else (400, {"error": "expired_token"})
        if method == "GET" and path == "/api/rig/me/":
            if auth.removeprefix("Bearer ") in self.valid_tokens:
                return 200, {"rig_id": 12, "rig_name": "Cockpit", "user": "driver"}
            return 401, {"detail": "invalid token"}
        return 404, {"detail": "not found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                self._reply(json.loads(self.rfile.read(length) or b"null"))

            def do_GET(self) -> None:
                self._reply(None)

            def _reply(self, body: Any) -> None:
                status, answer = owner.answer(
                    self.command, self.path, body, self.headers.get("Authorization", "")
                )
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
