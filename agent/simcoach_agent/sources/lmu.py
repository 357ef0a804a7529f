"""Le Mans Ultimate, native interface: the ``LMU_Data`` page (SharedMemoryObjectOut, pack 4).

Layout (324 820 B): generic @0, paths @332, scoring @1632 (ScoringInfoV01, size_t stream size,
then VehicleScoringInfoV01[104] @2192 and a 64 KiB results stream), telemetry @128464
(u8 activeVehicles, u8 playerVehicleIdx, bool playerHasVehicle, then TelemInfoV01[104]
@128468). The structs are rF2's, so ``rf2`` decodes them; LMU adds lap-invalidation and
ABS/TC-active bytes in TelemInfo's former expansion area.

The transport does not copy the whole page: it cuts out the scoring block (only when it
changed; the game writes it at 5 Hz) and the used telemetry slots. The decoder reads those
two chunks with offsets relative to the block starts.
"""

from __future__ import annotations

from typing import Final

from ..channels import Frame
from .base import SessionInfo
from .layout import Chunk, LayoutError, cstr, f64, i32
from .rf2 import (
    SCORING_INFO,
    SCORING_VEHICLE,
    TELEM_VEHICLE,
    Scoring,
    player_driving,
    player_scoring,
    session_info,
    telemetry_frame,
)
from .shm import ShmPage, require_windows

PAGE_NAME: Final = "LMU_Data"
PAGE_SIZE: Final = 324_820
MAX_VEHICLES: Final = 104
SCORING_AT: Final = 1632
SCORING_BLOCK: Final = SCORING_INFO + 12 + MAX_VEHICLES * SCORING_VEHICLE  # info, stream size, cars
VEHICLES_IN_BLOCK: Final = SCORING_INFO + 12  # VehicleScoringInfoV01[0] relative to SCORING_AT
TELEMETRY_AT: Final = 128_464
# Bytes LMU added inside TelemInfoV01 (relative to the car record).
LAP_INVALIDATED: Final = 745
ABS_ACTIVE: Final = 746
TC_ACTIVE: Final = 747
VEHICLE_MODEL: Final = 796


def split_page(page: bytes) -> list[Chunk]:
    """Cut a full LMU_Data copy into the two chunks the decoder reads."""
    if len(page) < PAGE_SIZE:
        raise LayoutError(
            f"LMU_Data is {len(page)} bytes, expected {PAGE_SIZE}; this LMU build changed its "
            "shared memory layout: update simcoach-agent, or use the rF2 plugin (--game rf2)"
        )
    active = min(page[TELEMETRY_AT], MAX_VEHICLES)
    telemetry = page[TELEMETRY_AT : TELEMETRY_AT + 4 + active * TELEM_VEHICLE]
    scoring = page[SCORING_AT : SCORING_AT + SCORING_BLOCK]
    return [("scoring", scoring), ("telemetry", telemetry)]


class LmuDecoder:
    game = "lmu"

    def __init__(self) -> None:
        self._scoring: Scoring | None = None
        self._last_elapsed: float | None = None
        self._info: SessionInfo | None = None

    def info(self) -> SessionInfo | None:
        return self._info

    def feed(self, chunks: list[Chunk], now: float) -> Frame | None:
        telemetry = None
        for tag, data in chunks:
            if tag == "scoring" and len(data) >= VEHICLES_IN_BLOCK:
                self._take_scoring(data)
            elif tag == "telemetry":
                telemetry = data
        if telemetry is None or len(telemetry) < 4 or not telemetry[2]:
            return None  # no page yet, or the player has no car (menus, spectating)
        off = 4 + telemetry[1] * TELEM_VEHICLE
        if off + TELEM_VEHICLE > len(telemetry):
            return None
        sc = player_driving(self._scoring)
        if sc is None:
            return None  # paused, replay (control 3) or AI driving
        if sc.vehicle_id != i32(telemetry, off):
            return None  # scoring still describes the previous car
        elapsed = f64(telemetry, off + 12)
        if elapsed == self._last_elapsed:
            return None  # nothing new since the last read
        self._last_elapsed = elapsed
        return self._frame(telemetry, off, sc, now)

    def _take_scoring(self, data: bytes) -> None:
        self._scoring = player_scoring(data, 0, VEHICLES_IN_BLOCK, MAX_VEHICLES)

    def _frame(self, telemetry: bytes, off: int, sc: Scoring, now: float) -> Frame:
        frame = telemetry_frame(telemetry, off, sc, now)
        if telemetry[off + LAP_INVALIDATED]:
            frame["lap_valid"] = 0.0
        frame["abs_active"] = 1.0 if telemetry[off + ABS_ACTIVE] else 0.0
        frame["tc_active"] = 1.0 if telemetry[off + TC_ACTIVE] else 0.0
        info = session_info("lmu", sc)
        model = cstr(telemetry, off + VEHICLE_MODEL, 30)
        if model:
            info = SessionInfo(
                game="lmu",
                track=info.track,
                car=model,
                kind=info.kind,
                car_class=info.car_class,
                track_length_m=info.track_length_m,
                extra={"entry": sc.car},
            )
        self._info = info
        return frame


class LmuTransport:
    """Double-reads the page and keeps it only if the player's clock did not move meanwhile.

    The game also offers a machine-wide spin lock (LMU_SharedMemoryLockData) and an update
    event. We take neither: the lock needs an interlocked compare-exchange that Python cannot
    do on shared memory, and waiting on the auto-reset event would steal it from other tools.
    """

    game = "lmu"

    def __init__(self, retries: int = 3) -> None:
        require_windows("lmu")
        self._page = ShmPage(PAGE_NAME, PAGE_SIZE)
        self._retries = retries
        self._scoring_stamp: bytes | None = None

    def poll(self) -> list[Chunk]:
        for _ in range(self._retries):
            page = self._page.read()
            again = self._page.read()
            if page is None or again is None:
                return []
            if _stamp(page) == _stamp(again):
                return self._changed(split_page(page))
        return []

    def _changed(self, chunks: list[Chunk]) -> list[Chunk]:
        scoring = chunks[0][1]
        stamp = scoring[64:76]  # mSession + mCurrentET
        if stamp == self._scoring_stamp:
            return chunks[1:]
        self._scoring_stamp = stamp
        return chunks

    def close(self) -> None:
        self._page.close()


def _stamp(page: bytes) -> bytes:
    """Bytes that change on every write: scoring mCurrentET and the player's mElapsedTime."""
    idx = page[TELEMETRY_AT + 1]
    car = TELEMETRY_AT + 4 + idx * TELEM_VEHICLE
    return page[SCORING_AT + 68 : SCORING_AT + 76] + page[car + 12 : car + 20]
