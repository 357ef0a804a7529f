"""Test data that goes through the real write path: demo laps streamed into a session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import User

from apps.sessions.models import Session
from apps.sessions.services import session_end, session_open
from apps.telemetry.lib.laps import GAME_TIME_GRACE_S
from apps.telemetry.services import IngestBatch, IngestCursor, IngestError, telemetry_batches_ingest
from simcoach_agent.channels import Frame
from simcoach_agent.sources.demo import DemoCar

BATCH = 600  # frames per ingest call: 10 s of the demo car's 60 Hz


def session_with_demo_laps(
    owner: User,
    laps: int = 3,
    *,
    end: bool = True,
    start_t: float = 1.7e9,
    drop: tuple[str, ...] = (),
    **demo: Any,
) -> Session:
    """A session of `laps` demo laps at Spa (lap 1 is the out-lap), stored like a rig's stream.

    `drop` names channels the stream leaves out (a game without positions: pos_x, pos_z...).
    `laps=0` streams a few seconds of the out-lap only. `demo` goes to DemoCar (noise, brake_earlier_m, corner_speed_delta_kmh, per_lap, ...).
    Lap analysis is only enqueued (after commit); tests call `lap_analyse` themselves.
    """
    car = DemoCar(0, start_t=start_t, realtime=False, **demo)
    info = car.info()
    session = session_open(
        owner=owner,
        rig_id=None,
        agent_uid=uuid.uuid4().hex,
        game=info.game,
        track=info.track,
        car=info.car,
        car_class=info.car_class,
        kind=info.kind,
        track_length_m=info.track_length_m,
    )
    seq, batch = 0, []
    for frame in _frames(car, laps):
        batch.append({k: v for k, v in frame.items() if k not in drop})
        if len(batch) == BATCH:
            seq = _ingest(session.pk, seq, batch)
            batch = []
    if batch:
        _ingest(session.pk, seq, batch)
    session.refresh_from_db()
    if end:
        session_end(session=session)
    return session


def _frames(car: DemoCar, laps: int) -> Iterator[Frame]:
    # Drive a little into lap laps+1: the last lap is only recorded once the game's time for
    # it arrives, and two identical noise-free laps leave that time unchanged, so the server
    # measures it after its grace period instead.
    end_t: float | None = None
    if laps == 0:  # five seconds of the out-lap: a live session before its first lap
        start: float | None = None
        for frame in car.frames():
            start = start or frame["t"]
            if frame["t"] > start + 5.0:
                return
            yield frame
    for frame in car.frames():
        if frame["lap"] > laps:
            end_t = end_t or frame["t"] + GAME_TIME_GRACE_S + 0.5
            if frame["t"] > end_t:
                return
        yield frame


def _ingest(session_id: int, seq: int, frames: list[dict[str, float]]) -> int:
    names = frames[0].keys()
    cursor = IngestCursor.of(Session.objects.get(pk=session_id))
    batch = IngestBatch(cursor, seq, {k: [f[k] for f in frames] for k in names})
    (outcome,) = telemetry_batches_ingest([batch])
    if isinstance(outcome, IngestError):
        raise outcome
    return seq + len(frames)
