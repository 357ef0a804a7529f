"""The device-flow client against a scripted HTTP server."""

from __future__ import annotations

import pytest
from pairserver import GRANT, PairServer

from simcoach_agent import __version__
from simcoach_agent.config import Config
from simcoach_agent.pairing import (
    GRANT_TYPE,
    PairingError,
    TokenRejected,
    pair,
    poll_token,
    request_device_code,
    rig_status,
)

PENDING = (400, {"error": "authorization_pending"})


def run_pair(server: PairServer | str, sleeps: list[float]) -> Config:
    url = server if isinstance(server, str) else server.url
    return pair(url, name="Cockpit", open_browser=False, say=lambda _: None, sleep=sleeps.append)


def test_it_polls_through_pending_and_slow_down_to_a_token() -> None:
    sleeps: list[float] = []
    with PairServer([PENDING, (400, {"error": "slow_down"}), PENDING, (200, GRANT)]) as srv:
        cfg = run_pair(srv, sleeps)
    assert (cfg.server, cfg.token, cfg.rig_id, cfg.rig_name) == (srv.url, "sc_rig_new", 12, "Cockpit")
    assert sleeps == [0, 0, 5, 5]  # interval 0 from the server, +5 s after slow_down
    method, path, body, _ = srv.requests[0]
    assert (method, path) == ("POST", "/api/rig/device/")
    assert body == {"client_name": "Cockpit", "agent_version": __version__}
    assert srv.requests[1][2] == {"grant_type": GRANT_TYPE, "device_code": "dev-123"}
    assert len(srv.requests) == 5


def test_it_keeps_the_server_path_prefix() -> None:
    with PairServer([(200, GRANT)], prefix="/ai-sim-coach") as srv:
        cfg = run_pair(srv, [])
    assert [r[1] for r in srv.requests] == ["/ai-sim-coach/api/rig/device/", "/ai-sim-coach/api/rig/token/"]
    assert cfg.server.endswith("/ai-sim-coach")


@pytest.mark.parametrize(
    ("error", "words"),
    [("expired_token", "expired"), ("access_denied", "denied"), ("invalid_grant", "pairing failed")],
)
def test_it_stops_with_a_clear_message_on_each_error(error: str, words: str) -> None:
    with PairServer([PENDING, (400, {"error": error})]) as srv, pytest.raises(PairingError, match=words):
        run_pair(srv, [])
    assert len(srv.requests) == 3  # no polling after a final error


def test_it_gives_up_when_the_code_expires_locally() -> None:
    ticks = iter(range(0, 10_000, 400))
    with PairServer([PENDING] * 5) as srv:
        device = request_device_code(srv.url, "x")
        with pytest.raises(PairingError, match="expired"):
            poll_token(srv.url, device, sleep=lambda _: None, clock=lambda: next(ticks))


def test_it_says_when_the_server_cannot_be_reached() -> None:
    with PairServer([]) as srv:
        url = srv.url
    with pytest.raises(PairingError, match="cannot reach"):
        run_pair(url, [])


def test_it_checks_a_token_with_me() -> None:
    with PairServer([]) as srv:
        me = rig_status(srv.url, "sc_rig_new")
        with pytest.raises(TokenRejected, match="pair"):
            rig_status(srv.url, "sc_rig_revoked")
    assert me == {"rig_id": 12, "rig_name": "Cockpit", "user": "driver"}
    assert srv.requests[0][3] == "Bearer sc_rig_new"
