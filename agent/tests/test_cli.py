"""The real command line, run as a subprocess (python -m simcoach_agent)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pairserver import GRANT, PairServer
from rigserver import RigServer

AGENT_DIR = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def agent(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simcoach_agent", *args],
        env=env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "SIMCOACH_AGENT_HOME": str(home), "PYTHONPATH": str(AGENT_DIR)}


def write_config(home: Path, server: str, token: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.json").write_text(
        json.dumps({"server": server, "token": token, "rig_id": 12, "rig_name": "Cockpit"})
    )


@pytest.fixture
def rig_server() -> Iterator[RigServer]:
    """The fake uplink server on its own event loop thread, so a subprocess can reach it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(RigServer().start(), loop).result(10)
    yield server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_it_reports_an_unpaired_rig(home: Path) -> None:
    result = agent(home, "status")
    assert result.returncode == 3
    assert "not paired" in result.stdout


@pytest.mark.parametrize("order", [("--json", "status"), ("status", "--json")])
def test_it_prints_status_as_json(home: Path, order: tuple[str, str]) -> None:
    result = agent(home, *order)
    status = json.loads(result.stdout)
    assert status["event"] == "status" and status["paired"] is False and status["spool_frames"] == 0


def test_it_checks_the_token_with_the_server(home: Path) -> None:
    with PairServer([]) as srv:
        write_config(home, srv.url, "sc_rig_new")
        ok = agent(home, "--json", "status")
        write_config(home, srv.url, "sc_rig_revoked")
        bad = agent(home, "status")
    assert ok.returncode == 0
    facts = json.loads(ok.stdout)
    assert (facts["auth"], facts["user"], facts["rig_name"]) == ("ok", "driver", "Cockpit")
    assert bad.returncode == 3 and "REJECTED" in bad.stdout


def test_it_pairs_and_saves_a_private_config(home: Path) -> None:
    with PairServer([(400, {"error": "authorization_pending"}), (200, GRANT)]) as srv:
        result = agent(home, "pair", "--server", srv.url, "--name", "Cockpit", "--no-browser")
    assert result.returncode == 0, result.stderr
    assert "WDJB-MJHT" in result.stdout and "http://example.invalid/pair/" in result.stdout
    saved = json.loads((home / "config.json").read_text())
    assert saved == {"server": srv.url, "token": "sc_rig_new", "rig_id": 12, "rig_name": "Cockpit"}
    if sys.platform != "win32":
        assert stat.S_IMODE((home / "config.json").stat().st_mode) == 0o600


def test_it_unpairs(home: Path) -> None:
    write_config(home, "http://x", "sc_rig_new")
    assert agent(home, "unpair").returncode == 0
    assert not (home / "config.json").exists()


def test_it_reports_errors_in_one_line(home: Path) -> None:
    result = agent(home, "replay", str(home / "missing.rec"), "--server", "http://x", "--token", "t")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_stops_run_on_a_rejected_token(home: Path, rig_server: RigServer) -> None:
    result = agent(home, "run", "--game", "demo", "--server", rig_server.url, "--token", "sc_rig_wrong")
    assert result.returncode == 3
    assert "simcoach-agent pair" in result.stderr and "Traceback" not in result.stderr


def test_it_streams_json_status_and_stops_cleanly_on_sigterm(home: Path, rig_server: RigServer) -> None:
    args = ["--json", "run", "--game", "demo", "--server", rig_server.url, "--token", "sc_rig_good"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "simcoach_agent", *args], env=env(home), stdout=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while sum(len(v) for v in rig_server.store.arrivals.values()) < 120 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    events = [json.loads(line) for line in out.splitlines()]
    assert {"info", "status"} <= {e["event"] for e in events}
    (uid,) = rig_server.store.arrivals
    assert rig_server.store.arrivals[uid][:120] == list(range(120))
    assert rig_server.store.hellos[0]["track"] and rig_server.store.hellos[0]["game"] == "demo"


def test_it_refuses_to_run_a_second_agent_on_the_same_home(home: Path, rig_server: RigServer) -> None:
    from simcoach_agent.spool import SpoolLock

    with SpoolLock(home / "spool.sqlite3"):  # the first agent
        result = agent(home, "run", "--game", "demo", "--server", rig_server.url, "--token", "sc_rig_good")
    assert result.returncode == 1
    assert "another simcoach-agent is already running" in result.stderr and "Traceback" not in result.stderr
    assert rig_server.store.connections == 0


def _start_run(home: Path, server: RigServer, *extra: str) -> subprocess.Popen[str]:
    args = ["--json", "run", "--game", "demo", "--server", server.url, "--token", "sc_rig_good", *extra]
    return subprocess.Popen(
        [sys.executable, "-m", "simcoach_agent", *args], env=env(home), stdout=subprocess.PIPE, text=True
    )


def _wait_arrivals(server: RigServer, frames: int) -> None:
    deadline = time.monotonic() + 30  # only stops a hung test
    while sum(len(v) for v in server.store.arrivals.values()) < frames:
        assert time.monotonic() < deadline, "the agent never streamed"
        time.sleep(0.05)


def _spooled(home: Path) -> dict[str, tuple[bool, int]]:
    from simcoach_agent.spool import Spool

    with Spool(home / "spool.sqlite3") as spool:
        return {s.uid: (s.ended, spool.size(s.uid)) for s in spool.sessions()}


def test_sigint_drains_the_spool_ends_the_session_and_exits_0(home: Path, rig_server: RigServer) -> None:
    proc = _start_run(home, rig_server)
    _wait_arrivals(rig_server, 120)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    (uid,) = rig_server.store.arrivals
    assert rig_server.store.ended == [uid]  # `end` was sent for the session it streamed
    held = rig_server.store.last_seq(uid)
    assert rig_server.store.arrivals[uid] == list(range(held + 1))  # every frame read, in order
    assert _spooled(home) == {}  # drained: nothing waits for a next run
    assert any("stopping" in json.loads(line).get("message", "") for line in out.splitlines())


def test_sigint_with_acks_stuck_ends_the_session_and_keeps_the_rest_spooled(
    home: Path, rig_server: RigServer
) -> None:
    rig_server.behaviour.ack_upto = 59  # the trace store stalls after the first second
    proc = _start_run(home, rig_server, "--drain-timeout", "0.5")
    _wait_arrivals(rig_server, 120)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    (uid,) = rig_server.store.arrivals
    assert rig_server.store.ended == [uid]  # ended on the server although not drained
    spooled = _spooled(home)
    ended, left = spooled[uid]
    # Ended in the spool (the next run must not resume it) with every unacked frame kept.
    assert ended and left > 60
    from simcoach_agent.spool import Spool

    with Spool(home / "spool.sqlite3") as spool:
        assert [seq for seq, _ in spool.unacked(uid, -1, 100_000)][0] == 60


def test_the_next_run_sends_what_a_stopped_run_left_as_a_new_session(home: Path) -> None:
    from rigserver import Behaviour, Store

    from simcoach_agent.spool import Spool

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    on_loop = lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result(10)  # noqa: E731
    store, behaviour = Store(), Behaviour()
    server = on_loop(RigServer(store, behaviour).start())
    first = _start_run(home, server, "--drain-timeout", "0.5")
    _wait_arrivals(server, 120)
    on_loop(server.stop())  # the server goes away: what the agent reads now is never sent
    (old,) = store.arrivals
    deadline = time.monotonic() + 30
    while (_spooled(home)[old][1]) < 120:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=30)
    assert first.returncode == 0
    with Spool(home / "spool.sqlite3") as spool:
        left = spool.session_get(old)
    assert left is not None and left.ended  # ended in the spool: never resumed by the next run
    read = left.next_seq  # every frame the first run read
    # The server ended the old session meanwhile (its sweep, or the `end` of a shutdown).
    behaviour.ended.add(old)
    server = on_loop(RigServer(store, behaviour, port=server.port).start())
    second = _start_run(home, server)
    deadline = time.monotonic() + 30
    while old in _spooled(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    second.send_signal(signal.SIGINT)
    out, _ = second.communicate(timeout=30)
    on_loop(server.stop())
    loop.call_soon_threadsafe(loop.stop)
    assert second.returncode == 0, out
    moved = next(uid for uid in store.arrivals if uid != old)  # sent first: the oldest
    # What the server held of the old session and the moved rest add up to what was read.
    held = store.last_seq(old) + 1
    assert sorted(store.frames[moved]) == list(range(read - held))
    assert _spooled(home) == {}


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_bad_drain_timeout_is_a_usage_error(home: Path, value: str) -> None:
    result = agent(home, "run", "--game", "demo", "--drain-timeout", value)
    assert result.returncode == 2
    assert "--drain-timeout" in result.stderr and "Traceback" not in result.stderr
