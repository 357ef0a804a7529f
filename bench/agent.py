"""Agent uplink benchmark: bytes on the wire per second, and the agent's CPU and memory.

1. Encoding: the demo car's 60 Hz frames packed by wire.encode_batch at batch intervals of
   50/100/200 ms, against one JSON text message per frame. Counted: WebSocket payload +
   client frame header (2-4 bytes + 4 mask bytes); also shown with TCP/IPv4 headers (52 bytes
   per batch, assuming one segment each; TLS adds ~22-29 bytes per record on top).
2. Streaming: the real CLI (`python -m simcoach_agent run --game demo`) streams to an
   in-process test server (agent/tests/rigserver.py) for --seconds; CPU % of one core and
   RSS are read from /proc (Linux), bytes/s from the agent's own --json status lines. The CPU
   is also split by thread: the event loop (uplink: encoding, socket) and the rest (the
   producer: game reader, quantising, spool). The 1-minute load average is printed with each
   number: on a shared machine the same run costs more CPU under load.

   With ``--replay FILE`` the streaming run replays a game recording (``.rec.gz``) or an
   iRacing ``.ibt`` (its rows have the live rows' layout, so it is turned into a recording of
   the live sim first) at real time instead of driving the demo car: the game's own decoder
   is then part of the measured cost.

Usage: .venv/bin/python bench/agent.py [--seconds 60] [--encode-seconds 300] [--replay FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "agent"), str(ROOT / "agent" / "tests")]

from rigserver import RigServer  # noqa: E402

from simcoach_agent import wire  # noqa: E402
from simcoach_agent.sources.demo import DemoCar  # noqa: E402
from simcoach_agent.telemetry import clean_frame  # noqa: E402

HZ = 60
TCP_IP_HEADERS = 52  # IPv4 20 + TCP 20 + timestamps option 12


def ws_overhead(payload: int) -> int:
    """Client-to-server frame header: 2 bytes, +2 or +8 for the length, +4 mask."""
    extra = 0 if payload < 126 else 2 if payload < 65536 else 8
    return 2 + extra + 4


def demo_frames(seconds: float) -> list[dict[str, float]]:
    car = DemoCar(seed=0, start_t=1_700_000_000.0, realtime=False)
    out = []
    for frame in car.frames():
        cleaned = clean_frame(frame)
        if cleaned is not None:
            out.append(cleaned)
        if len(out) >= seconds * HZ:
            return out
    return out


def encoding(seconds: float) -> list[dict[str, object]]:
    frames = demo_frames(seconds)
    rows = []
    for interval_ms in (50, 100, 200):
        k = round(HZ * interval_ms / 1000)
        sizes = [len(wire.encode_batch(i, frames[i : i + k])) for i in range(0, len(frames), k)]
        rows.append(_row(f"msgpack batch {interval_ms} ms ({k} frames)", sizes, seconds))
    as_json = [len(json.dumps(f, separators=(",", ":")).encode()) for f in frames]
    rows.append(_row("JSON, one message per frame", as_json, seconds))
    return rows


def _row(name: str, sizes: list[int], seconds: float) -> dict[str, object]:
    ws = sum(s + ws_overhead(s) for s in sizes)
    return {
        "encoding": name,
        "payload_B_per_s": round(sum(sizes) / seconds),
        "ws_B_per_s": round(ws / seconds),
        "ws_tcp_B_per_s": round((ws + TCP_IP_HEADERS * len(sizes)) / seconds),
        "mean_message_B": round(sum(sizes) / len(sizes), 1),
    }


def _cpu_seconds(pid: int, tid: int | None = None) -> float:
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def _rss_mb(pid: int, key: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def replay_file(path: Path, workdir: Path) -> Path:
    """A recording to replay: the file itself, or an `.ibt` written out as a live recording."""
    if path.suffix != ".ibt":
        return path
    from simcoach_agent.sources.iracing import polls_from_ibt
    from simcoach_agent.sources.recording import write_recording

    out = workdir / (path.stem + ".rec.gz")
    write_recording(out, "iracing", polls_from_ibt(path), decoder="iracing")
    return out


def streaming(seconds: float, batch_interval: float, replay: Path | None = None) -> dict[str, object]:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = asyncio.run_coroutine_threadsafe(RigServer().start(), loop).result(10)
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SIMCOACH_AGENT_HOME": home, "PYTHONPATH": str(ROOT / "agent")}
        what = (
            ["run", "--game", "demo"] if replay is None else ["replay", str(replay_file(replay, Path(home)))]
        )
        args = ["--json", *what, "--server", server.url, "--token", "sc_rig_good"]
        args += ["--batch-interval", str(batch_interval)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "simcoach_agent", *args], env=env, stdout=subprocess.PIPE, text=True
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
        reader.start()
        time.sleep(3.0)  # warm-up: imports, demo lap planning, first connection
        cpu0, t0, skip = _cpu_seconds(proc.pid), time.monotonic(), len(lines)
        loop0, load0 = _cpu_seconds(proc.pid, proc.pid), _load()  # the main thread runs the event loop
        time.sleep(seconds)
        cpu1, t1 = _cpu_seconds(proc.pid), time.monotonic()
        loop1, load1 = _cpu_seconds(proc.pid, proc.pid), _load()
        rss, peak = _rss_mb(proc.pid), _rss_mb(proc.pid, "VmHWM")
        proc.terminate()
        proc.wait(30)
        reader.join(5)
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
    statuses = [json.loads(x) for x in lines[skip:] if '"status"' in x]
    statuses = [s for s in statuses if s.get("event") == "status"]
    received = sum(len(v) for v in server.store.arrivals.values())
    return {
        "source": "demo" if replay is None else replay.name,
        "batch_interval_s": batch_interval,
        "seconds": round(t1 - t0, 1),
        "cpu_pct_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 2),
        "event_loop_thread_pct": round(100 * (loop1 - loop0) / (t1 - t0), 2),
        "other_threads_pct": round(100 * (cpu1 - cpu0 - (loop1 - loop0)) / (t1 - t0), 2),
        "load_1m_start_end": [load0, load1],
        "rss_mb": round(rss, 1),
        "peak_rss_mb": round(peak, 1),
        "agent_B_per_s": round(sum(s["bytes_per_s"] for s in statuses) / max(1, len(statuses))),
        "agent_frames_per_s": round(sum(s["fps"] for s in statuses) / max(1, len(statuses)), 1),
        "frames_received": received,
        "duplicates": server.store.duplicates,
    }


FLOOR = """
import sys, time
sys.path.insert(0, {agent!r})
from simcoach_agent.sources.demo import DemoCar
car = DemoCar(seed=0) if {demo} else None
if car is not None:
    car.lap_plan(3)  # plan the laps first: planning is a one-off cost per lap, not per frame
next_tick = time.monotonic()
end = next_tick + {seconds}
while next_tick < end:
    if car is not None:
        car.info(); car.read()
    next_tick += 1 / 60
    time.sleep(max(0.0, next_tick - time.monotonic()))
"""


def floor(seconds: float, demo: bool) -> dict[str, object]:
    """CPU of what any 60 Hz agent pays before doing its own work: a bare 60 Hz sleep loop
    in Python, and that loop reading the demo car (its own simulation)."""
    code = FLOOR.format(agent=str(ROOT / "agent"), demo=demo, seconds=seconds)
    proc = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(2.0)  # imports and lap planning
    cpu0, t0, load0 = _cpu_seconds(proc.pid), time.monotonic(), _load()
    time.sleep(seconds - 4.0)
    cpu1, t1, load1 = _cpu_seconds(proc.pid), time.monotonic(), _load()
    proc.wait(30)
    name = "60 Hz loop reading the demo car" if demo else "bare 60 Hz sleep loop"
    cpu = round(100 * (cpu1 - cpu0) / (t1 - t0), 2)
    return {"floor": name, "cpu_pct_of_one_core": cpu, "load_1m_start_end": [load0, load1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="streaming run length")
    ap.add_argument("--encode-seconds", type=float, default=300.0, help="demo seconds to encode")
    ap.add_argument("--skip-stream", action="store_true")
    ap.add_argument(
        "--replay", type=Path, help="stream this recording (.rec.gz) or iRacing .ibt, not the demo car"
    )
    ap.add_argument("--floor", action="store_true", help="also measure the 60 Hz loop and demo-car floor")
    ap.add_argument(
        "--intervals", type=float, nargs="+", default=[0.1, 0.05], help="batch intervals to stream at (s)"
    )
    opts = ap.parse_args()
    for row in encoding(opts.encode_seconds):
        print(json.dumps(row))
    if opts.floor:
        for demo in (False, True):
            print(json.dumps(floor(opts.seconds, demo)))
    if not opts.skip_stream:
        for interval in opts.intervals:
            print(json.dumps(streaming(opts.seconds, interval, opts.replay)))


if __name__ == "__main__":
    main()
