"""How long the agent takes to stop on Ctrl-C (SIGINT), and when its `end` reaches the server.

The real CLI streams the demo car into the in-process test server (agent/tests/rigserver.py);
after a few seconds it gets SIGINT. Two cases: a healthy server (the spool drains, then `end`),
and one whose trace store stopped acking (the drain gives up after --drain-timeout, `end` goes
anyway, the rest stays spooled). Prints one JSON line per run.

Run: .venv/bin/python bench/shutdown.py --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "agent"), str(ROOT / "agent" / "tests")]

from rigserver import Behaviour, RigServer  # noqa: E402

from simcoach_agent.spool import Spool  # noqa: E402


def one_run(loop: asyncio.AbstractEventLoop, stuck: bool, drain: float) -> dict[str, object]:
    behaviour = Behaviour(ack_upto=59 if stuck else None)
    server = asyncio.run_coroutine_threadsafe(RigServer(behaviour=behaviour).start(), loop).result(10)
    ended_at: list[float] = []
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SIMCOACH_AGENT_HOME": home, "PYTHONPATH": str(ROOT / "agent")}
        args = ["--quiet", "run", "--game", "demo", "--server", server.url, "--token", "sc_rig_good"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "simcoach_agent", *args, "--drain-timeout", str(drain)], env=env
        )
        while sum(len(v) for v in server.store.arrivals.values()) < 180:
            time.sleep(0.02)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        while proc.poll() is None:
            if server.store.ended and not ended_at:
                ended_at.append(time.monotonic())
            time.sleep(0.005)
        exited = time.monotonic()
        if server.store.ended and not ended_at:
            ended_at.append(exited)
        with Spool(Path(home) / "spool.sqlite3") as spool:
            left = spool.size()
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    return {
        "case": "acks stuck" if stuck else "healthy",
        "drain_timeout_s": drain,
        "exit_code": proc.returncode,
        "sigint_to_end_ms": round((ended_at[0] - sent) * 1000) if ended_at else None,
        "sigint_to_exit_ms": round((exited - sent) * 1000),
        "frames_left_in_spool": left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drain-timeout", type=float, default=5.0)
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    print(json.dumps({"load_avg": os.getloadavg()}))
    for stuck in (False, True):
        for _ in range(args.runs):
            print(json.dumps(one_run(loop, stuck, args.drain_timeout)), flush=True)


if __name__ == "__main__":
    main()
