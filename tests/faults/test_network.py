"""Network faults between a real agent and real Daphne: a 30 s cut and a 30 s stall, at once.

Two rigs stream side by side, each through its own loopback proxy; one proxy drops every
socket (RST) and refuses new ones, the other keeps its sockets open but stops reading and
forwarding, which only the agent's keepalive ping can notice. Both run at the same time so the
suite pays for one 30 s outage, not two.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.accounts.services import rig_create
from tests.faults.harness import (
    Agent,
    Proxy,
    assert_whole,
    daphne,
    last_seq,
    record,
    session_outcome,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

OUTAGE_S = 30.0


def test_it_loses_nothing_across_a_dropped_and_a_stalled_socket(driver, tmp_path: Path) -> None:
    rigs = {kind: rig_create(owner=driver, name=kind) for kind in ("cut", "stall")}
    with daphne() as server:
        proxies = {kind: Proxy(server.port).start() for kind in rigs}
        cars = {k: Agent(proxies[k].url, tok, tmp_path / k).start() for k, (_, tok) in rigs.items()}
        try:
            for kind, (rig, _) in rigs.items():
                wait_for(lambda rig=rig: last_seq(rig_id=rig.pk) > 13_000, 120, f"{kind}: lap 2")
            proxies["cut"].cut()
            proxies["stall"].stall()
            time.sleep(OUTAGE_S)
            held = {k: last_seq(rig_id=rig.pk) for k, (rig, _) in rigs.items()}
            for p in proxies.values():
                p.heal()
            healed = time.monotonic()
            recover = {}
            for kind, (rig, _) in rigs.items():
                wait_for(lambda k=kind, rig=rig: last_seq(rig_id=rig.pk) > held[k], 60, f"{kind}: resume")
                recover[kind] = time.monotonic() - healed
            for car in cars.values():
                assert car.wait(120) == 0
        finally:
            for car in cars.values():
                car.stop()
            for p in proxies.values():
                p.close()
    for kind, (rig, _) in rigs.items():
        fault = f"network {'cut (socket dropped)' if kind == 'cut' else 'stalled (no close)'} 30 s"
        out = session_outcome(fault, cars[kind].demo_start, recover[kind], rig.pk, outage_s=OUTAGE_S)
        assert_whole(out)
        record(out)
