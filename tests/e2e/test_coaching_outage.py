"""Issue 23's lateness with real processes: the agent CLI streams the demo car into Daphne, the
server goes away for a while, and when it comes back it coaches the replayed backlog. The agent
prints none of that coaching (it is about frames the car left long ago) and counts it.

The server's own freshness check is turned off here (COACH_FRESH_S huge), so everything it
coaches reaches the agent and only the agent's check stands between the backlog and the driver
(the server's check has its consumer test, apps/telemetry/tests/test_coaching_discipline.py).
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.accounts.services import rig_create
from tests.faults.harness import DEMO_LAPS, DEMO_SEED, DEMO_SPEED, Agent, Daphne, last_seq, wait_for
from tests.servers import agent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

OUTAGE_S = 10.0  # wall seconds: 100 s of the demo's driving go into the spool
LATE_AFTER = 2.0 * DEMO_SPEED  # the agent's limit in frame time: 2 s of the wall, as when live


@dataclass
class LateAgent(Agent):
    """The harness's agent, with the lateness limit scaled to the demo's fast clock."""

    def start(self) -> LateAgent:
        args = ["--json", "run", "--game", "demo", "--seed", str(DEMO_SEED), "--laps", str(DEMO_LAPS)]
        args += ["--speed", str(DEMO_SPEED), "--demo-start", repr(self.demo_start)]
        args += ["--backoff-max", "2", "--ping-interval", "2", "--late-after", str(LATE_AFTER)]
        args += ["--server", self.server, "--token", self.token]
        self.proc = agent(args, self.home, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def frame_t(self, wall: float) -> float:
        """The demo's frame time at a wall-clock time (its clock runs DEMO_SPEED times faster)."""
        return self.demo_start + (wall - self.demo_start) * DEMO_SPEED

    def late_coaching(self) -> int:
        return max((x.get("late_coaching", 0) for x in self.lines if x.get("event") == "status"), default=0)


def test_the_agent_says_none_of_the_coaching_of_a_replayed_backlog(driver, tmp_path: Path) -> None:
    _, token = rig_create(owner=driver, name="Rig")
    server = Daphne(COACH_FRESH_S="1000000").start()
    car = LateAgent(server.url, token, tmp_path).start()
    try:
        wait_for(lambda: last_seq() > 3_000, 90, "the car to be streaming")
        server.stop()
        down = time.time()
        time.sleep(OUTAGE_S)  # the outage itself; the car keeps driving into the spool
        held = last_seq()
        server.start()
        up = time.time()
        wait_for(lambda: last_seq() > held + 6_000, 60, "the backlog to be replayed")
        wait_for(lambda: car.late_coaching() > 0, 30, "the agent to count late coaching")
    finally:
        car.stop()
        server.stop()
    said = [x for x in car.lines if x.get("event") == "coaching"]
    backlog = (car.frame_t(down), car.frame_t(up) - LATE_AFTER)
    stale = [x for x in said if backlog[0] <= x["t"] <= backlog[1]]
    assert not stale, stale
    assert all({"t", "lap"} <= x.keys() for x in said)  # the server says when and for which lap
