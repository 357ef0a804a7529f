"""The producer: spooling frames off-network, session lifecycle and crash resume."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from pathlib import Path
from typing import Any

import pytest
from rigserver import RigServer

from simcoach_agent import wire
from simcoach_agent.channels import CHANNEL_ID, QFrame
from simcoach_agent.sources.base import SessionInfo
from simcoach_agent.sources.demo import DemoCar
from simcoach_agent.spool import Spool
from simcoach_agent.stream import Uplink
from simcoach_agent.telemetry import (
    T_ID,
    Producer,
    _quantise_each,
    clean_frame,
    hello_fields,
    quantise_frame,
)

INFO = SessionInfo(
    game="demo", track="Spa", car="GT3", kind="practice", car_class="GT3", track_length_m=7004.0
)


def frame(i: int) -> dict[str, float]:
    return {
        "t": 1_700_000_000 + i / 60,
        "lap": 1 + i // 100,
        "lap_dist": (i % 100) * 70.0,
        "lap_time": (i % 100) / 60,
        "speed": 200.0,
    }


class ListFeed:
    """A minimal Source: hands out given frames, then reports finished."""

    game = "demo"

    def __init__(
        self, frames: list[dict[str, float]], infos: list[SessionInfo] | None = None, *, endless: bool = False
    ) -> None:
        self.frames = list(frames)
        self.infos = infos  # per-frame session facts, to simulate a session change
        self.endless = endless  # a live game: never finishes, just has nothing new
        self.finished = False
        self.closed = False

    def info(self) -> SessionInfo | None:
        if self.infos:
            # The facts of the frame read last, as a game's pages describe its latest tick.
            read = len(self.infos) - len(self.frames)
            return self.infos[max(0, min(read - 1, len(self.infos) - 1))]
        return INFO

    def read(self) -> dict[str, float] | None:
        if not self.frames:
            self.finished = not self.endless
            return None
        return self.frames.pop(0)

    def close(self) -> None:
        self.closed = True


def produce(path: Path, feed: ListFeed, **kw: Any) -> Producer:
    producer = Producer(feed, path, rate=10_000, **kw).start()
    assert producer.done.wait(10)
    return producer


async def stream_until_sent(server: RigServer, producer: Producer, path: Path, **uplink: Any) -> None:
    """Run an uplink from the spool until the producer is done and every session is sent, then
    stop it and the server."""
    with Spool(path) as spool:
        up = Uplink(server.url, "sc_rig_good", spool, batch_interval=0.005, **uplink)
        task = asyncio.create_task(up.run())
        while not (producer.done.is_set() and not spool.sessions()):
            await asyncio.sleep(0.01)
        up.stop()
        await task
    await server.stop()


def test_it_spools_every_frame_with_consecutive_seqs(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    p = produce(path, ListFeed([frame(i) for i in range(250)]))
    assert (p.stats.frames, p.stats.lap, p.stats.state) == (250, 3, "finished")
    with Spool(path) as spool:
        (session,) = spool.sessions()
        assert session.hello == hello_fields(INFO) and session.ended
        assert [s for s, _ in spool.unacked(session.uid, limit=1000)] == list(range(250))
        assert session.uid == p.stats.session_uid and len(session.uid) <= 64


def test_it_resumes_the_same_session_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    first = Producer(ListFeed([frame(i) for i in range(40)], endless=True), path, rate=10_000).start()
    while first.stats.frames < 40:
        first.done.wait(0.01)
    first.stop()  # a crash: the session is left open
    second = Producer(ListFeed([frame(i) for i in range(40, 60)]), path, rate=10_000).start()
    second.done.wait(10)
    assert second.stats.session_uid == first.stats.session_uid
    with Spool(path) as spool:
        (session,) = spool.sessions()
        assert session.next_seq == 60
        assert spool.unacked(session.uid, after_seq=39)[0][1][T_ID] == round(frame(40)["t"] * 1000)


def test_it_does_not_resume_a_stale_session(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    first = produce(path, ListFeed([frame(0)]), resume_window=0.0)
    second = produce(path, ListFeed([frame(1)]), resume_window=0.0)
    assert second.stats.session_uid != first.stats.session_uid


def test_it_starts_a_new_session_when_the_facts_change(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    race = SessionInfo(game="demo", track="Spa", car="GT3", kind="race")
    produce(path, ListFeed([frame(i) for i in range(6)], infos=[INFO] * 3 + [race] * 3))
    with Spool(path) as spool:
        practice_s, race_s = spool.sessions()
        assert (practice_s.hello["kind"], practice_s.next_seq, practice_s.ended) == ("practice", 3, True)
        assert (race_s.hello["kind"], race_s.next_seq) == ("race", 3)  # numbering restarts at 0


def test_it_cleans_frames_the_server_would_reject() -> None:
    raw = {**frame(0), "throttle": 1.7, "brake": math.nan, "gear": 3, "in_pit": True, "nonsense": 1.0}
    assert clean_frame(raw) == {**frame(0), "gear": 3, "in_pit": 1.0}
    assert clean_frame({**frame(0), "speed": math.inf}) is None  # a required channel is unusable
    assert clean_frame({"t": 1.0, "lap": 1}) is None


def test_it_counts_unusable_frames_as_dropped(tmp_path: Path) -> None:
    p = produce(tmp_path / "s.sqlite3", ListFeed([frame(0), {"t": 1.0}, frame(1)]))
    assert (p.stats.frames, p.stats.dropped) == (2, 1)


@pytest.mark.parametrize("cuts", [set(), {2, 5}])
async def test_it_streams_a_finite_feed_end_to_end(tmp_path: Path, cuts: set[int]) -> None:
    server = await RigServer().start()
    server.behaviour.drop_after_batches = cuts
    path = tmp_path / "spool.sqlite3"
    producer = Producer(ListFeed([frame(i) for i in range(300)]), path, rate=2000).start()
    await stream_until_sent(server, producer, path, backoff_min=0.01, backoff_max=0.02)
    (uid,) = server.store.arrivals
    assert server.store.arrivals[uid] == list(range(300))
    assert server.store.ended == [uid] and server.store.gaps == []


def test_it_quantises_each_value_once_to_the_integers_the_wire_carries() -> None:
    raw = {**frame(7), "throttle": 0.12345, "gear": 3, "in_pit": True, "brake": math.nan, "x": 1.0}
    q = quantise_frame(raw)
    assert q == wire.quantise(clean_frame(raw))
    assert q[CHANNEL_ID["t"]] == 1_700_000_000_117 and q[CHANNEL_ID["throttle"]] == 123
    assert q[CHANNEL_ID["in_pit"]] == 1 and CHANNEL_ID["brake"] not in q


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("throttle", 1.0004, True),  # rounds to 1.000: the server accepts it
        ("throttle", 1.0006, False),  # rounds to 1.001: out of range
        ("steering", -1.0004, True),
        ("steering", -1.0006, False),
        ("gear", 12.4, True),
        ("gear", 12.6, False),
        ("pos_x", -100_000.004, True),
        ("pos_x", -100_000.006, False),
    ],
)
def test_it_keeps_a_value_exactly_when_the_server_would(name: str, value: float, kept: bool) -> None:
    q = quantise_frame({**frame(0), name: value})
    assert q is not None and (CHANNEL_ID[name] in q) is kept
    if kept:  # the server's own check, on the value it decodes
        _, _, cols = wire.decode_batch(wire.decode_message(wire.encode_quantised(0, [q])))
        assert name in cols


def test_it_spools_and_hands_over_exactly_the_quantised_wire_values(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    raw = [{**frame(i), "throttle": i / 97, "g_lat": -i / 31} for i in range(50)]
    handed: list[tuple[str, int, list[QFrame]]] = []
    p = produce(path, ListFeed(raw), on_flush=lambda *a: handed.append(a))
    expected = [wire.quantise(clean_frame(f)) for f in raw]
    with Spool(path) as spool:
        stored = [f for _, f in spool.unacked(p.stats.session_uid)]
    assert stored == expected
    assert [f for _, _, frames in handed for f in frames] == expected
    starts = [first for _, first, _ in handed]  # each batch starts where the one before ended
    assert starts == [0, *itertools.accumulate(len(frames) for _, _, frames in handed[:-1])]
    assert handed[-1][1:] == (50, [])  # the end of the session is said with no frames
    # and the bytes the uplink sends are those the 0.1.0 agent sent for the same frames
    assert wire.encode_quantised(0, stored[:6]) == wire.encode_batch(0, [clean_frame(f) for f in raw[:6]])


async def test_it_continues_a_session_spooled_by_agent_0_1_0_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    path.write_bytes((Path(__file__).parent / "data" / "spool-0.1.0.sqlite3").read_bytes())
    car = DemoCar(seed=7, start_t=1_764_000_000.0, realtime=False, laps=1)
    source = ListFeed(list(itertools.islice(car.frames(), 180)), infos=[car.info()] * 180)
    server = await RigServer().start()
    # the file is older than ten minutes, but a restart right after the upgrade would resume it
    producer = Producer(source, path, rate=2000, resume_window=1e12).start()
    await stream_until_sent(server, producer, path)
    assert producer.stats.session_uid == "demo-old-open"
    assert server.store.ended == ["demo-old-ended", "demo-old-open"]
    assert server.store.arrivals["demo-old-ended"] == list(range(30))
    # frames 30..119 were spooled by 0.1.0, 120..179 by this agent: one unbroken 60 Hz trace
    assert server.store.arrivals["demo-old-open"] == list(range(150))
    held = server.store.frames["demo-old-open"]
    ts = [round(held[i]["t"] * 1000) for i in range(150)]
    assert ts == [1_764_000_000_000 + round((30 + i) * 1000 / 60) for i in range(150)]


def test_its_whole_frame_fast_path_keeps_exactly_what_the_value_by_value_check_keeps() -> None:
    rng = random.Random(5)
    base = list(itertools.islice(DemoCar(seed=3, start_t=1_764_000_000.0, realtime=False).frames(), 50))
    odd = [math.nan, math.inf, -math.inf, "3", None, True, 7, 1e300, -1e9, 2.5, 1.0006, 10**400]
    for _ in range(3000):
        f = dict(rng.choice(base))
        for _ in range(rng.randrange(3)):
            f[rng.choice([*f, "not_a_channel"])] = rng.choice(odd)
        if rng.random() < 0.2:
            f = dict(reversed(f.items()))  # another key order: another layout
        if rng.random() < 0.2:
            del f[rng.choice(list(f))]
        assert quantise_frame(f) == _quantise_each(f)


def test_a_channel_left_out_is_logged_once_per_channel_and_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The AMS2 case: pressures a reader got in the wrong unit, above the channel's limit."""
    bad = [{**frame(i), "tyre_press_fl": 1900.0, "tyre_press_fr": 190.0} for i in range(5)]
    bad[3]["brake"] = math.nan
    race = SessionInfo(game="demo", track="Spa", car="GT3", kind="race")
    with caplog.at_level("WARNING", logger="simcoach_agent.telemetry"):
        p = produce(tmp_path / "s.sqlite3", ListFeed(bad + bad[:2], infos=[INFO] * 5 + [race] * 2))
    assert (p.stats.frames, p.stats.dropped) == (7, 0)  # the frames are kept, the value is not
    said = [r.getMessage() for r in caplog.records]
    assert [m.split(" left out")[0] for m in said] == [
        "channel tyre_press_fl",
        "channel brake",
        "channel tyre_press_fl",  # again in the next session, and only there
    ]
    assert "gave 1900.0, outside [0, 1000] kPa" in said[0]
    with Spool(tmp_path / "s.sqlite3") as spool:
        first = spool.sessions()[0]
        kept = [q for _, q in spool.unacked(first.uid)]
    assert len(kept) == 5
    assert all(CHANNEL_ID["tyre_press_fl"] not in q and CHANNEL_ID["tyre_press_fr"] in q for q in kept)
