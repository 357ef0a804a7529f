"""InfluxDB stopped for 60 s and started again under a streaming rig (TRACE_STORE=influx).

During the outage the server cannot ack (it closes the rig socket with 1013 on each failed
write), so the agent's spool grows; the live view keeps getting frames (the consumer pushes
them before it writes) and the agent keeps reconnecting. After the restart the spool drains
and InfluxDB holds every frame exactly once.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from apps.accounts.services import rig_create
from apps.sessions.models import Session
from apps.traces.lib.influx import InfluxClient
from apps.traces.tracestore import get_trace_store
from tests.faults.harness import (
    Agent,
    Viewer,
    assert_whole,
    daphne,
    last_seq,
    record,
    session_outcome,
    stored_seqs_influx,
    wait_for,
)
from tests.influxd import influxd_available, start_influxd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults, pytest.mark.influx]

OUTAGE_S = 60.0


@pytest.fixture
def own_influxd(settings):  # type: ignore[no-untyped-def]
    """A private influxd: this test stops it, which must not hurt the session-wide one."""
    if not influxd_available():
        pytest.fail("influxd is not installed: apt-get install -y influxdb (.ci/run does this)")
    server = start_influxd()
    settings.TRACE_STORE, settings.INFLUX_URL = "influx", server.url
    settings.INFLUX_DB = f"f_{uuid.uuid4().hex[:12]}"
    InfluxClient(url=server.url, database=settings.INFLUX_DB).create_database()
    get_trace_store.cache_clear()
    yield server
    get_trace_store.cache_clear()
    server.stop()


def test_it_spools_through_a_60_s_influx_outage_and_drains(
    driver, tmp_path: Path, own_influxd, settings
) -> None:
    _, token = rig_create(owner=driver, name="Rig")
    env = {"TRACE_STORE": "influx", "INFLUX_URL": own_influxd.url, "INFLUX_DB": settings.INFLUX_DB}
    with daphne(**env) as server:
        viewer = Viewer(server.url, driver).start()
        car = Agent(server.url, token, tmp_path).start()
        try:
            wait_for(lambda: last_seq() > 6_000, 90, "lap 1 to be streaming")
            own_influxd.pause()
            down, peak = time.monotonic(), 0
            while time.monotonic() - down < OUTAGE_S:
                peak = max(peak, car.spool_frames())
                time.sleep(0.5)
            up = time.monotonic()
            held = last_seq()
            own_influxd.resume()
            recover = wait_for(lambda: last_seq() > held, 60, "acks after influxd is back")
            assert car.wait(180) == 0
        finally:
            car.stop()
            viewer.stop()
    during = viewer.frames_between(down, up)
    assert peak > 10_000  # the spool took the outage...
    assert car.spool_frames() == 0  # ...and drained
    assert during > 0  # the live view kept moving while nothing could be stored
    out = session_outcome(
        "InfluxDB stopped 60 s",
        car.demo_start,
        recover,
        outage_s=OUTAGE_S,
        spool_peak_frames=peak,
        viewer_frames_during_outage=during,
    )
    seqs = stored_seqs_influx(Session.objects.get().pk)
    assert sorted(seqs) == list(range(out.frames_sent))  # every frame in InfluxDB, once
    assert_whole(out)
    record(out)
