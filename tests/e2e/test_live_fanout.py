"""Live frames between two Daphne processes on one Redis: none while nobody watches, straight to
the viewers of the rig's own process, through Redis only while a viewer in another process
listens.

The real agent streams the demo car into Daphne A. A pattern subscriber on Redis (which the
fan-out's subscriber count does not see) watches every group message the servers publish.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.faults.harness import Agent, Viewer, daphne, last_seq, wait_for
from tests.servers import RedisServer

pytestmark = pytest.mark.django_db(transaction=True)
PROBE_S = 1.0  # apps.telemetry.fanout.PROBE_EVERY_S


class PublishedFrames:
    """Counts live frames published to any session group, as a third process on Redis would."""

    def __init__(self, url: str) -> None:
        self._pubsub = redis.Redis.from_url(url).pubsub()
        self._pubsub.psubscribe("asgi__group__session.*")
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            msg = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if msg is not None and b"live.frame" in msg["data"]:
                self.count += 1

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._pubsub.close()


def frames_after(viewer: Viewer, t0: float) -> int:
    return viewer.frames_between(t0, float("inf"))


def assert_each_frame_once(viewer: Viewer) -> None:
    stamps = list(viewer.stamps)
    assert stamps, "the viewer got no frames"
    assert len(stamps) == len(set(stamps)), "a viewer got the same frame twice"
    assert stamps == sorted(stamps), "a viewer got frames out of order"


def test_frames_cross_redis_only_for_viewers_in_another_process(
    tmp_path: Path, rig_and_token: Any, driver: Any
) -> None:
    rig, token = rig_and_token
    server = RedisServer(tmp_path / "redis").start()
    observer = PublishedFrames(server.url(0))
    env = {"REDIS_URL": server.url(0), "CELERY_BROKER_URL": server.url(1)}
    agent: Agent | None = None
    viewers: list[Viewer] = []
    try:
        with daphne(**env) as a, daphne(**env) as b:
            # Nobody watching: once A has asked Redis, no frame crosses it.
            agent = Agent(a.url, token, tmp_path / "agent").start()
            wait_for(lambda: last_seq(rig_id=rig.pk) >= 0, 30, "the rig's first stored frames")
            time.sleep(2.5 * PROBE_S)
            published, seq0 = observer.count, last_seq(rig_id=rig.pk)
            time.sleep(2.0)
            assert last_seq(rig_id=rig.pk) > seq0 + 60, "the rig stopped streaming"
            assert observer.count == published, "frames went through Redis with nobody watching"

            here = Viewer(a.url, driver).start()
            viewers.append(here)
            wait_for(lambda: len(here.frames) >= 10, 10, "frames on the viewer in the rig's process")

            # Only a viewer in A's own process: frames reach it directly, never through Redis.
            time.sleep(2.5 * PROBE_S)
            published, t0 = observer.count, time.monotonic()
            time.sleep(3.0)
            assert frames_after(here, t0) >= 20, "the same-process viewer stopped getting frames"
            assert observer.count == published, "frames went through Redis with no viewer elsewhere"

            # A viewer in process B: within about a probe interval, A publishes for it.
            there = Viewer(b.url, driver).start()
            viewers.append(there)
            wait_for(lambda: there.connects == 1, 10, "the viewer on B to connect")
            t1 = time.monotonic()
            wait_for(lambda: len(there.frames) >= 10, 5 * PROBE_S + 5, "frames on the viewer in process B")
            assert observer.count > published
            assert frames_after(here, t1) >= 10, "the same-process viewer stopped getting frames"
            for viewer in viewers:
                assert_each_frame_once(viewer)
    finally:
        for viewer in viewers:
            viewer.stop()
        if agent is not None:
            agent.stop()
        observer.close()
        server.kill()
