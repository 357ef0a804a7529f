"""Redis SIGKILLed and restarted on the same port under a streaming rig, a live viewer and a
Celery worker chewing through lap analyses.

Redis carries two things here: the channel layer (RedisPubSubChannelLayer, db 0) and the
Celery broker (db 1). What the test shows, and what each part relies on:

- Viewers: one on the rig's own Daphne keeps getting frames while Redis is down (the fan-out
  hands them over in-process). One on a second Daphne hears the rig only through Redis: its
  socket stays open and stalls (pub/sub is at most once: frames published meanwhile are gone,
  which a live view can afford), then frames flow again on the same socket, because redis-py
  subscribes again when it reconnects; a viewer that connects after the restart gets frames too.
- The rig: its live pushes to viewers go through the layer, but they are best effort, so
  ingest goes on storing and acking while Redis is down; nothing is lost or doubled.
- Celery: redis-server runs like the docker-compose service, ``--appendonly yes --save ''``;
  the append-only file keeps queued tasks and kombu's "unacked" record across the restart.
  With no persistence at all (``--appendonly no``) a restart would empty the queue, and every
  queued task would be lost: acks_late cannot help, its redelivery record lives in the same
  Redis (not tested: it holds by construction). With the AOF, a task running when Redis dies
  finishes, but its ack goes to a dead connection; kombu hands that message out again only
  after the visibility timeout (1 h by default), so it runs a second time, and the idempotent
  ``lap_analyse`` makes that run a no-op. The test makes the in-flight task certain (it holds
  the lap rows locked across the kill), moves the unacked record an hour back instead of
  waiting, and checks the second run wrote nothing.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from apps.accounts.services import rig_create
from apps.coaching.models import Report
from apps.sessions.models import Lap, Session
from apps.sessions.tests.factories import session_with_demo_laps
from simcoach_site.celery import app
from tests.faults.harness import (
    Agent,
    Daphne,
    Viewer,
    assert_whole,
    last_seq,
    record,
    session_outcome,
    wait_for,
)
from tests.servers import ROOT, RedisServer, server_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.faults]

OUTAGE_S = 5.0  # long enough for a viewer to notice, short like a container restart
BACKLOG_SESSIONS = 2  # demo sessions whose lap analyses queue up before the worker starts
TASK = "apps.coaching.tasks.lap_analyse_task"
RECEIVED = re.compile(rf"Task {re.escape(TASK)}\[([0-9a-f-]+)\] received")
SUCCEEDED = re.compile(rf"Task {re.escape(TASK)}\[([0-9a-f-]+)\] succeeded")
# Any task: an ended session queues its report, and that task queues the writing of it.
ANY_RECEIVED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] received")
ANY_FINISHED = re.compile(r"Task [\w.]+\[([0-9a-f-]+)\] (?:succeeded|raised|retry|ignored)")


class Worker:
    """``celery worker`` as its own process (solo pool, one task at a time), logging to a file
    the test reads to see which tasks it received and ran."""

    def __init__(self, log: Path, **env: str) -> None:
        self.log = log
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        cmd = [sys.executable, "-m", "celery", "-A", "simcoach_site", "worker", "-P", "solo", "-c", "1"]
        cmd += ["--without-heartbeat", "--without-mingle", "--without-gossip", "-Q", "celery", "-l", "INFO"]
        # DJANGO_DEBUG on: plain log lines (off, they are JSON objects and the regexes would
        # still match, but plain is easier to read when this test fails)
        env = server_env(**self.env, DJANGO_DEBUG="1")
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def received(self) -> list[str]:
        return RECEIVED.findall(self.text())

    def succeeded(self) -> list[str]:
        return SUCCEEDED.findall(self.text())

    def idle(self) -> bool:
        """Every task it took, of any kind, has finished."""
        text = self.text()
        return set(ANY_RECEIVED.findall(text)) <= set(ANY_FINISHED.findall(text))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # warm shutdown: the task it runs finishes first
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.kill()


@pytest.fixture
def broker(redis_server: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This process sends tasks to the private broker (jobs.enqueue -> task.delay), as Daphne does."""
    url = redis_server.url(1)
    # Celery reads CELERY_BROKER_URL from the environment before its own config (CI sets it
    # to the shared Redis): without this the backlog would land on CI's queue, not ours.
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url=url, task_always_eager=False)
    app._after_fork()  # drop pooled connections: the next send connects to the current URL
    try:
        yield url
    finally:
        app.conf.update(saved)
        app._after_fork()


def _broker(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _broker_leftovers(url: str) -> dict[str, int]:
    """What the broker still holds: queued messages, and delivered-but-unacked ones that kombu
    hands out again once they are older than the visibility timeout."""
    client = _broker(url)
    try:
        return {"queued": int(client.llen("celery")), "unacked": int(client.hlen("unacked"))}
    finally:
        client.close()


def _age_unacked(url: str, seconds: float) -> None:
    """Move every unacked delivery ``seconds`` into the past: stands in for the hour kombu
    waits before it believes a worker died holding a message."""
    client = _broker(url)
    try:
        for tag, score in client.zrange("unacked_index", 0, -1, withscores=True):
            client.zadd("unacked_index", {tag: score - seconds}, xx=True)
    finally:
        client.close()


def _analysed(lap_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = Lap.objects.filter(pk__in=lap_ids).values_list("pk", "stats")
    return {pk: stats for pk, stats in rows if stats.get("analysed") and "analysis" in stats}


@contextlib.contextmanager
def _holding(lap_ids: list[int]) -> Iterator[None]:
    """Keep the laps' rows locked, so a worker's ``lap_analyse`` stops at its own
    ``select_for_update`` (on SQLite: at the write lock its IMMEDIATE transaction takes)."""
    with transaction.atomic():
        list(Lap.objects.select_for_update().filter(pk__in=lap_ids).values_list("pk", flat=True))
        yield


def _reports_done(session_ids: list[int]) -> bool:
    auto = Report.objects.filter(session__in=session_ids, trigger=Report.Trigger.AUTO)
    done = auto.exclude(status__in=(Report.Status.PENDING, Report.Status.RUNNING))
    return done.count() == len(session_ids)


def _mark_analyses(lap_ids: list[int]) -> None:
    """Tag each stored analysis: a task that ran the analysis again and wrote it would replace
    the "analysis" dict and drop the tag; a no-op run leaves it."""
    for pk, stats in _analysed(lap_ids).items():
        Lap.objects.filter(pk=pk).update(stats={**stats, "analysis": {**stats["analysis"], "probe": pk}})


def test_viewers_and_queued_tasks_survive_a_redis_restart(
    driver, coach, tmp_path: Path, redis_server: RedisServer, broker: str, isolated_trace_store, settings
) -> None:
    # On the influx store every process writes and reads this test's own database: session
    # ids repeat between runs, and an earlier run's frames must not count as this one's.
    env = {"REDIS_URL": redis_server.url(0), "CELERY_BROKER_URL": broker, "INFLUX_DB": settings.INFLUX_DB}
    rig, token = rig_create(owner=driver, name="Rig")
    server, elsewhere = Daphne(**env).start(), Daphne(**env).start()
    worker = Worker(tmp_path / "worker.log", **env)
    later = Worker(tmp_path / "worker-an-hour-later.log", **env)
    viewer = Viewer(server.url, driver).start()
    far_viewer = Viewer(elsewhere.url, driver).start()  # hears the rig only through Redis
    car = Agent(server.url, token, tmp_path / "agent").start()
    late_viewer: Viewer | None = None
    try:
        # A backlog of lap analyses waits in Redis before any worker runs, built while the
        # car leaves the pits (another driver's sessions: the viewer keeps following the rig).
        backlog = [session_with_demo_laps(coach, laps=3) for _ in range(BACKLOG_SESSIONS)]
        backlog_laps = list(Lap.objects.filter(session__in=backlog).values_list("pk", flat=True))
        assert backlog_laps and not _analysed(backlog_laps)
        assert _broker_leftovers(broker)["queued"] >= len(backlog_laps)  # queued here, nowhere else
        watched = lambda: len(viewer.frames) > 0 and len(far_viewer.frames) > 0  # noqa: E731
        wait_for(
            lambda: last_seq(rig_id=rig.pk) > 3_000 and watched(), 90, "a stream watched from both servers"
        )
        with _holding(backlog_laps):
            worker.start()
            # The first lap analysis it takes waits for our lock: a task surely in flight.
            wait_for(lambda: len(worker.received()) > len(worker.succeeded()), 60, "a task in flight")
            redis_server.kill()
            down = time.monotonic()
            in_flight = set(worker.received()) - set(worker.succeeded())
        # Released: that task now finishes while Redis is down, and its ack has nowhere to go.
        connects_before = far_viewer.connects
        # Live pushes fail while Redis is away, but they are best effort: ingest keeps storing.
        time.sleep(1.0)
        stalled_from = last_seq(rig_id=rig.pk)
        time.sleep(OUTAGE_S - 1.0)
        held = last_seq(rig_id=rig.pk)
        # Redis accepts connections a moment before start() returns, and redis-py reconnects
        # at once: the dead window ends when the restart begins, not when it is seen.
        restarting = time.monotonic()
        redis_server.start()
        up = time.monotonic()
        recover = wait_for(
            lambda: far_viewer.frames_between(up, float("inf")) > 0, 60, "frames on the far viewer again"
        )
        rig_recover = wait_for(lambda: last_seq(rig_id=rig.pk) > held, 60, "the rig's frames stored again")
        # A browser that opens /live/ only now joins through the restarted Redis too.
        late_viewer = Viewer(elsewhere.url, driver).start()
        wait_for(lambda: len(late_viewer.frames) > 0, 60, "a viewer that connected after the restart")
        assert car.wait(120) == 0
        every_lap = backlog_laps + list(Lap.objects.filter(session__rig=rig).values_list("pk", flat=True))
        wait_for(lambda: len(_analysed(every_lap)) == len(every_lap), 120, "every lap analysed")
        # Each ended session queues its report after its laps, and that task queues the
        # writing: the broker is read once all of it has run, else a report task still
        # waiting in the queue would count as left over.
        rig_sessions = Session.objects.filter(rig=rig).values_list("pk", flat=True)
        sessions = [s.pk for s in backlog] + list(rig_sessions)
        wait_for(lambda: _reports_done(sessions) and worker.idle(), 120, "every session's report written")
        worker.stop()  # warm: whatever it could ack is acked before we read the broker
        left = _broker_leftovers(broker)
        # The ack of the task that was running when Redis died went to a dead connection:
        # kombu still lists it as unacked and hands it out again after the visibility timeout.
        _mark_analyses(every_lap)
        _age_unacked(broker, 3600)
        later.start()
        wait_for(lambda: _broker_leftovers(broker)["unacked"] == 0, 60, "the old delivery handed out again")
        wait_for(lambda: len(later.succeeded()) >= left["unacked"], 60, "the redelivered task to run")
    finally:
        car.stop()
        viewer.stop()
        far_viewer.stop()
        if late_viewer is not None:
            late_viewer.stop()
        worker.stop()
        later.stop()
        server.stop()
        elsewhere.stop()

    # The far viewer stalled (or was dropped) while Redis was down, then got frames again; the
    # first two seconds are left out: frames already on their way when Redis died may still
    # land late on a loaded machine. The rig's own server went on showing its viewer frames.
    during = far_viewer.frames_between(down + 2.0, restarting)
    near = viewer.frames_between(down + 2.0, restarting)
    assert held > stalled_from, "the rig's frames must keep being stored while Redis is down"
    assert during == 0, f"{during} frames reached the far viewer through a dead Redis"
    assert near >= 5 * (restarting - down - 2.0), f"only {near} frames on the rig's own server's viewer"
    # Not lost: every lap, queued before the restart or finished by the rig after it, is
    # analysed; each task ran, and only a task in flight at the kill ran a second time.
    first, again = Counter(worker.succeeded()), Counter(later.succeeded())
    assert len(first) == len(every_lap) and max(first.values()) == 1
    assert len(in_flight) == 1 and left == {"queued": 0, "unacked": 1}
    assert set(again) == in_flight and max(again.values()) == 1
    assert _broker_leftovers(broker) == {"queued": 0, "unacked": 0}
    # Not doubled: the second run was a no-op; every analysis still carries its tag.
    analysed = _analysed(every_lap)
    assert sorted(analysed) == sorted(every_lap)
    assert all(stats["analysis"].get("probe") == pk for pk, stats in analysed.items())
    out = session_outcome(
        "Redis SIGKILLed and restarted",
        car.demo_start,
        recover,
        rig.pk,
        outage_s=OUTAGE_S,
        viewer_frames_during_outage=during,
        viewer_reconnects=far_viewer.connects - connects_before,
        same_server_viewer_frames_during_outage=near,
        rig_frames_stored_during_outage=held - stalled_from,
        rig_recover_s=round(rig_recover, 1),
        lap_tasks=len(every_lap),
        lap_tasks_in_flight_at_kill=len(in_flight),
        lap_task_runs=sum(first.values()) + sum(again.values()),
        lap_task_redelivered_after_timeout=sum(again.values()),
    )
    assert_whole(out)
    record(out)


def _queued_calls(url: str) -> Counter[tuple[str, str]]:
    """The broker's queue as (task name, args) pairs, read from kombu's message headers."""
    import json

    client = _broker(url)
    try:
        messages = [json.loads(raw) for raw in client.lrange("celery", 0, -1)]
    finally:
        client.close()
    return Counter((m["headers"]["task"], m["headers"]["argsrepr"]) for m in messages)


def test_tasks_queued_while_the_broker_is_down_are_sent_when_it_returns(
    coach, redis_server: RedisServer, broker: str
) -> None:
    redis_server.kill()
    # Each lap queues its analysis and the ended session its report: every send fails now.
    session = session_with_demo_laps(coach, laps=3)
    lap_ids = sorted(Lap.objects.filter(session=session).values_list("pk", flat=True))
    time.sleep(1.0)  # the first tries back off while Redis stays down
    redis_server.start()
    expected = Counter({(TASK, f"({pk},)"): 1 for pk in lap_ids})
    expected[("apps.coaching.tasks.session_report_create_task", f"({session.pk},)")] = 1
    wait_for(lambda: _queued_calls(broker) == expected, 60, "every failed send to reach the queue")
    time.sleep(2.0)  # and nothing is sent twice
    assert _queued_calls(broker) == expected
