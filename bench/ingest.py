"""Ingest benchmark: N rigs at 60 Hz, one viewer each, against ONE Daphne process.

The server runs as in production: Daphne (one process) with the Redis channel layer
(REDIS_URL, RedisPubSubChannelLayer), the `influx` trace store on a throwaway influxd
(tests/influxd.py) and Postgres (a fresh `simcoach_bench` database, DEBUG off).

Each simulated rig opens /ws/rig/ with its own token, says hello, and then sends one batch
of 6 demo-car frames every 100 ms (60 Hz). Each rig has one viewer: a logged-in browser-like
socket on /ws/live/<session_id>/ (session cookie + Origin). The load generator runs in
separate worker processes (--workers) with the batches precomputed: per send it only writes
the `t` column (the send time, so the viewer can compute rig->viewer latency on the same
clock) in front of the pre-packed other columns and zlib-compresses the result.

Per step (N rigs) it reports: viewer latency p50/p99 (send -> viewer receipt), viewer frames
delivered vs batches sent, ack round trip p50/p99 and the unacked backlog at the start and end
of the window (growing = not keeping up), server CPU (% of one core) and RSS, the load
generator's CPU and the whole machine's CPU use (other work shares these cores).

Usage: .venv/bin/python bench/ingest.py [--steps 10,25,50,100] [--seconds 30] [--profile 50]
       [--app site,floor]  (each step against the site, then against bench/floor_asgi.py)
Results: one JSON line per step on stdout and in bench/out/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "agent")]

from simcoach_agent import wire  # noqa: E402
from simcoach_agent.channels import CHANNEL_ID  # noqa: E402

OUT = ROOT / "bench" / "out"
HZ = 60
BATCH_FRAMES = 6  # 100 ms at 60 Hz
BATCH_S = BATCH_FRAMES / HZ
DEMO_SECONDS = 300  # frames generated once; each rig starts at a random point of the first half
BENCH_DB = "simcoach_bench"
PG = ["-h", "127.0.0.1", "-U", "postgres"]
SECRET = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
P99_LIMIT_MS = 100.0
FRAME_T = re.compile(r'[{,]"t":([-+.0-9eE]+)')  # a viewer frame's time, without parsing the rest
# Session ids start here so the bench's Redis groups (session.<id>) never meet a test run's.
SESSION_ID_BASE = 5_000_000
APPS = ("site", "floor")


# ----------------------------------------------------------------------------- load generator


def demo_batches() -> list[tuple[int, bytes]]:
    """Demo-car batches as (channel count, packed msgpack map entries of every channel but `t`)."""
    from simcoach_agent.sources.demo import DemoCar
    from simcoach_agent.telemetry import clean_frame

    frames: list[dict[str, float]] = []
    for frame in DemoCar(seed=1, start_t=1_700_000_000.0, realtime=False).frames():
        cleaned = clean_frame(frame)
        if cleaned is not None:
            frames.append(cleaned)
        if len(frames) >= DEMO_SECONDS * HZ:
            break
    out = []
    for i in range(0, len(frames) - BATCH_FRAMES + 1, BATCH_FRAMES):
        msg = msgpack.unpackb(wire.encode_batch(0, frames[i : i + BATCH_FRAMES]))
        cols = msgpack.unpackb(zlib.decompress(msg["z"]), strict_map_key=False)
        del cols[CHANNEL_ID["t"]]
        rest = b"".join(msgpack.packb(k) + msgpack.packb(v) for k, v in cols.items())
        out.append((len(cols) + 1, rest))
    return out


def map_header(count: int) -> bytes:
    return bytes([0x80 | count]) if count < 16 else b"\xde" + count.to_bytes(2, "big")


def batch_at(seq: int, part: tuple[int, bytes], t_last: float) -> bytes:
    """One wire batch whose last frame is stamped t_last (s since the epoch)."""
    count, rest = part
    ms = [round((t_last - (BATCH_FRAMES - 1 - i) / HZ) * 1000) for i in range(BATCH_FRAMES)]
    t_col = [ms[0]] + [b - a for a, b in zip(ms, ms[1:], strict=False)]
    body = map_header(count) + msgpack.packb(0) + msgpack.packb(t_col) + rest
    return msgpack.packb({"type": "frames", "seq": seq, "n": BATCH_FRAMES, "z": zlib.compress(body, 1)})


@dataclass
class RigStats:
    latencies_ms: list[float] = field(default_factory=list)
    ack_rtt_ms: list[float] = field(default_factory=list)
    sent_in_window: int = 0
    viewer_in_window: int = 0
    sent_seq: int = -1
    acked_seq: int = -1
    coaching: int = 0
    laps: int = 0
    closed: str = ""
    pending: dict[int, float] = field(default_factory=dict)  # last seq of a batch -> send time


@dataclass
class Window:
    start: float  # epoch s: rigs start sending
    lo: float  # measurement window
    hi: float


async def rig_run(
    spec: dict[str, Any],
    acc: dict[str, Any],
    parts: list[tuple[int, bytes]],
    stats: RigStats,
    ready: asyncio.Queue[int],
    go: asyncio.Future[Window],
) -> None:
    from websockets.asyncio.client import connect

    base = spec["url"].replace("http://", "ws://")
    auth = {"Authorization": f"Bearer {acc['token']}"}
    async with connect(
        f"{base}/ws/rig/",
        additional_headers=auth,
        compression=None,
        max_size=wire.MAX_MESSAGE_BYTES,
        open_timeout=60,
    ) as rig:
        hello = {
            "type": "hello",
            "protocol": wire.PROTOCOL_VERSION,
            "agent": "bench",
            "game": "demo",
            "track": "Bench Ring",
            "car": "Bench GT3",
            "car_class": "GT3",
            "kind": "practice",
            "session_uid": f"{spec['run']}-{acc['i']}",
            "track_length_m": None,
        }
        await rig.send(wire.encode_control(hello))
        welcome = msgpack.unpackb(await rig.recv())
        cookie = {"Cookie": f"sessionid={acc['cookie']}"}
        async with connect(
            f"{base}/ws/live/{welcome['session_id']}/",
            additional_headers=cookie,
            origin=spec["url"],
            compression=None,
            open_timeout=60,
        ) as viewer:
            await viewer.recv()  # the session snapshot
            await ready.put(1)
            window = await go
            readers = [
                asyncio.create_task(acks(rig, stats, window)),
                asyncio.create_task(watch(viewer, stats, window)),
            ]
            await send_batches(rig, parts, stats, window, acc["i"])
            await rig.send(wire.encode_control({"type": "end"}))
            await asyncio.sleep(0.5)  # last acks
            for r in readers:
                r.cancel()


async def send_batches(rig: Any, parts: list[tuple[int, bytes]], stats: RigStats, w: Window, i: int) -> None:
    rnd = random.Random(i)
    first = rnd.randrange(len(parts) // 2)
    due = w.start + rnd.random() * BATCH_S  # rigs spread over the 100 ms tick
    k = 0
    while due < w.hi:
        await asyncio.sleep(max(0.0, due - time.time()))
        now = time.time()
        seq = k * BATCH_FRAMES
        await rig.send(batch_at(seq, parts[first + k], now))
        stats.sent_seq = seq + BATCH_FRAMES - 1
        if w.lo <= now <= w.hi:
            stats.sent_in_window += 1
            stats.pending[stats.sent_seq] = now
        k += 1
        due += BATCH_S


async def acks(rig: Any, stats: RigStats, w: Window) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for raw in rig:
            msg = msgpack.unpackb(raw)
            if msg["type"] == "ack":
                stats.acked_seq = msg["seq"]
                now = time.time()
                # One ack may cover several batches (the server merges queued writes).
                for seq in [s for s in stats.pending if s <= msg["seq"]]:
                    stats.ack_rtt_ms.append(1000 * (now - stats.pending.pop(seq)))
            elif msg["type"] == "coaching":
                stats.coaching += 1
    except ConnectionClosed as exc:
        stats.closed = f"rig {exc.rcvd.code if exc.rcvd else '?'} {exc.rcvd.reason if exc.rcvd else ''}"


async def watch(viewer: Any, stats: RigStats, w: Window) -> None:
    from websockets.exceptions import ConnectionClosed

    try:
        async for raw in viewer:
            now = time.time()
            if raw.startswith('{"type":"frame"'):
                # Only the frame's time is needed: a full parse of sixty channels per frame
                # was a fifth of the load generator's CPU, on the cores the server shares.
                t = float(FRAME_T.search(raw)[1])  # type: ignore[index]
                if w.lo <= t <= w.hi:
                    stats.viewer_in_window += 1
                    stats.latencies_ms.append(1000 * (now - t))
            elif json.loads(raw)["type"] == "lap":
                stats.laps += 1
    except ConnectionClosed as exc:
        stats.closed = f"viewer {exc.rcvd.code if exc.rcvd else '?'}"


async def sample_backlog(all_stats: list[RigStats], w: Window, out: list[tuple[float, int]]) -> None:
    while time.time() < w.hi + 0.2:
        await asyncio.sleep(0.5)
        if time.time() >= w.start:
            out.append((time.time(), sum(s.sent_seq - s.acked_seq for s in all_stats)))


async def worker_main(spec: dict[str, Any]) -> dict[str, Any]:
    parts = pickle.loads(Path(spec["parts"]).read_bytes())  # noqa: S301 - our own temp file
    loop = asyncio.get_running_loop()
    go: asyncio.Future[Window] = loop.create_future()
    ready: asyncio.Queue[int] = asyncio.Queue()
    all_stats = [RigStats() for _ in spec["accounts"]]
    tasks = [
        asyncio.create_task(rig_run(spec, acc, parts, st, ready, go))
        for acc, st in zip(spec["accounts"], all_stats, strict=True)
    ]
    for _ in tasks:
        await ready.get()
    print("ready", flush=True)
    start = float(await loop.run_in_executor(None, sys.stdin.readline))
    w = Window(start, start + spec["warmup"], start + spec["warmup"] + spec["seconds"])
    go.set_result(w)
    backlog: list[tuple[float, int]] = []
    sampler = asyncio.create_task(sample_backlog(all_stats, w, backlog))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await sampler
    errors = Counter(f"{type(r).__name__}: {r}"[:120] for r in results if isinstance(r, BaseException))
    return {
        "latencies_ms": [x for s in all_stats for x in s.latencies_ms],
        "ack_rtt_ms": [x for s in all_stats for x in s.ack_rtt_ms],
        "sent": sum(s.sent_in_window for s in all_stats),
        "viewed": sum(s.viewer_in_window for s in all_stats),
        "coaching": sum(s.coaching for s in all_stats),
        "laps": sum(s.laps for s in all_stats),
        "closed": Counter(s.closed for s in all_stats if s.closed),
        "errors": errors,
        "backlog": [(t, b) for t, b in backlog if w.lo <= t <= w.hi],
    }


# ----------------------------------------------------------------------------- the stack


def server_env(influx_url: str, db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'agent'}",
        "DJANGO_SETTINGS_MODULE": "simcoach_site.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_COOKIES": "false",
        "DATABASE_URL": db_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
        "INFLUX_URL": influx_url,
        "TRACE_STORE": "influx",
        "LOG_LEVEL": "WARNING",
    }


def fresh_database(env: dict[str, str]) -> None:
    subprocess.run(["dropdb", *PG, "--if-exists", BENCH_DB], check=True)
    subprocess.run(["createdb", *PG, BENCH_DB], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def make_accounts(n: int) -> list[dict[str, Any]]:
    """n drivers, each with a rig token and a logged-in browser session cookie."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from apps.accounts.services import rig_create
    from apps.sessions.models import Session

    with connection.cursor() as cur:
        cur.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [Session._meta.db_table, SESSION_ID_BASE]
        )
    user_model = get_user_model()
    users = user_model.objects.bulk_create(
        [user_model(username=f"bench{i}", email=f"bench{i}@example.com", password="!") for i in range(n)]
    )
    out = []
    for i, user in enumerate(users):
        _, token = rig_create(owner=user, name=f"Bench rig {i}")
        client = Client()
        client.force_login(user)
        out.append({"i": i, "token": token, "cookie": client.cookies[settings.SESSION_COOKIE_NAME].value})
    return out


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# ----------------------------------------------------------------------------- one step


@dataclass
class Step:
    n: int
    seconds: float
    warmup: float
    workers: int
    run: str
    profile: bool = False
    app: str = "site"


def start_workers(
    step: Step, url: str, accounts: list[dict[str, Any]], parts: Path
) -> list[subprocess.Popen[str]]:
    procs = []
    for w in range(step.workers):
        mine = accounts[w : step.n : step.workers]
        spec = {
            "url": url,
            "accounts": mine,
            "parts": str(parts),
            "seconds": step.seconds,
            "warmup": step.warmup,
            "run": step.run,
        }
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(spec) + "\n")
        proc.stdin.flush()
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"load worker failed to connect its rigs: {line!r}")
    return procs


def run_step(
    step: Step, env: dict[str, str], accounts: list[dict[str, Any]], parts: Path, influx_pid: int
) -> dict[str, Any]:
    from simcoach_site.lib.net import daphne_command, free_port, wait_for_port
    from tests.servers import stop

    port = free_port()
    log = open(OUT / f"daphne-{step.app}-{step.n}.log", "w")  # noqa: SIM115 - closed below
    cmd = daphne_command(sys.executable, "127.0.0.1", port)
    if step.app == "floor":
        cmd[-1] = "bench.floor_asgi:application"
    daphne = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_for_port("127.0.0.1", port, daphne)
        url = f"http://127.0.0.1:{port}"
        t_connect = time.time()
        workers = start_workers(step, url, accounts, parts)
        connect_s = time.time() - t_connect
        return measure(step, daphne, workers, influx_pid) | {"connect_s": round(connect_s, 1)}
    finally:
        stop(daphne)
        log.close()


def measure(
    step: Step, daphne: subprocess.Popen[bytes], workers: list[subprocess.Popen[str]], influx_pid: int
) -> dict[str, Any]:
    start = time.time() + 1.0
    for proc in workers:
        assert proc.stdin is not None
        proc.stdin.write(f"{start}\n")
        proc.stdin.flush()
    lo, hi = start + step.warmup, start + step.warmup + step.seconds
    time.sleep(max(0.0, lo - time.time()))
    pids = [daphne.pid, influx_pid, *(p.pid for p in workers)]
    cpu0, m0, load0 = [cpu_s(p) for p in pids], machine_busy(), os.getloadavg()[0]
    spy = profile_start(daphne.pid, step) if step.profile else None
    time.sleep(max(0.0, hi - time.time()))
    cpu1, m1, rss = [cpu_s(p) for p in pids], machine_busy(), rss_mb(daphne.pid)
    load1 = os.getloadavg()[0]
    outs = []
    for proc in workers:
        out, _ = proc.communicate(timeout=120)
        outs.append(json.loads(out.strip().splitlines()[-1]))
    if spy is not None:
        spy.wait(60)
    span = hi - lo
    row = summarise(step, outs)
    return row | {
        "server_cpu_pct": round(100 * (cpu1[0] - cpu0[0]) / span, 1),
        # Cost, not capacity: holds still when other work on the machine slows the server down.
        "server_cpu_ms_per_batch": round(1000 * (cpu1[0] - cpu0[0]) / max(1, row["batches_sent"]), 3),
        "server_rss_mb": round(rss, 1),
        "influxd_cpu_pct": round(100 * (cpu1[1] - cpu0[1]) / span, 1),
        "loadgen_cpu_pct": round(100 * sum(b - a for a, b in zip(cpu0[2:], cpu1[2:], strict=True)) / span, 1),
        "machine_cpu_pct": round(100 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1]), 1),
        "loadavg": f"{load0:.2f}->{load1:.2f}",
    }


def summarise(step: Step, outs: list[dict[str, Any]]) -> dict[str, Any]:
    lat = [x for o in outs for x in o["latencies_ms"]]
    rtt = [x for o in outs for x in o["ack_rtt_ms"]]
    sent, viewed = sum(o["sent"] for o in outs), sum(o["viewed"] for o in outs)
    backlog = merged_backlog(outs)
    closed = sum((Counter(o["closed"]) for o in outs), Counter())
    errors = sum((Counter(o["errors"]) for o in outs), Counter())
    # Means of the first and last quarter of the samples: single samples swing with the
    # server's write merging (a rig's unacked frames go 0 -> 30 -> 0 between writes).
    q = max(1, len(backlog) // 4)
    first = round(statistics.fmean(backlog[:q])) if backlog else 0
    last = round(statistics.fmean(backlog[-q:])) if backlog else 0
    p99 = pct(lat, 99)
    # "Growing" = the unacked backlog rose by more than one batch per rig over the window.
    growing = last - first > step.n * BATCH_FRAMES
    held = p99 <= P99_LIMIT_MS and not growing and not closed and not errors and viewed >= 0.99 * sent
    return {
        "rigs": step.n,
        "held": held,
        "viewer_p50_ms": round(pct(lat, 50), 1),
        "viewer_p99_ms": round(p99, 1),
        "viewer_max_ms": round(max(lat), 1) if lat else None,
        "batches_sent": sent,
        "viewer_frames": viewed,
        "delivered_pct": round(100 * viewed / max(1, sent), 2),
        "ack_p50_ms": round(pct(rtt, 50), 1),
        "ack_p99_ms": round(pct(rtt, 99), 1),
        "backlog_frames_start_end": [first, last],
        "coaching_msgs": sum(o["coaching"] for o in outs),
        "laps": sum(o["laps"] for o in outs),
        "closed": dict(closed),
        "errors": dict(errors),
        "frames_per_s": round(sent * BATCH_FRAMES / step.seconds),
        "mean_latency_ms": round(statistics.fmean(lat), 1) if lat else None,
    }


def merged_backlog(outs: list[dict[str, Any]]) -> list[int]:
    """Total unacked frames over all workers, per half-second sample (aligned by index)."""
    series = [[b for _, b in o["backlog"]] for o in outs]
    length = min((len(s) for s in series), default=0)
    return [sum(s[i] for s in series) for i in range(length)]


# ----------------------------------------------------------------------------- profiling


def profile_start(pid: int, step: Step) -> subprocess.Popen[bytes]:
    spy = Path(sys.executable).parent / "py-spy"
    out = OUT / f"profile-{step.app}-{step.n}.txt"
    cmd = [
        str(spy),
        "record",
        "-p",
        str(pid),
        "-d",
        str(int(step.seconds) - 1),
        "-r",
        "250",
        "-f",
        "raw",
        "-o",
        str(out),
        "--nonblocking",
        # --gil: only the thread holding the GIL, i.e. where the Python CPU goes.
        *os.environ.get("BENCH_PYSPY_ARGS", "").split(),
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def profile_top(path: Path, k: int = 25) -> list[tuple[str, float, float]]:
    """(function, self %, inclusive %) from py-spy's folded stacks."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
            for f in stack.split(";")
        ]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    return [(f, round(100 * c / total, 1), round(100 * incl[f] / total, 1)) for f, c in own.most_common(k)]


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", default="10,25,50,100,150,200", help="rig counts, comma-separated")
    ap.add_argument("--seconds", type=float, default=30.0, help="measurement window per step")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--workers", type=int, default=2, help="load generator processes")
    ap.add_argument("--profile", type=int, default=0, help="py-spy the server at this step")
    ap.add_argument(
        "--app",
        default="site",
        type=apps_arg,
        help="site, floor (bench/floor_asgi.py: Daphne alone) or both, comma-separated: each step runs each",
    )
    ap.add_argument("--keep-going", action="store_true", help="run every step even after one fails")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.worker:
        spec = json.loads(sys.stdin.readline())
        print(json.dumps(asyncio.run(worker_main(spec))), flush=True)
        return
    run_bench(opts)


def apps_arg(text: str) -> list[str]:
    apps = [a.strip() for a in text.split(",")]
    unknown = [a for a in apps if a not in APPS]
    if unknown or not apps:
        raise argparse.ArgumentTypeError(f"--app takes {', '.join(APPS)} (comma-separated), not {text!r}")
    return apps


def run_bench(opts: argparse.Namespace) -> None:
    from apps.traces.lib.influx import InfluxClient
    from tests.influxd import start_influxd

    steps = [int(x) for x in opts.steps.split(",")]
    OUT.mkdir(exist_ok=True)
    influx = start_influxd()
    try:
        env = server_env(influx.url, f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}")
        InfluxClient(url=influx.url, database="simcoach").create_database()
        os.environ.update(env)
        fresh_database(env)
        accounts = make_accounts(max(steps))
        with tempfile.NamedTemporaryFile(suffix=".pickle", delete=False) as f:
            f.write(pickle.dumps(demo_batches()))
        results = []
        for n in steps:
            held = False
            for app in opts.app:  # back to back at each step, so both see the same machine load
                run = f"r{int(time.time())}-{app}-{n}"
                step = Step(n, opts.seconds, opts.warmup, opts.workers, run, n == opts.profile, app)
                row = {"app": app} | run_step(step, env, accounts, Path(f.name), influx.proc.pid)
                print(json.dumps(row), flush=True)
                results.append(row)
                held = held or row["held"]
                if step.profile:
                    for fn, own, incl in profile_top(OUT / f"profile-{app}-{n}.txt"):
                        print(f"  {own:5.1f}% self {incl:5.1f}% incl  {fn}")
            if not held and not opts.keep_going:
                break
        (OUT / "ingest.json").write_text(json.dumps(results, indent=1))
    finally:
        influx.stop()


if __name__ == "__main__":
    main()
