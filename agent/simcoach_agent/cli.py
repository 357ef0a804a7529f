"""The ``simcoach-agent`` command line: pair, run, status, record, replay, unpair, import, export.

Exit codes: 0 done, 1 error, 2 usage, 3 not paired or token rejected (pair again),
4 the server needs a newer agent, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TextIO

from . import __version__, config, wire
from .channels import GAMES
from .config import Config, ConfigError
from .cues import Cue, CueBoard, CueError, DueCue
from .export import add_export_parser
from .lateness import DEFAULT_LIMIT_S, Lateness, Position
from .pairing import PairingError, TokenRejected, pair, rig_status
from .sources.base import Source
from .speech import Speaker
from .spool import Spool, SpoolBusy, SpoolLock
from .stream import BATCH_INTERVAL, Uplink, UplinkStats, UplinkStopped
from .telemetry import Producer
from .upload import add_import_parser

log = logging.getLogger("simcoach_agent")

EXIT_OK, EXIT_ERROR, EXIT_PAIR, EXIT_UPGRADE, EXIT_INTERRUPTED = 0, 1, 3, 4, 130
DETECT_EVERY: Final = 2.0  # seconds between looks for a running game
WATCH_EVERY: Final = 0.5  # seconds between checks for a finished source or a failed reader
IDLE_POLL: Final = 1.0  # seconds between spool looks when the producer has not woken the uplink
STATUS_EVERY: Final = {"tty": 0.5, "plain": 10.0, "json": 2.0}  # seconds between status lines
DRAIN_TIMEOUT: Final = 5.0  # seconds a Ctrl-C/SIGTERM waits for the spool to drain before it ends the session


class CliError(Exception):
    """A failure to report as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# ---- output


class Reporter:
    """All terminal output: one refreshing status line on a TTY, periodic lines otherwise,
    JSON lines with --json, nothing but errors with --quiet."""

    def __init__(self, *, quiet: bool = False, as_json: bool = False, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.quiet = quiet
        self.as_json = as_json
        self.tty = self.out.isatty() and not as_json
        self.mode = "json" if as_json else "tty" if self.tty else "plain"
        self._lock = threading.Lock()  # speech and status come from different threads
        self._dirty = False  # a status line is on screen without a newline

    def info(self, text: str, **fields: Any) -> None:
        if self.as_json:
            self.emit({"event": "info", "message": text, **fields})
        elif not self.quiet:
            self._line(text)

    def error(self, text: str, code: int = EXIT_ERROR) -> None:
        if self.as_json:
            self.emit({"event": "error", "message": text, "exit_code": code})
        with self._lock:
            self._end_status()
            print(f"error: {text}", file=sys.stderr, flush=True)

    def message(self, msg: dict[str, Any]) -> None:
        """A coaching message or a coach's note from the server."""
        if self.as_json:
            self.emit({"event": msg.get("type"), **{k: v for k, v in msg.items() if k != "type"}})
        elif not self.quiet:
            self._line(describe_message(msg))

    def cue(self, due: DueCue, *, lap_dist: float) -> None:
        """A pinned cue said now (``lap_dist``: where the car is)."""
        if self.as_json:
            c = due.cue
            self.emit(
                {
                    "event": "cue_spoken",
                    "id": c.id,
                    "text": c.text,
                    "label": c.label,
                    "at_m": c.at_m,
                    "lead_s": c.lead_s,
                    "lap": due.lap,
                    "lap_dist": lap_dist,
                    "before_m": due.before_m,
                    "speed_kmh": due.speed_kmh,
                }
            )
        elif not self.quiet:
            self._line(describe_cue(due))

    def status(self, fields: dict[str, Any]) -> None:
        if self.as_json:
            self.emit({"event": "status", **fields})
        elif self.quiet:
            return
        elif self.tty:
            with self._lock:
                self.out.write("\r\x1b[K" + status_text(fields))
                self.out.flush()
                self._dirty = True
        else:
            self._line(status_text(fields))

    def done(self) -> None:
        with self._lock:
            self._end_status()

    def _line(self, text: str) -> None:
        with self._lock:
            self._end_status()
            print(text, file=self.out, flush=True)

    def emit(self, obj: dict[str, Any]) -> None:
        with self._lock:
            print(json.dumps(obj, default=str), file=self.out, flush=True)

    def _end_status(self) -> None:
        if self._dirty:
            self.out.write("\n")
            self._dirty = False


def describe_message(msg: dict[str, Any]) -> str:
    if msg.get("type") == "note":
        return f"[note from {msg.get('author', 'coach')}] {msg.get('text', '')}"
    severity = str(msg.get("severity", "info")).upper()
    return f"[{severity}] {msg.get('text', '')}"


def describe_cue(due: DueCue) -> str:
    """``[CUE La Source in 118 m] brake at the 100 board``"""
    where = due.cue.label or f"{due.cue.at_m:.0f} m"
    return f"[CUE {where} in {due.before_m:.0f} m] {due.cue.text}"


def status_text(f: dict[str, Any]) -> str:
    lap = f"lap {f['lap']}" if f.get("lap") is not None else "no lap yet"
    late = f" | late coaching {f['late_coaching']}" if f.get("late_coaching") else ""
    return (
        f"{f['connection']:<10} | {f['source']:<8} | {f['fps']:5.1f} frames/s | {lap} | "
        f"backlog {f['backlog']} | {f['bytes_per_s'] / 1024:5.2f} KB/s{late}"
    )


# ---- the streaming pipeline (run and replay)


class Pipeline:
    """A producer thread feeding the spool, the uplink draining it, and a status loop."""

    def __init__(self, args: argparse.Namespace, cfg: Config, reporter: Reporter) -> None:
        self.args = args
        self.reporter = reporter
        # Held until close(): a second agent on this home must not stream the same spool.
        self.lock = SpoolLock(config.spool_path()).acquire()
        self.spool = Spool(config.spool_path())
        self.producer: Producer | None = None
        self.speaker = Speaker() if getattr(args, "speak", False) else None
        self.lateness = Lateness(getattr(args, "late_after", DEFAULT_LIMIT_S))
        self.uplink = Uplink(
            cfg.server,
            cfg.token,
            self.spool,
            batch_interval=args.batch_interval,
            poll_interval=IDLE_POLL,
            backoff_max=args.backoff_max,
            ping_interval=args.ping_interval,
            on_message=self._on_message,
            on_cue=self._on_cue,
            on_status=self._on_status,
        )
        self.cues = CueBoard()
        self.failure: str | None = None
        self.stopping = False  # Ctrl-C/SIGTERM: no more reading, drain, end, exit
        self._shutdown: asyncio.Task[None] | None = None
        self._last = (time.monotonic(), 0, 0)  # (when, frames, bytes) at the last status line

    def _on_message(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "coaching" and not self.lateness.admit(msg, self._position()):
            return  # counted; shown on the status line
        self.reporter.message(msg)
        if self.speaker is not None and msg.get("text"):
            self.speaker.say(str(msg["text"]))

    def _position(self) -> Position | None:
        newest = self.producer.stats.newest if self.producer is not None else None
        return Position(*newest) if newest is not None else None

    # -- cues pinned to a place on track (cues.py); kept apart from the coaching messages

    def _on_cue(self, msg: dict[str, Any]) -> None:
        """A cue, a removal, or a welcome (a session starts: the server resends its cues)."""
        kind = msg.get("type")
        if kind == "welcome":
            self.cues.clear()
        elif kind == "cue_removed":
            if isinstance(msg.get("id"), int) and self.cues.remove(msg["id"]):
                self.reporter.info(f"cue {msg['id']} removed", event_kind="cue_removed", id=msg["id"])
        elif kind == "cue":
            self._cue_received(msg)

    def _cue_received(self, msg: dict[str, Any]) -> None:
        try:
            cue = Cue.from_message(msg)
        except CueError as exc:
            log.warning("ignoring a cue from the server: %s", exc)
            return
        self.cues.put(cue)
        # the server times the delivery by this ack's arrival (its own clock on both ends)
        self.uplink.send_control({"type": "cue_ack", "id": cue.id, "received_at": time.time()})
        where = cue.label or f"{cue.at_m:.0f} m"
        self.reporter.info(
            f"cue pinned at {where} ({cue.at_m:.0f} m, {cue.lead_s:g} s before): {cue.text}",
            event_kind="cue_received",
            id=cue.id,
            at_m=cue.at_m,
        )

    def _cue_frame(self, frame: dict[str, Any]) -> None:
        """Every frame, on the producer's thread: say the cues that are due now."""
        if not self.cues:
            return
        try:
            lap, dist, speed = int(frame["lap"]), float(frame["lap_dist"]), float(frame["speed"])
        except (KeyError, TypeError, ValueError):
            return
        if self.cues.track_length_m is None and self.producer is not None:
            # known once the source has decoded something (a replay); the producer asks too
            info = self.producer.source.info()
            self.cues.track_length_m = info.track_length_m if info is not None else None
        for due in self.cues.update(lap, dist, speed, bool(frame.get("in_pit"))):
            self.reporter.cue(due, lap_dist=dist)
            if self.speaker is not None:
                self.speaker.say(due.cue.text)
            self.uplink.send_control(
                {
                    "type": "cue_spoken",
                    "id": due.cue.id,
                    "lap": due.lap,
                    "before_m": due.before_m,
                    "speed_kmh": due.speed_kmh,
                }
            )

    def _on_status(self, stats: UplinkStats) -> None:
        if stats.state == "backoff" and stats.last_error:
            log.info("%s", stats.last_error)

    def start_source(self, source: Source, *, resume: bool = True) -> None:
        window = 600.0 if resume else 0.0
        self.producer = Producer(
            source,
            config.spool_path(),
            rate=getattr(self.args, "read_rate", self.args.rate),
            resume_window=window,
            flush_every=self.args.batch_interval,
            on_flush=self.uplink.offer,
            on_frame=self._cue_frame,
        ).start()

    async def run(self, *, open_source: Callable[[], Source | None], finite: bool) -> None:
        """Stream until Ctrl-C/SIGTERM, a fatal refusal, or (``finite``) the source is drained."""
        _install_stop(self.request_stop)
        uplink = asyncio.create_task(self.uplink.run())
        watcher = asyncio.create_task(self._watch(open_source, finite))
        try:
            await asyncio.wait({uplink, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if watcher.done() and watcher.exception() is not None:
                self.uplink.stop()  # the source cannot be opened: stop cleanly, then say why
                await asyncio.gather(uplink, return_exceptions=True)
                raise watcher.exception()  # type: ignore[misc]
            await uplink
        finally:
            for task in (watcher, self._shutdown):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            self.close()

    def request_stop(self) -> None:
        """Ctrl-C/SIGTERM: the first one drains and ends the session, a second one cuts it short."""
        if self.stopping:
            self.uplink.stop(end_session=True)
            return
        self.stopping = True
        self.reporter.info("stopping: sending what is spooled, then ending the session (Ctrl-C again: now)")
        self._shutdown = asyncio.create_task(self.shut_down())

    async def shut_down(self) -> None:
        """Stop reading the game, give the uplink up to ``--drain-timeout`` s to send and get
        acked what is spooled, then end the session on the server (at once, not after its
        600 s silence sweep). What could not be sent stays in the spool for the next run."""
        producer = self.producer
        if producer is not None:
            await asyncio.to_thread(producer.stop)  # flushes its last frames to the spool
            uid = producer.stats.session_uid
            if uid is not None:
                # Ended in the spool: the uplink sends `end` once its last frame is acked, and
                # the next run starts a new session instead of resuming this one.
                self.spool.session_end(uid)
                self.uplink.offer(uid, 0, [])
        self.uplink.drained.clear()  # from here on, set only by a look at the spool after this
        if self.spool.sessions():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.uplink.drained.wait(), self.args.drain_timeout)
        self.uplink.stop(end_session=True)

    async def _watch(self, open_source: Callable[[], Source | None], finite: bool) -> None:
        every = STATUS_EVERY[self.reporter.mode]
        next_detect = next_status = 0.0
        while True:
            now = time.monotonic()
            if self.producer is None and not self.stopping and now >= next_detect:
                next_detect = now + DETECT_EVERY
                source = await asyncio.to_thread(open_source)
                if source is not None and self.stopping:  # stopped while the game was looked for
                    source.close()
                elif source is not None:
                    self.start_source(source, resume=not finite)
            if self._finished(finite):
                self.uplink.stop()
                return
            if now >= next_status:
                next_status = now + every
                if self.reporter.as_json or not self.reporter.quiet:
                    self.reporter.status(self.snapshot())
            # one timer: sleep until the next status line or the next check, no fixed tick
            wake = min(next_status, now + WATCH_EVERY, next_detect if self.producer is None else math.inf)
            await asyncio.sleep(max(0.0, wake - time.monotonic()))

    def _finished(self, finite: bool) -> bool:
        p = self.producer
        if p is None or not p.done.is_set():
            return False
        if p.stats.state == "failed" and finite:
            self.failure = f"reading the recording failed: {p.stats.error}"
            return True
        if p.stats.state == "failed":
            # the game quit or restarted: drop the reader and look for the game again
            self.reporter.info(f"lost the game ({p.stats.error}); waiting for it again")
            p.source.close()
            self.producer = None
            return False
        return not self.spool.sessions()  # source finished: done once all is sent, acked, ended

    def snapshot(self) -> dict[str, Any]:
        p, up = self.producer, self.uplink.stats
        now, frames, sent = time.monotonic(), p.stats.frames if p else 0, up.bytes_sent
        then, frames0, sent0 = self._last
        dt = max(now - then, 1e-3)
        self._last = (now, frames, sent)
        return {
            "connection": up.state,
            "source": p.stats.state if p else "waiting",
            "fps": round((frames - frames0) / dt, 1),
            "lap": p.stats.lap if p else None,
            "backlog": self.spool.size(),
            "bytes_per_s": round((sent - sent0) / dt),
            "frames": frames,
            "dropped": p.stats.dropped if p else 0,
            "session_uid": up.session_uid or (p.stats.session_uid if p else None),
            "acked_seq": up.acked_seq,
            "connects": up.connects,
            "error": up.last_error if up.state == "backoff" else "",
            "late_coaching": self.lateness.late,
        }

    def close(self) -> None:
        if self.producer is not None:
            self.producer.stop()
            self.producer.source.close()
        self.reporter.done()
        backlog = self.spool.size()
        self.spool.close()
        self.lock.release()
        if backlog:
            self.reporter.info(
                f"{backlog} frames wait in the spool; they are sent on the next run", backlog=backlog
            )


def _install_stop(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError):  # Windows: no add_signal_handler
            signal.signal(sig, lambda *_: loop.call_soon_threadsafe(stop))


def _stream(
    args: argparse.Namespace, reporter: Reporter, open_source: Callable[[], Source | None], *, finite: bool
) -> int:
    cfg = _credentials(args)
    try:
        pipeline = Pipeline(args, cfg, reporter)
    except SpoolBusy as exc:
        raise CliError(str(exc)) from None
    reporter.info(f"streaming to {cfg.server} (Ctrl-C to stop)", server=cfg.server)
    try:
        asyncio.run(pipeline.run(open_source=open_source, finite=finite))
    except UplinkStopped as exc:
        code = EXIT_UPGRADE if exc.code == wire.CLOSE_VERSION else EXIT_PAIR if exc.code else EXIT_ERROR
        raise CliError(str(exc), code) from None
    if pipeline.failure:
        raise CliError(pipeline.failure)
    return EXIT_OK


def _credentials(args: argparse.Namespace) -> Config:
    cfg = config.load()
    server = getattr(args, "server", None) or cfg.server
    token = getattr(args, "token", None) or cfg.token
    if not server or not token:
        raise CliError("this rig is not paired: run 'simcoach-agent pair --server URL' first", EXIT_PAIR)
    return Config(server=server, token=token, rig_id=cfg.rig_id, rig_name=cfg.rig_name)


# ---- commands


def cmd_run(args: argparse.Namespace, reporter: Reporter) -> int:
    # a faster demo clock needs as many more reads a second to keep every 60 Hz frame
    args.read_rate = args.rate * (args.speed if args.game == "demo" else 1.0)
    return _stream(args, reporter, _source_opener(args, reporter), finite=False)


def _source_opener(args: argparse.Namespace, reporter: Reporter) -> Callable[[], Source | None]:
    from .sources import SharedMemoryUnavailable, detect_game, open_source

    said = False

    def attempt() -> Source | None:
        nonlocal said
        game = args.game if args.game != "auto" else detect_game(**_udp_opts(args))
        try:
            source = open_source(game, **_source_opts(args, game)) if game else None
        except SharedMemoryUnavailable:
            source = None  # the game is not running (yet)
        if source is None:
            if not said:
                reporter.info(f"waiting for {game or 'a game (ACC, R3E, LMU, rF2, AMS2)'} to start...")
                said = True
            return None
        said = False
        reporter.info(f"reading {game}", game=game)
        return source

    return attempt


def _udp_opts(args: argparse.Namespace) -> dict[str, Any]:
    return {"udp_port": args.udp_port} if args.udp_port else {}


def _source_opts(args: argparse.Namespace, game: str) -> dict[str, Any]:
    if game == "demo":
        start = getattr(args, "demo_start", None)
        return {"seed": args.seed, "speed": args.speed, "laps": args.laps, "start_t": start}
    if game == "ams2":
        return {"transport": "udp", **_udp_opts(args)} if args.udp_port else {}
    return {}


def cmd_replay(args: argparse.Namespace, reporter: Reporter) -> int:
    from .sources.recording import ReplaySource

    path = _existing(args.file)
    source = ReplaySource(path, speed=args.speed, realtime=True)
    reporter.info(f"replaying {path} ({source.game}) at {args.speed:g}x", game=source.game)
    return _stream(args, reporter, lambda: source, finite=True)


def cmd_record(args: argparse.Namespace, reporter: Reporter) -> int:
    from .sources import detect_game, open_source
    from .sources.recording import record

    game = args.game if args.game != "auto" else detect_game(**_udp_opts(args))
    if game is None:
        raise CliError("no running game found; start one or pass --game")
    if game == "demo":
        raise CliError("the demo car cannot be recorded: recordings hold a real game's raw bytes")
    source = open_source(game, **_source_opts(args, game))
    transport = getattr(source, "transport", None)
    if transport is None:
        raise CliError(f"{game} cannot be recorded by this agent")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    what = f"{args.seconds:g} s" if args.seconds else "until Ctrl-C"
    reporter.info(f"recording {game} to {args.file} for {what}", game=game, file=str(args.file))
    try:
        n = record(transport, args.file, args.seconds, rate_hz=args.rate, stop=stop.is_set)
    finally:
        source.close()
    reporter.info(f"recorded {n} records to {args.file}", records=n, file=str(args.file))
    return EXIT_OK


def cmd_pair(args: argparse.Namespace, reporter: Reporter) -> int:
    cfg = pair(args.server, name=args.name, open_browser=not args.no_browser, say=reporter.info)
    path = config.save(cfg)
    reporter.info(
        f"paired as rig '{cfg.rig_name}' (id {cfg.rig_id}); token saved to {path}",
        rig_id=cfg.rig_id,
        rig_name=cfg.rig_name,
        config=str(path),
    )
    return EXIT_OK


def cmd_status(args: argparse.Namespace, reporter: Reporter) -> int:
    cfg = config.load()
    facts: dict[str, Any] = {"agent": __version__, "config": str(config.config_path()), **_spool_facts()}
    facts.update(
        paired=cfg.paired, server=cfg.server or None, rig_id=cfg.rig_id, rig_name=cfg.rig_name or None
    )
    code = EXIT_OK
    if not cfg.paired:
        facts["auth"], code = "none", EXIT_PAIR
    else:
        try:
            me = rig_status(cfg.server, cfg.token)
            facts.update(auth="ok", user=me.get("user"), rig_name=me.get("rig_name", cfg.rig_name))
        except TokenRejected:
            facts["auth"], code = "rejected", EXIT_PAIR
        except PairingError as exc:
            facts.update(auth="unknown", error=str(exc))
            code = EXIT_ERROR
    _print_status(reporter, facts)
    return code


def _spool_facts() -> dict[str, Any]:
    path = config.spool_path()
    if not path.exists():
        return {"spool_frames": 0, "spool_bytes": 0, "spool_sessions": 0}
    with Spool(path) as spool:
        return {
            "spool_frames": spool.size(),
            "spool_bytes": spool.bytes(),
            "spool_sessions": len(spool.sessions()),
        }


def _print_status(reporter: Reporter, f: dict[str, Any]) -> None:
    if reporter.as_json:
        reporter.emit({"event": "status", **f})
        return
    if not f["paired"]:
        print("not paired: run 'simcoach-agent pair --server URL'")
    else:
        who = f" for {f['user']}" if f.get("user") else ""
        print(f"rig '{f['rig_name']}' (id {f['rig_id']}){who} on {f['server']}")
        print(_token_line(f))
    print(
        f"spool: {f['spool_frames']} frames ({f['spool_bytes'] / 1024:.1f} KB) in {f['spool_sessions']} sessions"
    )
    print(f"config: {f['config']}  agent {f['agent']}")


def _token_line(f: dict[str, Any]) -> str:
    if f["auth"] == "ok":
        return "token: accepted by the server"
    if f["auth"] == "rejected":
        return "token: REJECTED (revoked?): run 'simcoach-agent pair' again"
    return f"token: not checked ({f.get('error')})"


def cmd_unpair(args: argparse.Namespace, reporter: Reporter) -> int:
    if config.clear():
        reporter.info("forgot this rig's token; revoke the rig on the website too", unpaired=True)
    else:
        reporter.info("this rig was not paired", unpaired=False)
    return EXIT_OK


def _existing(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    return path


# ---- argument parsing


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a flag given before the subcommand is not reset by the subparser's default
    common.add_argument(
        "--quiet", "-q", action="store_true", default=argparse.SUPPRESS, help="print errors only"
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable JSON lines"
    )
    common.add_argument("--verbose", "-v", action="store_true", default=argparse.SUPPRESS, help="log details")
    parser = argparse.ArgumentParser(
        prog="simcoach-agent", description="SimCoach rig agent", parents=[common]
    )
    parser.add_argument("--version", action="version", version=f"simcoach-agent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_pair(sub, common)
    _add_run(sub, common)
    sub.add_parser("status", parents=[common], help="show pairing, token and spool state").set_defaults(
        fn=cmd_status
    )
    _add_record(sub, common)
    _add_replay(sub, common)
    sub.add_parser("unpair", parents=[common], help="forget this rig's token").set_defaults(fn=cmd_unpair)
    add_import_parser(sub, common)
    add_export_parser(sub, common)
    return parser


def _add_pair(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("pair", parents=[common], help="pair this rig with your SimCoach account")
    p.add_argument("--server", required=True, help="site URL, e.g. https://coach.example.org")
    p.add_argument("--name", help="rig name shown on the site (default: this computer's name)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(fn=cmd_pair)


def _add_uplink_opts(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", help="override the paired server URL")
    p.add_argument("--token", help="override the paired rig token")
    p.add_argument(
        "--batch-interval",
        type=_positive,
        default=BATCH_INTERVAL,
        help=f"seconds between batches ({BATCH_INTERVAL:g}); shorter: lower latency, more bytes",
    )
    p.add_argument("--rate", type=_positive, default=60.0, help="frames per second to read (60)")
    p.add_argument(
        "--backoff-max", type=_positive, default=60.0, help="longest wait between reconnects, s (60)"
    )
    p.add_argument(
        "--ping-interval", type=_positive, default=15.0, help="keepalive ping every N s; dead after 2N (15)"
    )
    p.add_argument(
        "--drain-timeout",
        type=_not_negative,
        default=DRAIN_TIMEOUT,
        help=f"on Ctrl-C, seconds to keep sending spooled frames before ending the session ({DRAIN_TIMEOUT:g})",
    )


def _add_run(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="stream live telemetry")
    p.add_argument("--game", default="auto", choices=["auto", *GAMES], help="game to read (auto: detect)")
    p.add_argument("--udp-port", type=int, help="UDP port for games that send UDP (AMS2)")
    p.add_argument("--speak", action="store_true", help="speak coaching messages aloud")
    _add_late_after(p)
    p.add_argument("--seed", type=int, default=0, help="demo car seed")
    p.add_argument("--speed", type=_positive, default=1.0, help="demo car: simulated time factor (1)")
    p.add_argument("--laps", type=int, help="demo car: stop after this many laps (default: never)")
    # A restarted agent given the same start finds the car where a game that kept running
    # would be: how the fault tests kill and restart an agent mid-session.
    p.add_argument("--demo-start", type=float, help=argparse.SUPPRESS)
    _add_uplink_opts(p)
    p.set_defaults(fn=cmd_run)


def _add_record(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("record", parents=[common], help="record a game's raw telemetry to a file")
    p.add_argument("file")
    p.add_argument("--game", default="auto", choices=["auto", *[g for g in GAMES if g != "demo"]])
    p.add_argument("--seconds", type=_positive, help="stop after this many seconds (default: Ctrl-C)")
    p.add_argument("--udp-port", type=int, help="UDP port (AMS2)")
    p.add_argument("--rate", type=_positive, default=60.0, help="polls per second (60)")
    p.set_defaults(fn=cmd_record)


def _add_replay(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("replay", parents=[common], help="stream a recording as if it were live")
    p.add_argument("file")
    p.add_argument("--speed", type=_positive, default=1.0, help="playback speed factor (1)")
    p.add_argument("--speak", action="store_true", help="speak coaching messages aloud")
    _add_late_after(p)
    _add_uplink_opts(p)
    p.set_defaults(fn=cmd_replay)


def _add_late_after(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--late-after",
        type=_positive,
        default=DEFAULT_LIMIT_S,
        help=f"coaching about a frame this many s behind the newest one is not said ({DEFAULT_LIMIT_S:g})",
    )


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``simcoach-agent`` and ``python -m simcoach_agent``."""
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    reporter = Reporter(quiet=getattr(args, "quiet", False), as_json=getattr(args, "json", False))
    try:
        return int(args.fn(args, reporter))
    except CliError as exc:
        reporter.error(str(exc), exc.code)
        return exc.code
    except (ConfigError, PairingError, UplinkStopped, OSError, ValueError, RuntimeError) as exc:
        # OSError/ValueError/RuntimeError cover unreadable files, bad URLs, missing games
        reporter.error(str(exc) or type(exc).__name__)
        if verbose:
            log.exception("details")
        return EXIT_PAIR if isinstance(exc, TokenRejected) else EXIT_ERROR
    except KeyboardInterrupt:
        reporter.done()
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: still one line for the user, the traceback with -v
        reporter.error(f"unexpected {type(exc).__name__}: {exc} (run with -v for details)")
        if verbose:
            log.exception("details")
        return EXIT_ERROR
