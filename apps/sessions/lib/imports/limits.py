"""What an import may cost, and the readers that enforce it before anything is allocated.

A file from a stranger says how big it is (descriptor counts, rates, header rows); we believe
none of it until it matches the bytes we actually have. Every limit here turns into an
ImportFormatError that names it, which the service answers with a 400. The numbers are far
above any real recording (an ACC stint: 55 channels, 3 200 samples/s; a Crew Chief session:
~35 fields, 60 rows/s; a Garage 61 lap: 18 columns, 5 000 rows) and far below what hurts a
server: decoded data is at most MAX_SAMPLES float64 values (400 MB would be the ceiling; the
readers keep one channel or compact float arrays at a time, see bench/import_rss.py).
"""

from __future__ import annotations

import io
import math
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import BinaryIO

from .result import ImportedSession, ImportFormatError

# ---- MoTeC .ld
LD_MAX_CHANNELS = 1024  # ACC writes 37-55; i2 Pro logs a few hundred at most
LD_MAX_SAMPLES = 40_000_000  # samples over all channels: 3.5 h of ACC at 3 200 samples/s
# The resampled output (channels × main-rate timeline) may be this many times the samples the
# file holds: ACC's mix of 20-200 Hz channels on a 60 Hz base comes to 0.7-1.8×. A patched
# rate or count that stretches the timeline beyond its data is refused, not materialised.
LD_MAX_EXPANSION = 4
LD_MAX_DEC = 30  # |dec| in value = raw × 10^-dec; 10^±308 overflows and no sensor needs > 10^30
LD_MAX_RATE_HZ = 10_000  # MoTeC loggers log at most 1 kHz; 10 kHz leaves room for odd exporters

# ---- .ldx sidecars
LDX_MAX_MARKERS = 10_000  # one per lap crossing: 10 000 laps is a 24-hour race three times over

# ---- CSV (Garage 61, Crew Chief)
CSV_MAX_COLUMNS = 512  # Crew Chief exports ~35 fields, Garage 61 18 columns
CSV_MAX_CELLS = 16_000_000  # numeric cells kept (8 bytes each): 128 MB; 2 h of Crew Chief at 60 Hz
CSV_MAX_LINE = 64 * 1024  # characters in one line; real lines are a few hundred

# ---- laps
MAX_LAPS = 2_000  # laps in one import; each becomes a row and an analysis job

MAX_LAP_S = 24 * 3600.0  # a lap time beyond a day is a damaged value, not a lap
MAX_LAP_NUMBER = 1_000_000
MAX_TRACK_M = 100_000.0  # the Nordschleife is 20.8 km; 100 km is a damaged speed channel

# ---- time
# Every cap above bounds memory; a time limit (settings.IMPORT_TIME_LIMIT_S) bounds the CPU a
# file may take in the request that uploaded it (a file at the value cap parses in ~15 s).
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("import_deadline", default=None)
# Where readers check the time they have also made progress: the same places tell the caller.
_tick: ContextVar[Callable[[], None] | None] = ContextVar("import_tick", default=None)


@contextmanager
def time_limit(seconds: float | None, tick: Callable[[], None] | None = None) -> Iterator[None]:
    """Let the readers inside run for at most `seconds` (None: no limit); see check_time.

    `tick` is called at each check (every channel, few thousand lines or inflated chunk), so
    the caller can report how far the file has been read; it must be cheap.
    """
    token = _deadline.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    tick_token = _tick.set(tick)
    try:
        yield
    finally:
        _tick.reset(tick_token)
        _deadline.reset(token)


def check_time() -> None:
    """Raise ImportFormatError once the current import's time limit has passed.

    Called where readers loop (every few thousand lines, every channel, every inflated
    chunk): cooperative, so a slow file gives up cleanly instead of holding the process.
    """
    tick = _tick.get()
    if tick is not None:
        tick()
    limit = _deadline.get()
    if limit is not None and time.monotonic() > limit[0]:
        raise ImportFormatError(
            f"reading the file took longer than {limit[1]:.0f} s (IMPORT_TIME_LIMIT_S): too large or too "
            "complex to import here"
        )


# ---- gzip
GZIP_MAX_RATIO = 32  # inflated / compressed; real Crew Chief CSVs are 8-19×, ACC .ld 2×
GZIP_MAX_BYTES = 256 * 1024 * 1024  # inflated, whatever the ratio


def gzip_limit(compressed_size: int) -> int:
    """How many bytes a gzip stream of `compressed_size` bytes may inflate to."""
    return min(GZIP_MAX_BYTES, max(compressed_size, 1) * GZIP_MAX_RATIO)


class CappedInflate(io.RawIOBase):
    """A raw stream of the inflated content of a gzip file that refuses to grow past `limit`.

    zlib's `max_length` means no call ever holds more than one read's worth of output, so a
    bomb is stopped after inflating `limit` bytes, not after filling memory or disk.
    """

    def __init__(self, source: BinaryIO, limit: int) -> None:
        super().__init__()
        self._source = source
        self._limit = limit
        self._inflated = 0
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed input zlib has not consumed yet
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        want = len(buffer)
        while not self._eof:
            out = self._inflate(want)
            if out:
                buffer[: len(out)] = out
                return len(out)
        return 0

    def _inflate(self, want: int) -> bytes:
        if not self._pending:
            self._pending = self._inflater.unconsumed_tail or self._source.read(64 * 1024)
            if not self._pending and self._inflater.eof is False:
                raise ImportFormatError("gzip: the compressed file is cut short")
        check_time()
        try:
            out = self._inflater.decompress(self._pending, want)
        except zlib.error as exc:
            raise ImportFormatError(f"gzip: the compressed data is damaged ({exc})") from None
        self._pending = self._inflater.unconsumed_tail
        if self._inflater.eof:
            self._next_member()
        self._inflated += len(out)
        if self._inflated > self._limit:
            raise ImportFormatError(
                f"gzip: the file inflates to more than {self._limit // (1024 * 1024)} MB "
                f"({GZIP_MAX_RATIO}× its size, at most {GZIP_MAX_BYTES // (1024 * 1024)} MB): "
                "not a telemetry log"
            )
        return out

    def _next_member(self) -> None:
        """gzip allows several members back to back; anything else after the end is ignored."""
        rest = self._inflater.unused_data or self._source.read(64 * 1024)
        if rest.startswith(b"\x1f\x8b"):
            self._inflater = zlib.decompressobj(wbits=31)
            self._pending = rest
        else:
            self._eof = True
            self._pending = b""


def inflate(source: BinaryIO, limit: int) -> io.BufferedReader:
    """A buffered binary stream of `source`'s inflated content, capped at `limit` bytes."""
    return io.BufferedReader(CappedInflate(source, limit), buffer_size=64 * 1024)


def bounded_lines(stream: io.TextIOBase, max_line: int = CSV_MAX_LINE) -> Iterator[str]:
    """The lines of a text stream, refusing one longer than `max_line` characters.

    Iterating a TextIOWrapper reads a whole line whatever its size: a file without line ends
    would be read into memory in one piece. `readline(limit)` stops at the limit instead.
    """
    number = 0
    while True:
        line = stream.readline(max_line + 1)
        if not line:
            return
        number += 1
        if number % 4096 == 0:
            check_time()
        if len(line) > max_line:
            raise ImportFormatError(
                f"CSV: line {number} is longer than {max_line} characters (limit CSV_MAX_LINE): "
                "not a telemetry export"
            )
        yield line


def check_columns(what: str, count: int) -> None:
    if count > CSV_MAX_COLUMNS:
        raise ImportFormatError(
            f"{what}: {count} columns; at most {CSV_MAX_COLUMNS} are accepted (limit CSV_MAX_COLUMNS)"
        )


def check_cells(what: str, rows: int, columns: int) -> None:
    if rows * columns > CSV_MAX_CELLS:
        raise ImportFormatError(
            f"{what}: more than {CSV_MAX_CELLS:,} values ({rows:,} rows × {columns} columns); "
            "the limit is CSV_MAX_CELLS"
        )


def check_laps(what: str, count: int) -> None:
    if count > MAX_LAPS:
        raise ImportFormatError(f"{what}: {count} laps; at most {MAX_LAPS} are accepted (limit MAX_LAPS)")


def check_session(found: ImportedSession) -> None:
    """Refuse numbers no recording has (a junk speed cell can make a lap 10^300 s long) before
    they reach the database, whose integer and date columns would fail on them with a 500."""
    what = found.source_format
    check_laps(what, len(found.laps))
    for lap in found.laps:
        if not -MAX_LAP_NUMBER <= lap.number <= MAX_LAP_NUMBER:  # games count from -1, 0 or 1
            raise ImportFormatError(f"{what}: lap number {lap.number} is out of range (damaged lap counter?)")
        if not all(math.isfinite(x) for x in (lap.start_t, lap.end_t, lap.time_s)) or not (
            0 <= lap.time_s <= MAX_LAP_S
        ):
            raise ImportFormatError(
                f"{what}: lap {lap.number} has a time of {lap.time_s:.6g} s; "
                f"a lap takes 0 to {MAX_LAP_S:.0f} s (damaged speed or time values?)"
            )
    length = found.track_length_m
    if length is not None and not (math.isfinite(length) and 0 < length <= MAX_TRACK_M):
        raise ImportFormatError(
            f"{what}: the laps measure {length:.6g} m; a track is up to {MAX_TRACK_M:.0f} m "
            "(damaged speed or distance values?)"
        )
