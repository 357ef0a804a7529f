"""Process faults: Daphne SIGKILLed mid-session, and the agent SIGKILLed while it writes its spool.

Both restart at once; what is measured is that the session carries on (the same Session row),
nothing is lost or doubled and the laps keep the demo car's exact times.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from apps.accounts.services import rig_create
from apps.sessions.models import Session
from tests.faults.harness import (
    Agent,
    Daphne,
    assert_whole,
    daphne,
    last_seq,
    record,
    session_outcome,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]


def test_it_resumes_the_same_session_after_daphne_is_killed(driver, tmp_path: Path) -> None:
    _, token = rig_create(owner=driver, name="Rig")
    server = Daphne().start()
    car = Agent(server.url, token, tmp_path).start()
    try:
        wait_for(lambda: last_seq() > 13_000, 90, "lap 2 to be streaming")
        first = Session.objects.get().pk
        server.kill()  # no close frames, no cleanup: the socket just dies
        held = last_seq()
        server.start()
        recover = wait_for(lambda: last_seq() > held, 60, "the agent to stream again")
        assert car.wait(120) == 0
    finally:
        car.stop()
        server.stop()
    assert Session.objects.get().pk == first
    out = session_outcome("Daphne SIGKILLed and restarted", car.demo_start, recover)
    assert_whole(out)
    record(out)


def test_it_reads_its_spool_and_resumes_after_being_killed_mid_write(driver, tmp_path: Path) -> None:
    _, token = rig_create(owner=driver, name="Rig")
    with daphne() as server:
        car = Agent(server.url, token, tmp_path).start()
        try:
            wait_for(lambda: last_seq() > 13_000, 90, "lap 2 to be streaming")
            # The producer commits a batch every 100 ms: SIGKILL lands during or between writes;
            # repeated three times, so at least one kill falls inside a transaction's window.
            for _ in range(3):
                car.kill()
                mark = max(last_seq(), _spool_check(car.spool))
                car.start()
                wait_for(lambda m=mark: last_seq() > m, 60, "the restarted agent to stream")
            assert car.wait(120) == 0
        finally:
            car.stop()
    out = session_outcome("agent SIGKILLed during spool writes (x3)", car.demo_start, None)
    # The car drove on while the agent was dead: those frames were never read, like a game's.
    assert_whole(out, every_frame=False)
    record(out)


def _spool_check(path: Path) -> int:
    """The spool after a kill -9: intact, and its counters agree with its rows; returns the
    highest sequence it holds."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        (frames,) = db.execute("SELECT frames FROM totals").fetchone()
        count, top = db.execute("SELECT count(*), coalesce(max(seq), -1) FROM frames").fetchone()
        (next_seq,) = db.execute("SELECT next_seq FROM sessions").fetchone()
    finally:
        db.close()
    assert frames == count and top == next_seq - 1
    return int(top)
