"""What every frame source (a game reader, the demo car, a replay) offers the uplink."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ..channels import Frame


@dataclass(frozen=True)
class SessionInfo:
    """Facts about the session that do not change frame to frame; sent in the hello."""

    game: str  # one of channels.GAMES
    track: str
    car: str
    kind: str = "practice"  # one of channels.SESSION_KINDS
    car_class: str = ""
    track_length_m: float | None = None
    extra: dict[str, str] = field(default_factory=dict)


class Source(Protocol):
    game: str

    def read(self) -> Frame | None:
        """Return the newest frame if the game produced one since the last call, else None.

        Never blocks for long and never spins: the caller paces the calls (60 Hz by default).
        The caller keeps the dict until its next commit (~100 ms): return a new one each time.
        """
        ...

    def info(self) -> SessionInfo | None:
        """The current session's facts, or None while the game is in menus."""
        ...

    def close(self) -> None: ...
