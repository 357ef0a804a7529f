"""Record raw game bytes, and replay them through the same decoders as a live game.

An iRacing `.ibt` file replays too: its rows are the live sim's rows (see iracing.py).

A recording is a gzip stream of msgpack maps: first a header
``{"format": "simcoach-rec", "version": 1, "game": ..., "decoder": ...}``, then one record per
chunk ``{"t": seconds since the epoch, "tag": page name or "udp", "data": raw bytes}``. The
chunks of one transport poll share the same ``t``, which is how replay regroups them.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import msgpack

from ..channels import Frame
from .base import SessionInfo
from .layout import Chunk, Decoder, LayoutError, Transport

FORMAT: Final = "simcoach-rec"
VERSION: Final = 1
Poll = tuple[float, list[Chunk]]


def make_decoder(kind: str) -> Decoder:
    """The decoder for a recording's ``decoder`` name (a game, or ams2-udp)."""
    from .acc import AccDecoder
    from .ams2 import Ams2ShmDecoder, Ams2UdpDecoder
    from .iracing import IracingDecoder
    from .lmu import LmuDecoder
    from .r3e import R3eDecoder
    from .rf2 import Rf2Decoder

    makers: dict[str, Callable[[], Decoder]] = {
        "acc": AccDecoder,
        "r3e": R3eDecoder,
        "rf2": Rf2Decoder,
        "lmu": LmuDecoder,
        "ams2": Ams2ShmDecoder,
        "ams2-udp": Ams2UdpDecoder,
        "iracing": IracingDecoder,
    }
    if kind not in makers:
        raise LayoutError(f"recording uses decoder {kind!r}, which this agent does not have")
    return makers[kind]()


class RecordingWriter:
    def __init__(self, path: str | Path, game: str, decoder: str | None = None) -> None:
        self._file = gzip.GzipFile(path, "wb", compresslevel=6)
        self._write({"format": FORMAT, "version": VERSION, "game": game, "decoder": decoder or game})
        self.records = 0

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(msgpack.packb(obj, use_bin_type=True))

    def poll(self, t: float, chunks: list[Chunk]) -> None:
        for tag, data in chunks:
            self._write({"t": t, "tag": tag, "data": bytes(data)})
            self.records += 1

    def close(self) -> None:
        self._file.close()


def write_recording(path: str | Path, game: str, polls: Iterable[Poll], decoder: str | None = None) -> int:
    """Write synthesized (or captured) polls to ``path``; returns the number of records."""
    writer = RecordingWriter(path, game, decoder)
    try:
        for t, chunks in polls:
            writer.poll(t, chunks)
    finally:
        writer.close()
    return writer.records


def record(
    transport: Transport,
    path: str | Path,
    seconds: float | None = None,
    *,
    rate_hz: float = 60.0,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Poll ``transport`` at ``rate_hz`` and store every chunk until ``seconds`` or ``stop()``."""
    kind = getattr(transport, "kind", transport.game)
    writer = RecordingWriter(path, transport.game, kind)
    start = time.monotonic()
    try:
        while seconds is None or time.monotonic() - start < seconds:
            if stop is not None and stop():
                break
            chunks = transport.poll()
            if chunks:
                writer.poll(time.time(), chunks)
            time.sleep(1.0 / rate_hz)
    finally:
        writer.close()
    return writer.records


def read_recording(path: str | Path) -> tuple[dict[str, Any], Iterator[Poll]]:
    """The header and an iterator over polls (chunks regrouped by their shared timestamp)."""
    f = gzip.GzipFile(path, "rb")
    unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=64 * 1024 * 1024)
    try:
        header = next(unpacker, None)
    except (OSError, EOFError, ValueError):  # not gzip (BadGzipFile), cut short, not msgpack
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        f.close()
        raise LayoutError(f"{path} is not a SimCoach recording")
    if header.get("version") != VERSION:
        f.close()
        raise LayoutError(f"{path}: recording format version {header.get('version')} is not supported")
    return header, _polls(unpacker, f)


def _polls(unpacker: msgpack.Unpacker, f: gzip.GzipFile) -> Iterator[Poll]:
    current: Poll | None = None
    try:
        for rec in unpacker:
            t, chunk = float(rec["t"]), (str(rec["tag"]), bytes(rec["data"]))
            if current is not None and current[0] == t:
                current[1].append(chunk)
                continue
            if current is not None:
                yield current
            current = (t, [chunk])
        if current is not None:
            yield current
    finally:
        f.close()


def _ibt_as_recording(path: str | Path) -> tuple[dict[str, Any], Iterator[Poll]] | None:
    """An iRacing `.ibt` replays as a recording of the live sim: its rows have the live layout."""
    from .iracing import is_ibt, polls_from_ibt

    if not is_ibt(path):
        return None
    header = {"format": FORMAT, "version": VERSION, "game": "iracing", "decoder": "iracing"}
    return header, polls_from_ibt(path)


class ReplaySource:
    """A Source that plays a recording back through the game's own decoder.

    ``realtime=True`` releases polls as their recorded time comes round (scaled by ``speed``)
    and stamps frames with the current time; ``realtime=False`` feeds one poll per ``read()``
    and keeps the recorded timestamps, which is what tests want.
    """

    def __init__(self, path: str | Path, speed: float = 1.0, realtime: bool = True) -> None:
        self.header, self._polls = _ibt_as_recording(path) or read_recording(path)
        self.game: str = str(self.header["game"])
        self.decoder = make_decoder(str(self.header.get("decoder") or self.game))
        self.speed = speed
        self.realtime = realtime
        self.finished = False
        self._pending: Poll | None = None
        self._t0_rec: float | None = None
        self._t0_wall = time.time()

    def read(self) -> Frame | None:
        if not self.realtime:
            poll = self._next()
            return None if poll is None else self.decoder.feed(poll[1], poll[0])
        newest: Frame | None = None
        while (poll := self._due()) is not None:
            frame = self.decoder.feed(poll[1], self._wall(poll[0]))
            newest = frame if frame is not None else newest
        return newest

    def _next(self) -> Poll | None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            return pending
        poll = next(self._polls, None)
        if poll is None:
            self.finished = True
        elif self._t0_rec is None:
            self._t0_rec = poll[0]
        return poll

    def _due(self) -> Poll | None:
        poll = self._next()
        if poll is None:
            return None
        if self._wall(poll[0]) > time.time():
            self._pending = poll  # not yet: keep it for a later read()
            return None
        return poll

    def _wall(self, t_rec: float) -> float:
        assert self._t0_rec is not None
        return self._t0_wall + (t_rec - self._t0_rec) / self.speed

    def info(self) -> SessionInfo | None:
        return self.decoder.info()

    def close(self) -> None:
        self.finished = True
        closer = getattr(self._polls, "close", None)
        if closer is not None:
            closer()  # closes the gzip file inside the generator
