"""Real processes for the no-loss proofs: Daphne we can kill, the agent CLI, a TCP proxy we can
cut or stall, and the checks every fault test makes (exactly once, in order, lap times intact).

Speed: the demo car runs its simulated clock DEMO_SPEED times faster than the wall (the agent's
``run --game demo --speed``), so three laps of Spa (~7 min of driving) stream in well under a
minute while every outage keeps its real length (30 s, 60 s) on the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simcoach_site.lib.net import free_port, wait_for_port
from tests.servers import ROOT, agent, server_env

DEMO_SPEED = 10.0  # simulated seconds per wall second
DEMO_LAPS = 3
DEMO_SEED = 7
RESULTS = ROOT / "bench" / "reliability.json"
# bench/reliability.json is tracked: a test run rewrites it only when asked (a measuring run),
# so an ordinary run leaves the tree clean.
RECORD_ENV = "SIMCOACH_RECORD_RELIABILITY"


# ---- Daphne as a process we can stop, kill and start again on the same port


class Daphne:
    """One Daphne serving the test database; ``kill``/``start`` keep the port (same URL)."""

    def __init__(self, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Daphne:
        cmd = [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(self.port)]
        cmd.append("simcoach_site.asgi:application")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env(**self.env))
        wait_for_port("127.0.0.1", self.port, self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


@contextlib.contextmanager
def daphne(**env: str) -> Iterator[Daphne]:
    server = Daphne(**env).start()
    try:
        yield server
    finally:
        server.stop()


# ---- the agent CLI streaming the demo car


@dataclass
class Agent:
    """The real agent (`python -m simcoach_agent run --game demo`) with its own home dir."""

    server: str
    token: str
    home: Path
    # the car leaves the pits 3 s from now: the agent is up by then, so frame 0 is read
    demo_start: float = field(default_factory=lambda: time.time() + 3.0)
    proc: subprocess.Popen[str] | None = None
    lines: list[dict[str, Any]] = field(default_factory=list)

    def start(self) -> Agent:
        args = ["--json", "run", "--game", "demo", "--seed", str(DEMO_SEED), "--laps", str(DEMO_LAPS)]
        args += ["--speed", str(DEMO_SPEED), "--demo-start", repr(self.demo_start)]
        # reconnect within a few seconds of the network coming back; notice a stall in ~4 s
        args += ["--backoff-max", "2", "--ping-interval", "2"]
        args += ["--server", self.server, "--token", self.token]
        self.proc = agent(args, self.home, stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(raw))

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def spool(self) -> Path:
        return self.home / "spool.sqlite3"

    def spool_frames(self) -> int:
        """Unacked frames in the agent's spool, read beside the running agent (WAL readers
        never block its writer)."""
        if not self.spool.exists():
            return 0
        db = sqlite3.connect(f"file:{self.spool}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT frames FROM totals").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # created but not yet initialised
        finally:
            db.close()


# ---- a TCP proxy between agent and Daphne that can drop or stall every connection


class Proxy:
    """Forwards 127.0.0.1:port to the target. ``cut()`` closes every connection and refuses
    new ones (a dropped link); ``stall()`` keeps sockets open but forwards nothing and reads
    nothing (a dead NAT entry, a frozen Wi-Fi); ``heal()`` forwards again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "open"  # open, cut, stall
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()

    def start(self) -> Proxy:
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._call(self._listen())
        return self

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self) -> None:
        self._flowing.set()
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            writer.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_w}
        await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer), return_exceptions=True)
        for w in (writer, up_w):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while True:
            await self._flowing.wait()  # stalled: neither read nor write, keep the socket
            data = await src.read(65536)
            if not data:
                break
            await self._flowing.wait()
            dst.write(data)
            await dst.drain()
        dst.close()

    def cut(self) -> None:
        async def go() -> None:
            self.mode = "cut"
            for w in list(self._writers):
                w.transport.abort()  # RST, like a link that vanished

        self._call(go())

    def stall(self) -> None:
        async def go() -> None:
            self.mode = "stall"
            self._flowing.clear()

        self._call(go())

    def heal(self) -> None:
        async def go() -> None:
            self.mode = "open"
            self._flowing.set()

        self._call(go())

    def close(self) -> None:
        async def go() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._writers):
                w.transport.abort()

        self._call(go())
        self._loop.call_soon_threadsafe(self._loop.stop)


# ---- what the server holds, and the checks


def wait_for(cond: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> float:
    """Poll ``cond`` until true; return the seconds it took, or fail saying what never happened."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - start


def demo_truth() -> tuple[list[float], list[int]]:
    """Every frame time (ms) the demo car produces for the test's laps, and its lap times (ms)."""
    from simcoach_agent.sources.demo import DemoCar

    car = DemoCar(seed=DEMO_SEED, laps=DEMO_LAPS, realtime=False, start_t=0.0)
    t_ms = [round(f["t"] * 1000) for f in car.frames()]
    return t_ms, [round(s * 1000) for s in car.lap_times_s()]


def stored_seqs_influx(session_id: int) -> list[int]:
    from django.conf import settings

    from apps.traces.lib.influx import InfluxClient

    client = InfluxClient(url=settings.INFLUX_URL, database=settings.INFLUX_DB)
    series = client.query(f"SELECT seq FROM telemetry WHERE \"session\" = '{int(session_id)}'")  # noqa: S608
    return [int(row[1]) for s in series for row in s["values"]]


@dataclass
class Outcome:
    """One fault's figures, as they go into bench/reliability.json."""

    fault: str
    frames_sent: int  # frames the agent produced (seq numbers handed out)
    frames_stored: int
    duplicates: int
    sessions: int
    laps: list[int]  # stored lap times, ms
    recover_s: float | None  # fault over -> the server stores new frames again
    extra: dict[str, Any] = field(default_factory=dict)


def session_outcome(
    fault: str, demo_start: float, recover_s: float | None, rig_id: int | None = None, **extra: Any
) -> Outcome:
    """Read a rig's one streamed session back from the trace store, frame by frame."""
    from apps.sessions.models import Lap, Session
    from apps.traces.tracestore import get_trace_store

    mine = Session.objects.filter(rig_id=rig_id) if rig_id else Session.objects.all()
    (session,) = mine
    trace = get_trace_store().read(session_id=session.pk, t0=0, t1=4e9, channels=["speed"])
    t_ms = [round(x * 1000) for x in trace["t"]]
    laps = list(Lap.objects.filter(session=session).order_by("number").values_list("time_ms", flat=True))
    return Outcome(
        fault=fault,
        frames_sent=session.last_seq + 1,
        frames_stored=len(t_ms),
        duplicates=len(t_ms) - len(set(t_ms)),
        sessions=mine.count(),
        laps=[int(x) for x in laps],
        recover_s=None if recover_s is None else round(recover_s, 1),
        extra={"t_ms": t_ms, "offset_ms": round(demo_start * 1000), **extra},
    )


def assert_whole(out: Outcome, *, every_frame: bool = True) -> None:
    """Exactly once, in order, lap times intact; ``every_frame`` when no frame was skipped at
    the source (an agent killed for a while misses what the car did meanwhile, like a game)."""
    truth_t, truth_laps = demo_truth()
    t_ms = [t - out.extra["offset_ms"] for t in out.extra.pop("t_ms")]
    assert out.duplicates == 0
    assert all(a < b for a, b in zip(t_ms, t_ms[1:], strict=False)), "trace out of order"
    assert out.frames_stored == out.frames_sent, "a sequence number without its frame"
    if every_frame:
        assert _near(t_ms, truth_t), "the trace is not the demo car's frames, each once"
    else:
        truth = set(truth_t)
        assert all(t in truth or t - 1 in truth or t + 1 in truth for t in t_ms)
    assert out.sessions == 1
    assert len(out.laps) == DEMO_LAPS
    assert all(abs(a - b) <= 1 for a, b in zip(out.laps, truth_laps, strict=True)), (out.laps, truth_laps)


def _near(got: list[int], want: list[int]) -> bool:
    # times travel quantised to whole milliseconds: allow the rounding of the start offset
    return len(got) == len(want) and all(abs(a - b) <= 1 for a, b in zip(got, want, strict=True))


def record(out: Outcome) -> None:
    """Merge one fault's figures into bench/reliability.json (bench/reliability.py renders it),
    when the environment sets SIMCOACH_RECORD_RELIABILITY=1."""
    if os.environ.get(RECORD_ENV) != "1":
        return
    row = asdict(out)
    row.pop("extra")
    row.update({k: v for k, v in out.extra.items() if k not in ("t_ms", "offset_ms")})
    row["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with RESULTS.open("a+") as f:
        # Fault tests on parallel pytest workers may finish together: one merge at a time.
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        data: dict[str, Any] = json.loads(f.read() or "{}")
        data[out.fault] = row
        f.truncate(0)  # "a+" writes at the end, which is now the start
        f.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def last_seq(**where: Any) -> int:
    """The highest sequence the server stored (-1: no session yet), e.g. ``last_seq(rig_id=3)``."""
    from apps.sessions.models import Session

    row = Session.objects.filter(**where).values_list("last_seq", flat=True).first()
    return -1 if row is None else int(row)


# ---- a live viewer: the owner's browser socket, reconnecting the way static/js/live.js does


class Viewer:
    """Watches ``/ws/live/`` as the logged-in owner; counts frames, reconnects when closed."""

    def __init__(self, base: str, user: object) -> None:
        from django.test import Client

        client = Client()
        client.force_login(user)  # a session row in the database the server reads
        self.cookie = f"sessionid={client.cookies['sessionid'].value}"
        self.base = base
        self.frames: list[float] = []  # monotonic arrival time of each frame
        self.stamps: list[float] = []  # and its game time, which tells a repeated frame
        self.connects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> Viewer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def frames_between(self, t0: float, t1: float) -> int:
        return sum(1 for t in self.frames if t0 <= t < t1)

    async def _run(self) -> None:
        import websockets

        url = self.base.replace("http", "ws", 1) + "/ws/live/"
        headers = {"Cookie": self.cookie, "Origin": self.base}
        while not self._stop.is_set():
            try:
                async with websockets.connect(url, additional_headers=headers, open_timeout=5) as ws:
                    self.connects += 1
                    await self._listen(ws)
            except (OSError, TimeoutError, websockets.WebSocketException):
                await asyncio.sleep(0.5)  # live.js waits, then reconnects

    async def _listen(self, ws: Any) -> None:
        while not self._stop.is_set():
            try:
                raw = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            msg = json.loads(raw)
            if msg.get("type") == "frame":
                self.frames.append(time.monotonic())
                self.stamps.append(msg["frame"]["t"])
