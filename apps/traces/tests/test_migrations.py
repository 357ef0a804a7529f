"""TraceChunk moved from apps.telemetry to apps.traces: a database made before the move keeps its frames."""

from __future__ import annotations

import numpy as np
import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.sessions.services import session_open
from apps.traces.models import TraceChunk
from apps.traces.tracestore import DbTraceStore

BEFORE_MOVE = [("telemetry", "0001_initial"), ("traces", None)]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def _latest() -> list[tuple[str, str | None]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_frames_written_before_the_move_read_back_after_it(driver) -> None:  # type: ignore[no-untyped-def]
    session = session_open(
        owner=driver,
        rig_id=None,
        agent_uid="m1",
        game="demo",
        track="Spa",
        car="Car",
        car_class="",
        kind="practice",
    )
    try:
        executor = _migrate(BEFORE_MOVE)
        old_apps = executor.loader.project_state(BEFORE_MOVE[:1]).apps
        with pytest.raises(LookupError):
            old_apps.get_model("traces", "TraceChunk")
        # Written through the store while the model still lived in telemetry: same table, same bytes.
        old_chunk = old_apps.get_model("telemetry", "TraceChunk")
        ContentType.objects.get_or_create(app_label="telemetry", model="tracechunk")
        cols = {"t": np.array([1.0, 2.0]), "speed": np.array([10.0, 20.0])}
        DbTraceStore().write(session_id=session.pk, user_id=driver.pk, seq_start=0, cols=cols)
        assert old_chunk.objects.filter(session_id=session.pk).count() == 1
    finally:
        _migrate(_latest())
    assert TraceChunk.objects.filter(session_id=session.pk).count() == 1
    back = DbTraceStore().read(session_id=session.pk, t0=0.0, t1=3.0)
    assert back["speed"].tolist() == [10.0, 20.0]
    assert ContentType.objects.filter(app_label="traces", model="tracechunk").count() == 1
    assert not ContentType.objects.filter(app_label="telemetry", model="tracechunk").exists()
