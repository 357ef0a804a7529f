"""The stranded rig (issue 18): Daphne killed mid-session, the silence sweep ends the session
during the outage, Daphne restarted. The agent is told its session has ended and continues the
frames it holds as a new session: every frame stored once, no reconnect loop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from apps.accounts.services import rig_create
from apps.sessions.models import Lap, Session
from apps.sessions.services import sessions_close_idle
from apps.traces.tracestore import get_trace_store
from tests.faults.harness import Agent, Daphne, Outcome, demo_truth, last_seq, record, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

OUTAGE_S = 8.0  # wall seconds: 80 s of the demo car's driving wait in the spool


def test_it_moves_a_session_swept_during_an_outage_on_and_stores_every_frame_once(
    driver, tmp_path: Path
) -> None:
    _, token = rig_create(owner=driver, name="Rig")
    server = Daphne().start()
    car = Agent(server.url, token, tmp_path).start()
    try:
        wait_for(lambda: last_seq() > 6_000, 90, "lap 1 to be streaming")
        server.kill()
        time.sleep(OUTAGE_S)
        # The sweep's own query, with a cutoff past the demo clock (it runs 10x the wall's,
        # so its frame times lie ahead of now): what any outage over SESSION_SILENCE_TIMEOUT_S does.
        assert sessions_close_idle(silence_s=-86_400) == 1
        (first,) = Session.objects.all()
        assert first.state == Session.State.ENDED
        server.start()
        recover = wait_for(
            lambda: last_seq(state=Session.State.LIVE) >= 0, 60, "a new session to store frames"
        )
        assert car.wait(120) == 0
    finally:
        car.stop()
        server.stop()
    connects = max(line.get("connects", 0) for line in car.lines)
    out = _outcome(car.demo_start, recover, connects=connects)
    assert out.sessions == 2 and out.duplicates == 0 and out.frames_stored == out.frames_sent
    assert connects <= 3, f"{connects} connections: the agent kept reconnecting"  # before, after (+1 spare)
    record(out)


def _outcome(demo_start: float, recover_s: float, **extra: object) -> Outcome:
    """Both sessions read back: together they must be the demo car's frames, each once."""
    truth_t, truth_laps = demo_truth()
    offset = round(demo_start * 1000)
    t_ms: list[int] = []
    laps: list[int] = []
    sessions = list(Session.objects.order_by("pk"))
    for s in sessions:
        trace = get_trace_store().read(session_id=s.pk, t0=0, t1=4e9, channels=["speed"])
        got = [round(x * 1000) - offset for x in trace["t"]]
        assert len(got) == s.last_seq + 1, f"session {s.pk}: a sequence number without its frame"
        t_ms += got
        stored = Lap.objects.filter(session=s, time_ms__isnull=False).order_by("number")
        laps += list(stored.values_list("time_ms", flat=True))
    assert all(a < b for a, b in zip(t_ms, t_ms[1:], strict=False)), "frames out of order or twice"
    assert len(t_ms) == len(truth_t) and all(abs(a - b) <= 1 for a, b in zip(t_ms, truth_t, strict=True)), (
        "the two sessions together are not the demo car's frames, each once"
    )
    # The lap the sweep cut in two closes in the new session with the game's own lap time.
    whole = [ms for ms in laps if any(abs(ms - want) <= 1 for want in truth_laps)]
    assert len(whole) == len(truth_laps), (laps, truth_laps)
    return Outcome(
        fault="session swept during a 8 s outage (stranded rig)",
        frames_sent=sum(s.last_seq + 1 for s in sessions),
        frames_stored=len(t_ms),
        duplicates=len(t_ms) - len(set(t_ms)),
        sessions=len(sessions),
        laps=whole,
        recover_s=round(recover_s, 1),
        extra=dict(extra),
    )
