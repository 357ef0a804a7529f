"""The producer: reads a Source at up to 60 Hz on its own thread and appends frames to the spool.

It never touches the network, so a slow or absent server can never stall the game reader.
It also owns the session lifecycle: a change in the session facts (track, car, kind) ends the
spooled session and opens a new one; at start-up an unfinished session with the same facts,
touched in the last ``resume_window`` seconds, is resumed (same session_uid, next seq), which
is what makes a crash and restart invisible to the server.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter, le, truediv
from pathlib import Path
from typing import Any, Final, NamedTuple

from .channels import BY_NAME, CHANNEL_ID, CHANNELS, REQUIRED, Channel, Frame, QFrame
from .sources.base import SessionInfo, Source
from .spool import DEFAULT_MAX_BYTES, Spool

log = logging.getLogger(__name__)

FLUSH_EVERY: Final = 0.1  # seconds of frames per spool transaction (= the uplink's batch)
RESUME_WINDOW: Final = 600.0  # seconds: a restart within 10 min continues the same session
MAX_UID: Final = 64  # protocol limit on session_uid


@dataclass
class ProducerStats:
    """Read by the CLI's status line from another thread; plain fields, written by one thread."""

    state: str = "starting"  # starting, menus, driving, finished, failed
    frames: int = 0  # frames spooled since start
    dropped: int = 0  # frames refused by a full spool, or unusable
    lap: int | None = None
    # the newest frame spooled: (t s, lap, lap distance m), one tuple so a reader on another
    # thread never sees one frame's lap with another's distance
    newest: tuple[float, int, float] | None = None
    session_uid: str | None = None
    error: str = ""


# (session uid, seq of the first frame, frames): called from the producer's thread after a
# commit, and with no frames once the session has ended
FlushCallback = Callable[[str, int, list[QFrame]], None]
FrameCallback = Callable[[Frame], None]


def hello_fields(info: SessionInfo) -> dict[str, Any]:
    """The session facts that go into ``hello`` (protocol.md), from a source's SessionInfo."""
    return {
        "game": info.game,
        "track": info.track,
        "car": info.car,
        "car_class": info.car_class,
        "kind": info.kind,
        "track_length_m": info.track_length_m,
    }


def same_session(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same driving session unless an identifying fact changed. Facts a reader learns late
    are not changes: the track length (ACC measures it from distance travelled) and names
    that were still empty (AMS2 sends car and track names in their own UDP packets)."""
    return all(a[k] == b[k] or not b[k] for k in a if k != "track_length_m")


def new_session_uid(game: str) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{game[:20]}-{stamp}-{secrets.token_hex(6)}"[:MAX_UID]


def quantise_frame(frame: Frame, refused: dict[str, Any] | None = None) -> QFrame | None:
    """The frame at the wire's resolution, {channel id: integer}, keeping only what the server
    will accept; None if a required channel is unusable. Each value left out is put in
    ``refused`` (channel name -> value), for a caller that reports them.

    The server rejects a whole batch (close 4400) for one out-of-range value, and resending the
    same spooled batch would then fail forever, so values are checked before they are spooled,
    exactly as wire.decode_batch checks them after quantisation. Quantising here, once, is what
    the spool stores and the uplink sends: nothing is rounded a second time.
    """
    layout = _layout(frame)
    # The whole frame in C (map, truediv, le) while every value is a finite number in range,
    # which is every frame of a healthy game; value by value in Python otherwise. A value over
    # a float resolution is a float, and float.__round__ is what round() calls for it, without
    # round()'s per-call method lookup.
    try:
        qs: list[int] = list(map(_ROUND, map(truediv, layout.values(frame), layout.res)))
    except (TypeError, ValueError, OverflowError):  # a non-number, a NaN or an infinity
        return _quantise_each(frame, refused)
    if not (all(map(le, layout.lo, qs)) and all(map(le, qs, layout.hi))):
        return _quantise_each(frame, refused)
    return dict(zip(layout.ids, qs, strict=True)) if layout.complete else None


def _quantise_each(frame: Frame, refused: dict[str, Any] | None = None) -> QFrame | None:
    """quantise_frame one value at a time, leaving out each value the server would refuse."""
    out: QFrame = {}
    for name, value in frame.items():
        spec = _SPECS.get(name)
        if spec is None or isinstance(value, str):
            continue
        cid, res, q_lo, q_hi = spec
        try:
            q = round(float(value) / res)  # ValueError for NaN, OverflowError for an infinity
        except (TypeError, ValueError, OverflowError):
            q = None
        if q is not None and q_lo <= q <= q_hi:
            out[cid] = q
        elif refused is not None:
            refused[name] = value
    return out if out.keys() >= _REQUIRED_IDS else None


class _Layout(NamedTuple):
    """How to quantise frames whose keys come in one given order (a game's frames all do)."""

    ids: tuple[int, ...]  # wire ids of the known channels, in the frame's order
    values: Callable[[Frame], tuple[Any, ...]]  # their values, in that order
    res: tuple[float, ...]
    lo: tuple[int, ...]  # lowest and highest integer the server accepts
    hi: tuple[int, ...]
    complete: bool  # every required channel is among them


def _layout(frame: Frame) -> _Layout:
    keys = tuple(frame)
    layout = _LAYOUTS.get(keys)
    if layout is None:
        if len(_LAYOUTS) >= 64:  # a source whose channels keep changing: do not grow forever
            _LAYOUTS.clear()
        layout = _LAYOUTS[keys] = _new_layout([k for k in keys if k in _SPECS])
    return layout


def _new_layout(names: list[str]) -> _Layout:
    specs = [_SPECS[n] for n in names]
    if len(names) == 1:
        one = names[0]
        values: Callable[[Frame], tuple[Any, ...]] = lambda f: (f[one],)  # noqa: E731
    else:  # itemgetter of several keys returns a tuple, of none fails
        values = itemgetter(*names) if names else lambda f: ()
    ids, lo, hi = (tuple(int(s[i]) for s in specs) for i in (0, 2, 3))
    res = tuple(float(s[1]) for s in specs)  # a float even where it is 1: the quotient is a float
    return _Layout(ids, values, res, lo, hi, _REQUIRED_IDS.issubset(ids))


_LAYOUTS: Final[dict[tuple[str, ...], _Layout]] = {}  # by the frame's keys, in order
_ROUND: Final = float.__round__


def clean_frame(frame: Frame) -> Frame | None:
    """The frame's own values (not rounded) of the channels quantise_frame keeps, or None."""
    kept = quantise_frame(frame)
    if kept is None:
        return None
    return {CHANNELS[cid].name: float(frame[CHANNELS[cid].name]) for cid in kept}


def _accepted(c: Channel) -> tuple[int, int]:
    """The integers q the server accepts for channel c: lo <= q * resolution <= hi for a float
    channel (q * resolution grows with q, so they are one interval), lo <= q <= hi otherwise."""
    if c.kind != "f":
        return math.ceil(c.lo), math.floor(c.hi)
    q_lo = math.floor(c.lo / c.resolution) - 2
    while q_lo * c.resolution < c.lo:
        q_lo += 1
    q_hi = math.ceil(c.hi / c.resolution) + 2
    while q_hi * c.resolution > c.hi:
        q_hi -= 1
    return q_lo, q_hi


# per channel name (wire id, resolution, lowest and highest accepted integer): one dict lookup
# and two integer comparisons per value at 60 Hz x ~60 channels
_SPECS: Final = {c.name: (i, c.resolution, *_accepted(c)) for i, c in enumerate(CHANNELS)}
_REQUIRED_IDS: Final = frozenset(CHANNEL_ID[r] for r in REQUIRED)
T_ID: Final = CHANNEL_ID["t"]
_LAP_ID: Final = CHANNEL_ID["lap"]
_DIST_ID: Final = CHANNEL_ID["lap_dist"]
_DIST_RES: Final = CHANNELS[_DIST_ID].resolution
T_RES: Final = CHANNELS[T_ID].resolution  # seconds per unit of a quantised t


def _finished(source: Source) -> bool:
    # DemoCar(laps=N) and ReplaySource expose ``finished``; live games never finish
    flag = getattr(source, "finished", False)
    return bool(flag() if callable(flag) else flag)


class Producer:
    """Reads ``source`` at ``rate`` Hz on a daemon thread and spools every usable frame."""

    def __init__(
        self,
        source: Source,
        spool_path: str | Path,
        *,
        rate: float = 60.0,
        resume_window: float = RESUME_WINDOW,
        max_bytes: int = DEFAULT_MAX_BYTES,
        flush_every: float = FLUSH_EVERY,
        on_flush: FlushCallback | None = None,
        on_frame: FrameCallback | None = None,
    ) -> None:
        self.source = source
        self.stats = ProducerStats()
        self.done = threading.Event()  # set when the source finished or the thread stopped
        self._spool_path = Path(spool_path)
        self._period = 1.0 / rate  # seconds between reads
        self._resume_window = resume_window
        self._max_bytes = max_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="simcoach-producer", daemon=True)
        self._hello: dict[str, Any] | None = None
        self._info: SessionInfo | None = None  # the source's facts at the last tick
        self._uid: str | None = None
        self._seq = 0
        self._first_session = True
        self._after_t: int | None = None  # resumed: skip frames up to this quantised t, spooled
        self._warned: set[str] = set()  # channels whose refused values were logged this session
        # frames as read, not yet committed: quantised together at the flush, where the code
        # and tables are warm for all of them instead of cold at every 60 Hz tick
        self._pending: list[Frame] = []
        self._flush_at = 0.0  # monotonic seconds
        self._flush_every = flush_every  # seconds
        # told after each commit, with what was committed: the uplink sends it at once
        self._on_flush = on_flush
        # told every frame as it is read, on this thread (the cue board: cues.py); must be quick
        self._on_frame = on_frame

    def start(self) -> Producer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading; the current session stays open (resumable after a restart)."""
        self._stop.set()
        self._thread.join(timeout)

    def _main(self) -> None:
        spool = Spool(self._spool_path, max_bytes=self._max_bytes)
        try:
            self._loop(spool)
        except Exception as exc:  # reported on the status line; the CLI exits with it
            log.exception("producer failed")
            self.stats.error = f"{type(exc).__name__}: {exc}"
            self.stats.state = "failed"
        finally:
            self._flush(spool)
            spool.close()
            self.done.set()

    def _loop(self, spool: Spool) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            self._tick(spool)
            now = time.monotonic()
            if now >= self._flush_at:
                self._flush(spool)
                now = time.monotonic()
            if _finished(self.source):
                self._finish(spool)
                return
            next_tick += self._period
            delay = next_tick - now
            if delay < -1.0:
                next_tick = now  # fell far behind (suspend): do not try to catch up
            # time.sleep is high-resolution on Windows since 3.11; Event.wait is not (~15 ms)
            time.sleep(max(0.0, delay))

    def _tick(self, spool: Spool) -> None:
        # Read first: a replay (or any decoder-driven source) only knows the session's facts
        # once it has decoded something, so asking for them first would wait forever.
        frame = self.source.read()
        info = self.source.info()
        if info is None:
            self.stats.state = "menus"
            return
        if info != self._info:  # the facts are only compared when the source's differ
            self._info = info
            hello = hello_fields(info)
            if self._hello is None or not same_session(hello, self._hello):
                self._switch(spool, hello)
        if frame is not None:
            self._append(spool, frame)

    def _switch(self, spool: Spool, hello: dict[str, Any]) -> None:
        self._flush(spool)
        if self._uid is not None:
            spool.session_end(self._uid)
        resumed = spool.resumable(hello, max_age=self._resume_window) if self._first_session else None
        if resumed is not None:
            self._uid, self._seq = resumed.uid, resumed.next_seq
            self._after_t = None if resumed.last_t is None else round(resumed.last_t / T_RES)
            log.info("resuming session %s at seq %d", resumed.uid, resumed.next_seq)
        else:
            self._uid, self._seq = new_session_uid(hello["game"]), 0
            spool.session_open(self._uid, hello)
        if self._first_session:
            spool.session_end_all(keep=self._uid)  # leftovers of older runs: drain and close them
        self._first_session = False
        self._hello = hello
        self._warned = set()
        self.stats.session_uid = self._uid

    def _append(self, spool: Spool, frame: Frame) -> None:
        self._pending.append(frame)
        if self._on_frame is not None:
            self._on_frame(frame)

    def _flush(self, spool: Spool) -> None:
        # One transaction per flush_every instead of per frame; a kill -9 loses at most the
        # frames of the last flush_every seconds (they were never sent either).
        self._flush_at = time.monotonic() + self._flush_every
        if not self._pending or self._uid is None:
            return
        first, frames = self._seq, self._usable(self._pending)
        self._pending = []
        if not frames:
            return
        stored = spool.append_many(self._uid, first, frames)
        self._seq += stored
        self.stats.frames += stored
        self.stats.dropped += len(frames) - stored
        self._notify(frames[:stored])

    def _usable(self, raw: list[Frame]) -> list[QFrame]:
        """The frames the server will accept, quantised; the rest counted as dropped."""
        out: list[QFrame] = []
        refused: dict[str, Any] = {}
        for frame in raw:
            quantised = quantise_frame(frame, refused)
            if refused.keys() - self._warned:
                self._warn_refused(refused)
            if quantised is None:
                self.stats.dropped += 1
                continue
            if self._after_t is not None:
                # A source that hands out its recent past on start (the demo car's 1 s catch-up)
                # must not make a resumed session go back in time: the server has those frames.
                if quantised[T_ID] <= self._after_t:
                    continue
                self._after_t = None
            out.append(quantised)
        if out:
            last = out[-1]
            self.stats.lap = last[_LAP_ID]
            self.stats.newest = (last[T_ID] * T_RES, last[_LAP_ID], last[_DIST_ID] * _DIST_RES)
            self.stats.state = "driving"
        return out

    def _warn_refused(self, refused: dict[str, Any]) -> None:
        """Say once per channel and session that the reader's values are being left out: a
        channel that silently vanishes (a wrong unit, a game update) looks like a game without it."""
        for name in sorted(refused.keys() - self._warned):
            c = BY_NAME[name]
            log.warning(
                "channel %s left out: the reader gave %r, outside [%g, %g] %s (a wrong unit or a "
                "changed game layout?); further values out of range are left out silently "
                "this session",
                name,
                refused[name],
                c.lo,
                c.hi,
                c.unit,
            )
        self._warned |= refused.keys()

    def _notify(self, frames: list[QFrame]) -> None:
        # the frames go along with the news: the uplink sends them without reading them back
        if self._on_flush is not None and self._uid is not None:
            self._on_flush(self._uid, self._seq - len(frames), frames)

    def _finish(self, spool: Spool) -> None:
        self._flush(spool)
        if self._uid is not None:
            spool.session_end(self._uid)
            self._notify([])
        self.stats.state = "finished"
