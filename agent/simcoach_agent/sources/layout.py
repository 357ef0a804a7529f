"""Pieces every game reader shares: byte helpers, the decoder contract, the polled source.

A game reader is two halves. A *transport* fetches raw bytes (shared-memory pages, UDP
datagrams) and hands them out as ``(tag, bytes)`` chunks; a *decoder* turns chunks into frames
in the units of ``channels.py``. Decoders are pure and run the same on every OS, so tests and
``ReplaySource`` feed them recorded or synthesized bytes.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Protocol

from ..channels import Frame
from .base import SessionInfo

Chunk = tuple[str, bytes]  # (tag: page name or "udp", raw bytes)
STANDARD_G = 9.80665  # m/s² per g
RAD_S_TO_RPM = 60.0 / (2.0 * math.pi)


class LayoutError(RuntimeError):
    """The game wrote a layout version this reader does not know; the text says what to do."""


class Decoder(Protocol):
    game: str

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        """Decode one poll's chunks; return a frame only if they hold new live data."""
        ...

    def info(self) -> SessionInfo | None: ...


class Transport(Protocol):
    game: str

    def poll(self) -> list[Chunk]:
        """Raw chunks that arrived since the last call (empty when nothing new). Never blocks."""
        ...

    def close(self) -> None: ...


class PolledSource:
    """A Source made of a transport and a decoder: what every live game reader is."""

    def __init__(self, transport: Transport, decoder: Decoder) -> None:
        self.game = decoder.game
        self.transport = transport
        self.decoder = decoder

    def read(self) -> Frame | None:
        chunks = self.transport.poll()
        if not chunks:
            return None
        return self.decoder.feed(chunks, time.time())

    def info(self) -> SessionInfo | None:
        return self.decoder.info()

    def close(self) -> None:
        self.transport.close()


def u8(buf: bytes, off: int) -> int:
    return buf[off]


def i8(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<b", buf, off)[0])


def u16(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", buf, off)[0])


def i16(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<h", buf, off)[0])


def i32(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<i", buf, off)[0])


def u32(buf: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", buf, off)[0])


def f32(buf: bytes, off: int) -> float:
    return float(struct.unpack_from("<f", buf, off)[0])


def f64(buf: bytes, off: int) -> float:
    return float(struct.unpack_from("<d", buf, off)[0])


def f32s(buf: bytes, off: int, n: int) -> tuple[float, ...]:
    return struct.unpack_from(f"<{n}f", buf, off)


def f64s(buf: bytes, off: int, n: int) -> tuple[float, ...]:
    return struct.unpack_from(f"<{n}d", buf, off)


def cstr(buf: bytes, off: int, size: int) -> str:
    """A NUL-terminated 8-bit string in a fixed buffer; games write UTF-8 (or Latin-1)."""
    raw = buf[off : off + size].split(b"\0", 1)[0]
    return raw.decode("utf-8", errors="replace")


def wstr(buf: bytes, off: int, chars: int) -> str:
    """A NUL-terminated wchar_t (UTF-16LE on Windows) string in a fixed buffer of ``chars``."""
    raw = buf[off : off + 2 * chars].decode("utf-16-le", errors="replace")
    return raw.split("\0", 1)[0]


def lap_time_or_none(seconds: float) -> float:
    """Games mark 'no time' with 0, negatives or huge sentinels; the channel wants -1."""
    if not math.isfinite(seconds) or seconds <= 0.0 or seconds > 36_000.0:
        return -1.0
    return seconds


def clamp(v: float, lo: float, hi: float) -> float:
    return lo if v < lo else hi if v > hi else v


def sided_temps(
    wheel: int, left: float, centre: float, right: float, frame: Frame, unit_offset: float
) -> None:
    """Store a tyre's three tread temperatures as inner/middle/outer.

    Games give them left/centre/right across the tread as seen from behind the car, so the
    inner edge is the right-hand one on a left wheel (FL, RL) and the left-hand one on a right
    wheel. ``unit_offset`` is subtracted (273.15 for Kelvin, 0 for °C).
    """
    w = ("fl", "fr", "rl", "rr")[wheel]
    inner, outer = (right, left) if wheel in (0, 2) else (left, right)
    frame[f"tyre_temp_in_{w}"] = inner - unit_offset
    frame[f"tyre_temp_mid_{w}"] = centre - unit_offset
    frame[f"tyre_temp_out_{w}"] = outer - unit_offset
