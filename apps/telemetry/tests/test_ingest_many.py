"""One tick of the process: many sessions' batches stored by one call, each judged on its own."""

from __future__ import annotations

import numpy as np
import pytest

from apps.sessions.models import Lap, Session
from apps.sessions.services import session_open
from apps.telemetry.services import (
    ConcurrentWriterError,
    IngestBatch,
    IngestCursor,
    IngestError,
    IngestResult,
    telemetry_batches_ingest,
)
from apps.traces.lib.influx import InfluxClient, InfluxError
from apps.traces.tracestore import InfluxTraceStore, TraceStore
from simcoach_site.lib.net import free_port

from .frames import loop_frames, stored_count

pytestmark = pytest.mark.django_db(transaction=True)


def cols(start: int, n: int) -> dict[str, np.ndarray]:
    frames = loop_frames(start_seq=start, n=n)
    return {k: np.array([f[k] for f in frames], dtype=np.float64) for k in frames[0]}


def live(driver, uid: str) -> IngestCursor:  # type: ignore[no-untyped-def]
    session = session_open(owner=driver, rig_id=None, agent_uid=uid, game="demo", track="Loop", car="Car")
    return IngestCursor.of(session)


def test_each_batch_of_a_tick_is_judged_on_its_own(driver, isolated_trace_store: TraceStore) -> None:
    fresh, gappy, replayed = live(driver, "a"), live(driver, "b"), live(driver, "c")
    (first,) = telemetry_batches_ingest([IngestBatch(replayed, 0, cols(0, 60))])
    assert isinstance(first, IngestResult) and first.acked_seq == 59

    out = telemetry_batches_ingest(
        [
            IngestBatch(fresh, 0, cols(0, 90)),
            IngestBatch(gappy, 30, cols(30, 30)),  # frames 0..29 never came
            IngestBatch(replayed, 30, cols(30, 60)),  # half of it is stored already
        ]
    )

    ok, gap, again = out
    assert isinstance(ok, IngestResult) and (ok.acked_seq, ok.stored) == (89, 90)
    assert isinstance(gap, IngestError) and "sequence gap: expected 0, got 30" in str(gap)
    assert isinstance(again, IngestResult) and (again.acked_seq, again.stored) == (89, 30)
    assert (fresh.last_seq, gappy.last_seq, replayed.last_seq) == (89, -1, 89)
    rows = dict(Session.objects.values_list("pk", "last_seq"))
    assert rows == {fresh.session_id: 89, gappy.session_id: -1, replayed.session_id: 89}
    counts = [stored_count(c.session_id) for c in (fresh, gappy, replayed)]
    assert counts == [90, 0, 90]


def test_a_second_writer_of_a_session_in_the_same_tick_is_refused(
    driver, isolated_trace_store: TraceStore
) -> None:
    one = live(driver, "a")
    other = IngestCursor.of(Session.objects.get(pk=one.session_id))  # a second socket, same agent

    won, lost = telemetry_batches_ingest(
        [IngestBatch(one, 0, cols(0, 60)), IngestBatch(other, 0, cols(0, 60))]
    )

    assert isinstance(won, IngestResult) and won.acked_seq == 59
    assert isinstance(lost, ConcurrentWriterError)
    assert other.last_seq == -1  # its cursor is left as it was
    assert stored_count(one.session_id) == 60


def test_laps_go_to_the_session_that_completed_them(driver, isolated_trace_store: TraceStore) -> None:
    lapping, slow = live(driver, "a"), live(driver, "b")
    # 20 s laps at 60 Hz: 1300 frames cross the line once; 600 frames do not.
    out = telemetry_batches_ingest(
        [IngestBatch(lapping, 0, cols(0, 1300)), IngestBatch(slow, 0, cols(0, 600))]
    )

    laps = [o.laps if isinstance(o, IngestResult) else None for o in out]
    assert [[lap.number for lap in ls or []] for ls in laps] == [[1], []]
    assert list(Lap.objects.values_list("session_id", "number")) == [(lapping.session_id, 1)]


def test_a_failing_trace_store_stores_and_advances_nothing(driver, settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from apps.traces import services

    a, b = live(driver, "a"), live(driver, "b")
    # A real client against a port where nothing listens: the request fails on the wire.
    down = InfluxTraceStore(InfluxClient(url=f"http://127.0.0.1:{free_port()}", database="x", timeout_s=2))
    monkeypatch.setattr(services, "get_trace_store", lambda: down)

    with pytest.raises(InfluxError):
        telemetry_batches_ingest([IngestBatch(a, 0, cols(0, 60)), IngestBatch(b, 0, cols(0, 60))])

    assert (a.last_seq, b.last_seq) == (-1, -1)
    assert set(Session.objects.values_list("last_seq", "frame_count")) == {(-1, 0)}
