"""An agent restarted mid-session: the resumed stream keeps the session's sector layout.

Issue "Lap truth": a resumed session at Spa got four sectors (S2 = 0.000) and a theoretical
best 38 s under its real best. These tests stream the demo car through the real ingest
service, restart the "agent" mid-lap (a new cursor read back from the session row, frames
lost while it was down, a sector reading of 0 while it starts up) and read the laps back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest

from apps.sessions.lib.stats import lap_value, session_stats
from apps.sessions.models import Lap, Session
from apps.sessions.services import session_open
from apps.telemetry.lib.laps import CompletedLap, LapTracker
from apps.telemetry.services import IngestBatch, IngestCursor, IngestError, telemetry_batches_ingest
from simcoach_agent.channels import Frame
from simcoach_agent.sources.demo import DemoCar

pytestmark = pytest.mark.django_db
BATCH = 60  # frames per batch: the agent's 100 ms at 60 Hz is 6; bigger keeps the test quick


def _frames(laps: int) -> list[Frame]:
    out = []
    for frame in DemoCar(0, start_t=1.7e9, realtime=False).frames():
        if frame["lap"] > laps + 1 or (frame["lap"] == laps + 1 and frame["lap_dist"] > 300):
            return out
        out.append(frame)
    return out


def _stream(session: Session, frames: list[Frame], seq: int) -> int:
    # Each call is a fresh connection: the cursor is read back from the row, as a restarted
    # agent's new socket does in RigTelemetryConsumer._hello.
    cursor = IngestCursor.of(Session.objects.get(pk=session.pk))
    for batch in _batches(frames):
        names = batch[0].keys()
        cols = {k: [f[k] for f in batch] for k in names}
        (outcome,) = telemetry_batches_ingest([IngestBatch(cursor, seq, cols)])
        assert not isinstance(outcome, IngestError), outcome
        seq += len(batch)
    return seq


def _batches(frames: list[Frame]) -> Iterator[list[Frame]]:
    for i in range(0, len(frames), BATCH):
        yield frames[i : i + BATCH]


def _session(driver) -> Session:  # type: ignore[no-untyped-def]
    info = DemoCar(0).info()
    return session_open(
        owner=driver, rig_id=None, agent_uid=uuid.uuid4().hex, game=info.game, track=info.track,
        car=info.car, car_class=info.car_class, kind=info.kind, track_length_m=info.track_length_m,
    )  # fmt: skip


def _index(frames: list[Frame], lap: int, sector: int) -> int:
    return next(i for i, f in enumerate(frames) if f["lap"] == lap and f["sector"] == sector)


def _laps(session: Session) -> list[Lap]:
    return list(Lap.objects.filter(session=session).order_by("number"))


def test_it_keeps_three_sectors_after_a_restart_with_a_startup_sector_reading(driver) -> None:  # type: ignore[no-untyped-def]
    frames = _frames(laps=4)
    session = _session(driver)
    # Killed 5 s into lap 3's second sector; back 4 s later, and for its first half second the
    # restarted reader says sector 0 (the game's "unknown") before the real one.
    kill = _index(frames, 3, 1) + 300
    back = kill + 240
    resumed = [dict(f, sector=0.0) if i < back + 30 else f for i, f in enumerate(frames) if i >= back]
    seq = _stream(session, frames[:kill], 0)
    _stream(session, resumed, seq)

    laps = _laps(session)
    assert [lap.number for lap in laps] == [1, 2, 3, 4]
    for lap in laps[1:]:
        assert len(lap.sector_ms) == 3 and all(s > 0 for s in lap.sector_ms), (lap.number, lap.sector_ms)
        assert abs(sum(lap.sector_ms) - lap.time_ms) <= 3
    # The hole held no boundary, so lap 3 keeps its sectors; the session's numbers stay true.
    stats = session_stats(lap_value(lap) for lap in laps)
    assert stats.best is not None and stats.theoretical_best_ms is not None
    assert stats.best.time_ms - 150 <= stats.theoretical_best_ms <= stats.best.time_ms
    assert Session.objects.get(pk=session.pk).live_state["sector_count"] == 3


def test_it_drops_only_the_sectors_a_hole_hid(driver) -> None:  # type: ignore[no-untyped-def]
    frames = _frames(laps=4)
    session = _session(driver)
    boundary = _index(frames, 3, 2)  # lap 3's S2/S3 boundary falls while the agent is down
    seq = _stream(session, frames[: boundary - 120], 0)
    _stream(session, frames[boundary + 120 :], seq)

    by_number = {lap.number: lap for lap in _laps(session)}
    assert by_number[3].sector_ms == []  # its split would be the resumed frame's, 2 s late
    assert by_number[3].time_ms is not None and by_number[3].valid  # the game's time is still right
    assert len(by_number[4].sector_ms) == 3 and len(by_number[2].sector_ms) == 3
    stats = session_stats(lap_value(lap) for lap in by_number.values())
    assert stats.theoretical_best_ms is not None and stats.best is not None
    assert stats.theoretical_best_ms >= stats.best.time_ms - 150


def test_it_marks_the_lap_begun_in_a_hole_partial(driver) -> None:  # type: ignore[no-untyped-def]
    frames = _frames(laps=4)
    session = _session(driver)
    line = next(i for i, f in enumerate(frames) if f["lap"] == 4)
    seq = _stream(session, frames[: line - 60], 0)
    _stream(session, frames[line + 180 :], seq)  # 4 s without frames across the line

    lap4 = next(lap for lap in _laps(session) if lap.number == 4)
    assert lap4.stats["partial"] and not lap4.valid and lap4.sector_ms == []
    assert not lap_value(lap4).green


def _columns(frames: list[Frame]) -> dict[str, np.ndarray]:
    return {k: np.array([f[k] for f in frames], dtype=np.float64) for k in frames[0]}


def _track(frames: list[Frame]) -> list[CompletedLap]:
    tracker, out = LapTracker(), []
    for batch in _batches(frames):
        out += tracker.feed(_columns(batch))
    return out


def test_it_reads_a_sector_published_a_tick_after_the_line_as_the_new_lap_s_first() -> None:
    frames = _frames(laps=3)
    lines = [i for i in range(1, len(frames)) if frames[i]["lap"] != frames[i - 1]["lap"]]
    # The game moves its lap counter three frames before its sector index.
    lagging = [
        dict(f, sector=frames[i - 1]["sector"]) if any(0 <= i - k < 3 for k in lines) else f
        for i, f in enumerate(frames)
    ]
    laps = _track(lagging)
    assert [len(lap.sectors_s) for lap in laps] == [3, 3, 3]
    assert laps[1].sectors_s == _track(frames)[1].sectors_s


def test_it_ignores_a_one_frame_sector_glitch() -> None:
    frames = _frames(laps=3)
    mid = _index(frames, 2, 1) + 600  # ten seconds into lap 2's second sector
    glitched = [dict(f, sector=0.0) if i == mid else f for i, f in enumerate(frames)]
    assert [lap.sectors_s for lap in _track(glitched)] == [lap.sectors_s for lap in _track(frames)]
