"""Issue 3's proof with real processes: the agent CLI streams three demo laps into Daphne, the
server goes away for 30 s in the middle of a lap, comes back on the same port, and the trace
store ends up with every frame exactly once, in order, and the demo's exact lap times.

Revocation too: revoking the rig on the site closes the agent's socket and the agent exits 3.
"""

from __future__ import annotations

import secrets
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.test import Client

from apps.accounts.services import rig_create
from tests.faults.harness import Agent, Daphne, assert_whole, last_seq, record, session_outcome, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

OUTAGE_S = 30.0


def test_it_stores_every_frame_once_across_a_30_s_server_outage(driver, tmp_path: Path) -> None:
    _, token = rig_create(owner=driver, name="Rig")
    server = Daphne().start()
    car = Agent(server.url, token, tmp_path).start()
    try:
        # ~13 000 frames: past the out-lap, in the middle of lap 2
        wait_for(lambda: last_seq() > 13_000, 90, "lap 2 to be streaming")
        server.stop()
        time.sleep(OUTAGE_S)  # the outage itself; the car keeps driving into the spool
        held = last_seq()
        server.start()
        recover = wait_for(lambda: last_seq() > held, 60, "the agent to stream again")
        assert car.wait(120) == 0  # every lap sent, acked and the session ended
    finally:
        car.stop()
        server.stop()
    out = session_outcome("server stopped 30 s (issue 3)", car.demo_start, recover, outage_s=OUTAGE_S)
    assert_whole(out)
    record(out)


def test_it_disconnects_and_stops_a_revoked_rig(driver, tmp_path: Path) -> None:
    rig, token = rig_create(owner=driver, name="Rig")
    server = Daphne().start()
    car = Agent(server.url, token, tmp_path).start()
    try:
        wait_for(lambda: last_seq() > 100, 60, "the agent to stream")
        revoke_on_site(server.url, driver, rig.pk)
        # the socket closes 4403 on the revoke event; the agent says so and exits 3
        assert car.wait(15) == 3
    finally:
        car.stop()
        server.stop()
    errors = [x for x in car.lines if x.get("event") == "error"]
    assert errors and errors[-1]["exit_code"] == 3
    assert "run 'simcoach-agent pair' again" in errors[-1]["message"]


def revoke_on_site(base: str, user: object, rig_id: int) -> None:
    """Press *Revoke* on the My rigs page as the logged-in owner, over real HTTP."""
    client = Client()
    client.force_login(user)  # the session row is in the database Daphne serves
    session = client.cookies["sessionid"].value
    csrf = secrets.token_hex(16)  # any 32-character secret: the form must repeat the cookie
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf}).encode()
    req = urllib.request.Request(f"{base}/rigs/{rig_id}/revoke/", data=body, method="POST")
    req.add_header("Cookie", f"sessionid={session}; csrftoken={csrf}")
    req.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback test server
        assert resp.status == 200  # followed the redirect back to My rigs
