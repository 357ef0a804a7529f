"""Frame sources: the game readers, the demo car and replays, behind one registry."""

from __future__ import annotations

import socket
import time
from typing import Any, Final

from .base import SessionInfo, Source
from .layout import LayoutError, PolledSource
from .shm import SharedMemoryUnavailable, mapping_exists

__all__ = [
    "LayoutError",
    "SessionInfo",
    "SharedMemoryUnavailable",
    "Source",
    "UnknownGame",
    "detect_game",
    "open_source",
]

KNOWN: Final = ("acc", "r3e", "lmu", "rf2", "ams2", "demo", "replay", "iracing")
# Checked in this order: LMU also creates the rF2 plugin's buffers when the plugin is on, and
# its native page is the better source, so it comes before rf2.
MAPPINGS: Final = (
    ("Local\\acpmf_physics", "acc"),
    ("$R3E", "r3e"),
    ("LMU_Data", "lmu"),
    ("$rFactor2SMMP_Telemetry$", "rf2"),
    ("$pcars2$", "ams2"),
    # the SDK's file exists while the sim runs (no setting to switch on); the reader then
    # waits for the header's "connected" bit
    ("Local\\IRSDKMemMapFileName", "iracing"),
)


class UnknownGame(ValueError):
    """``open_source`` was asked for a game it has no reader for."""


def open_source(game: str, **opts: Any) -> Source:
    """A live Source for ``game``; see docs/games.md for what each game needs switched on.

    Options: ams2 ``transport`` ("shm" or "udp"; default shm on Windows, udp elsewhere),
    ``udp_port`` (5606), ``host``; demo: passed to ``DemoCar``; replay: ``path``, ``speed``,
    ``realtime``.
    """
    name = game.strip().lower()
    if name == "demo":
        from .demo import DemoCar  # written alongside; imported only when asked for

        return DemoCar(**opts)
    if name == "replay":
        from .recording import ReplaySource

        return ReplaySource(**opts)
    if name == "ams2":
        return _ams2(**opts)
    if name in ("acc", "r3e", "lmu", "rf2", "iracing"):
        return _shm_source(name)
    raise UnknownGame(f"unknown game {game!r}; choose one of: {', '.join(KNOWN)}")


def _shm_source(name: str) -> Source:
    if name == "acc":
        from .acc import AccDecoder, AccTransport

        return PolledSource(AccTransport(), AccDecoder())
    if name == "r3e":
        from .r3e import R3eDecoder, R3eTransport

        return PolledSource(R3eTransport(), R3eDecoder())
    if name == "iracing":
        from .iracing import IracingDecoder, IracingTransport

        return PolledSource(IracingTransport(), IracingDecoder())
    if name == "lmu":
        from .lmu import LmuDecoder, LmuTransport

        return PolledSource(LmuTransport(), LmuDecoder())
    from .rf2 import Rf2Decoder, Rf2Transport

    return PolledSource(Rf2Transport(), Rf2Decoder())


def _ams2(transport: str | None = None, udp_port: int = 5606, host: str = "0.0.0.0") -> Source:
    from .ams2 import Ams2ShmDecoder, Ams2ShmTransport, Ams2UdpSource
    from .shm import IS_WINDOWS

    kind = transport or ("shm" if IS_WINDOWS else "udp")
    if kind == "udp":
        return Ams2UdpSource(port=udp_port, host=host)
    if kind == "shm":
        return PolledSource(Ams2ShmTransport(), Ams2ShmDecoder())
    raise UnknownGame(f"unknown AMS2 transport {transport!r}; use 'shm' or 'udp'")


def detect_game(udp_port: int = 5606, udp_wait: float = 0.25, host: str = "0.0.0.0") -> str | None:
    """The running game: whose shared memory exists, else 'ams2' if UDP packets arrive."""
    for mapping, game in MAPPINGS:
        if mapping_exists(mapping):
            return game
    if udp_wait > 0 and _udp_arriving(udp_port, udp_wait, host):
        return "ams2"
    return None


def _udp_arriving(port: int, wait: float, host: str) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        return False  # someone else holds the port (maybe the agent itself)
    deadline = time.monotonic() + wait
    try:
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(2048)
            except TimeoutError:
                return False
            if len(data) >= 12:
                return True
        return False
    finally:
        sock.close()
