"""Pairing a rig with a SimCoach account: the RFC 8628 device authorization flow, client side.

``pair`` asks the server for a device code, shows the user code and the page to type it on,
then polls the token endpoint until the logged-in user approves (or denies, or the code
expires). The rig token lands in config.json. ``rig_status`` checks a token with /api/rig/me/.
Only the stdlib (urllib) is used, so the agent keeps its two dependencies.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from . import __version__
from .config import Config
from .http import send

GRANT_TYPE: Final = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP: Final = 5.0  # seconds added to the interval on slow_down (RFC 8628 §3.5)


class PairingError(Exception):
    """Pairing or a token check failed; the text is meant for the user."""


class TokenRejected(PairingError):
    """The server does not accept the rig token (unknown or revoked)."""


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: float  # seconds
    interval: float  # seconds between polls


def api_url(server: str, path: str) -> str:
    return server.rstrip("/") + "/api/rig/" + path


def _request(url: str, body: dict[str, Any] | None = None, token: str | None = None) -> tuple[int, Any]:
    """POST JSON (or GET when body is None); return (status, parsed JSON or None)."""
    if not url.startswith(("http://", "https://")):
        raise PairingError(f"server URL must start with http:// or https://, got {url!r}")
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")  # noqa: S310 (scheme checked above)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    return send(req, PairingError)


def request_device_code(server: str, client_name: str) -> DeviceCode:
    """Step 1: ask the server for a device code and a user code."""
    status, body = _request(
        api_url(server, "device/"), {"client_name": client_name, "agent_version": __version__}
    )
    if status != 200 or not isinstance(body, dict):
        raise PairingError(f"the server refused to start pairing (HTTP {status}){_detail(body)}")
    try:
        return DeviceCode(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=str(body.get("verification_uri_complete") or body["verification_uri"]),
            expires_in=float(body.get("expires_in", 600)),
            interval=float(body.get("interval", 5)),
        )
    except (KeyError, TypeError, ValueError):
        raise PairingError(
            "the server's device-code answer is missing fields; is this a SimCoach server?"
        ) from None


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        text = body.get("error_description") or body.get("detail") or body.get("error")
        if text:
            return f": {text}"
    return ""


def poll_token(
    server: str,
    device: DeviceCode,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Step 2: poll until the user approves; return the token answer, or raise PairingError."""
    interval = device.interval
    deadline = clock() + device.expires_in
    body = {"grant_type": GRANT_TYPE, "device_code": device.device_code}
    while True:
        sleep(interval)
        status, answer = _request(api_url(server, "token/"), body)
        if status == 200 and isinstance(answer, dict) and answer.get("access_token"):
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
        elif error != "authorization_pending":
            raise PairingError(_token_failure(status, error, answer))
        if clock() > deadline:
            raise PairingError("the code expired before it was entered; run 'simcoach-agent pair' again")


def _token_failure(status: int, error: Any, answer: Any) -> str:
    if error == "expired_token":
        return "the code expired before it was entered; run 'simcoach-agent pair' again"
    if error == "access_denied":
        return "pairing was denied on the website; nothing was saved"
    return f"pairing failed (HTTP {status}){_detail(answer)}"


def pair(
    server: str,
    *,
    name: str | None = None,
    open_browser: bool = True,
    say: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Config:
    """Run the whole device flow and return the new config (the caller saves it)."""
    device = request_device_code(server, name or socket.gethostname())
    say(f"To pair this rig, open {device.verification_uri} and enter the code {device.user_code}")
    if open_browser:
        _open(device.verification_uri_complete)
    say("Waiting for approval on the website (Ctrl-C to give up)...")
    answer = poll_token(server, device, sleep=sleep)
    if str(answer.get("token_type", "Bearer")).lower() != "bearer":
        raise PairingError(f"unexpected token type {answer.get('token_type')!r}")
    return Config(
        server=server.rstrip("/"),
        token=str(answer["access_token"]),
        rig_id=answer.get("rig_id"),
        rig_name=str(answer.get("rig_name") or name or ""),
    )


def _open(url: str) -> None:
    try:
        webbrowser.open(url, new=2)
    except webbrowser.Error:
        pass  # no browser (a headless rig): the printed URL is enough


def rig_status(server: str, token: str) -> dict[str, Any]:
    """GET /api/rig/me/: {rig_id, rig_name, user}; TokenRejected on 401/403."""
    status, body = _request(api_url(server, "me/"), token=token)
    if status in (401, 403):
        raise TokenRejected(
            "the server does not accept this rig's token (revoked?): run 'simcoach-agent pair' again"
        )
    if status != 200 or not isinstance(body, dict):
        raise PairingError(f"status check failed (HTTP {status}){_detail(body)}")
    return body
