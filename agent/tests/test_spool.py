"""The on-disk spool: bounds, acks, sessions, and surviving a kill -9 mid-write."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import msgpack
import pytest

from simcoach_agent import wire
from simcoach_agent.channels import CHANNEL_ID, QFrame
from simcoach_agent.spool import Spool, SpoolBusy, SpoolLock

HELLO = {"game": "demo", "track": "Spa", "car": "GT3", "kind": "practice"}


def frame(i: int) -> QFrame:
    """What the producer spools: a frame at the wire's resolution."""
    return wire.quantise(
        {"t": 1_700_000_000 + i / 60, "lap": 1, "lap_dist": i * 0.5, "lap_time": i / 60, "speed": 150.0}
    )


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    with Spool(tmp_path / "spool.sqlite3") as s:
        s.session_open("s1", HELLO)
        yield s


def test_it_returns_unacked_frames_in_seq_order_after_a_cursor(spool: Spool) -> None:
    for i in range(10):
        assert spool.append("s1", i, frame(i))
    rows = spool.unacked("s1", after_seq=3, limit=4)
    assert [seq for seq, _ in rows] == [4, 5, 6, 7]
    assert rows[0][1] == frame(4)


def test_it_stores_the_quantised_values_exactly(spool: Spool) -> None:
    spool.append("s1", 0, frame(0))
    ((seq, stored),) = spool.unacked("s1")
    assert stored == frame(0) and all(type(v) is int for v in stored.values())
    assert stored[CHANNEL_ID["t"]] == 1_700_000_000_000  # whole milliseconds, as on the wire


def test_it_drops_channels_a_newer_agent_spooled(spool: Spool) -> None:
    spool.append("s1", 0, {**frame(0), 9999: 5})
    assert spool.unacked("s1")[0][1] == frame(0)


def test_it_deletes_acked_frames_and_counts_what_is_left(spool: Spool) -> None:
    for i in range(10):
        spool.append("s1", i, frame(i))
    full = spool.bytes()
    assert spool.ack("s1", 6) == 7
    assert spool.size() == 3 and spool.size("s1") == 3
    assert 0 < spool.bytes() < full
    assert spool.ack("s1", 6) == 0  # acks are idempotent
    spool.ack("s1", 9)
    assert spool.size() == 0 and spool.bytes() == 0


def test_it_insists_on_consecutive_sequence_numbers(spool: Spool) -> None:
    spool.append("s1", 0, frame(0))
    with pytest.raises(ValueError, match="expects seq 1"):
        spool.append("s1", 2, frame(2))
    with pytest.raises(KeyError):
        spool.append("nope", 0, frame(0))


def test_it_refuses_new_frames_when_full_and_says_so_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The logger's own level, not the root's: another test in the same worker process may have
    # left the root above WARNING.
    caplog.set_level(logging.WARNING, logger="simcoach_agent.spool")
    with Spool(tmp_path / "s.sqlite3", max_frames=5) as spool:
        spool.session_open("s1", HELLO)
        accepted = [spool.append("s1", spool.session_get("s1").next_seq, frame(i)) for i in range(8)]
        assert accepted == [True] * 5 + [False] * 3
        assert spool.refused == 3
        assert [s for s, _ in spool.unacked("s1")] == [0, 1, 2, 3, 4]  # the oldest are kept
        assert caplog.text.count("SPOOL FULL") == 1  # once per episode, not per frame
        spool.ack("s1", 1)
        assert spool.append("s1", 5, frame(5))  # numbering continues without a hole
        assert "room again" in caplog.text


def test_it_bounds_by_bytes_too(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite3", max_bytes=200) as spool:
        spool.session_open("s1", HELLO)
        n = 0
        while spool.append("s1", n, frame(n)):
            n += 1
        assert 0 < n < 10 and spool.bytes() <= 200


def test_it_remembers_sessions_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Spool(path) as spool:
        spool.session_open("s1", HELLO)
        for i in range(3):
            spool.append("s1", i, frame(i))
        spool.session_open("s2", {**HELLO, "kind": "race"})
        spool.session_end("s1")
    with Spool(path) as again:
        s1, s2 = again.sessions()
        assert (s1.uid, s1.next_seq, s1.ended, s1.hello) == ("s1", 3, True, HELLO)
        assert (s2.uid, s2.ended) == ("s2", False)
        assert again.size("s1") == 3
        again.session_forget("s1")
        assert [s.uid for s in again.sessions()] == ["s2"] and again.size() == 0


def test_it_offers_only_a_fresh_unfinished_session_with_the_same_facts(tmp_path: Path) -> None:
    now = [1000.0]
    with Spool(tmp_path / "s.sqlite3", clock=lambda: now[0]) as spool:
        spool.session_open("s1", HELLO)
        assert spool.resumable(HELLO, max_age=60).uid == "s1"
        assert spool.resumable({**HELLO, "car": "LMP2"}, max_age=60) is None
        now[0] += 120
        assert spool.resumable(HELLO, max_age=60) is None  # too old
        now[0] -= 120
        spool.session_end("s1")
        assert spool.resumable(HELLO, max_age=60) is None  # finished


def test_it_ends_every_other_session(spool: Spool) -> None:
    spool.session_open("s2", HELLO)
    spool.session_open("s3", HELLO)
    spool.session_end_all(keep="s3")
    assert [(s.uid, s.ended) for s in spool.sessions()] == [("s1", True), ("s2", True), ("s3", False)]


WRITER = textwrap.dedent(
    """
    import sys
    from simcoach_agent.spool import Spool
    spool = Spool(sys.argv[1])
    spool.session_open("crash", {"game": "demo"})
    i = 0
    while True:
        spool.append("crash", i, {0: 1_700_000_000_000 + i, 1: 1, 2: i, 3: 0, 9: 100})
        i += 1
        if i == 300:
            print("ready", flush=True)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_it_survives_a_kill_9_in_the_middle_of_appending(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGKILL)  # while it is still appending, one transaction per frame
    proc.wait()
    with Spool(path) as spool:
        (session,) = spool.sessions()
        seqs = [s for s, _ in spool.unacked("crash", limit=10**6)]
        assert len(seqs) >= 300
        assert seqs == list(range(session.next_seq))  # no hole, no torn row, counter agrees
        assert spool.size() == len(seqs)
        assert spool.unacked("crash", after_seq=seqs[-2])[0][1][CHANNEL_ID["lap_dist"]] == seqs[-1]
        assert spool.append("crash", session.next_seq, frame(0))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()


def test_it_logs_nothing_when_there_is_room(spool: Spool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    spool.append("s1", 0, frame(0))
    assert caplog.text == ""


def test_it_stores_what_fits_of_a_group_in_one_go(tmp_path: Path) -> None:
    with Spool(tmp_path / "s.sqlite3", max_frames=4) as spool:
        spool.session_open("s1", HELLO)
        assert spool.append_many("s1", 0, [frame(i) for i in range(3)]) == 3
        assert spool.append_many("s1", 3, [frame(i) for i in range(3, 6)]) == 1
        assert spool.session_get("s1").next_seq == 4 and spool.refused == 2


# A spool file written by agent 0.1.0 (DemoCar(seed=7) frames, cleaned but not quantised): an
# ended session of 30 frames and an open one of 90. Upgrading must not lose or alter a frame.
OLD_SPOOL = Path(__file__).parent / "data" / "spool-0.1.0.sqlite3"


def old_spool(tmp_path: Path) -> Path:
    path = tmp_path / "spool.sqlite3"
    path.write_bytes(OLD_SPOOL.read_bytes())  # a copy: opening it writes its WAL beside it
    return path


def old_rows(path: Path, uid: str) -> list[dict[str, float]]:
    """The frames as 0.1.0 stored them, by channel name, read without the Spool class."""
    db = sqlite3.connect(path)
    try:
        blobs = db.execute("SELECT data FROM frames WHERE uid = ? ORDER BY seq", (uid,)).fetchall()
    finally:
        db.close()
    names = {i: name for name, i in CHANNEL_ID.items()}
    return [{names[k]: v for k, v in msgpack.unpackb(b, strict_map_key=False).items()} for (b,) in blobs]


def test_it_reads_a_spool_written_by_agent_0_1_0_as_the_integers_0_1_0_sent(tmp_path: Path) -> None:
    path = old_spool(tmp_path)
    with Spool(path) as spool:
        ended, open_ = spool.sessions()
        assert (ended.uid, ended.next_seq, ended.ended) == ("demo-old-ended", 30, True)
        assert (open_.uid, open_.next_seq, open_.ended) == ("demo-old-open", 90, False)
        assert spool.size() == 120
        for session in (ended, open_):
            floats = old_rows(path, session.uid)
            rows = spool.unacked(session.uid)
            assert [seq for seq, _ in rows] == list(range(session.next_seq))
            assert [f for _, f in rows] == [wire.quantise(f) for f in floats]
            assert all(type(v) is int for _, f in rows for v in f.values())
            # what goes on the wire is byte for byte what 0.1.0 would have sent
            for i in range(0, len(rows), 6):
                batch = [f for _, f in rows[i : i + 6]]
                assert wire.encode_quantised(i, batch) == wire.encode_batch(i, floats[i : i + 6])
        assert rows[0][1][CHANNEL_ID["t"]] == 1_764_000_000_500  # frame 30 of the demo car, in ms
        assert spool.ack("demo-old-open", 59) == 60 and spool.size() == 60


def test_it_appends_quantised_frames_after_a_0_1_0_session(tmp_path: Path) -> None:
    with Spool(old_spool(tmp_path)) as spool:
        old = spool.unacked("demo-old-open")
        new = {**old[-1][1], CHANNEL_ID["t"]: old[-1][1][CHANNEL_ID["t"]] + 17}
        assert spool.append("demo-old-open", 90, new)
        rows = spool.unacked("demo-old-open", after_seq=88)
        assert rows == [(89, old[-1][1]), (90, new)]
        assert spool.session_get("demo-old-open").last_t == pytest.approx(new[CHANNEL_ID["t"]] / 1000)


def test_it_sees_room_made_by_acks_on_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    with Spool(path, max_frames=5) as writer, Spool(path) as reader:  # producer and uplink
        writer.session_open("s1", HELLO)
        assert writer.append_many("s1", 0, [frame(i) for i in range(5)]) == 5
        assert reader.ack("s1", 2) == 3
        assert writer.append_many("s1", 5, [frame(i) for i in range(5, 9)]) == 3
        assert writer.size() == 5 and writer.refused == 1


# ---- moving a session the server cannot continue


def test_it_moves_the_unsent_frames_to_a_new_session_numbered_from_zero(spool: Spool) -> None:
    spool.session_open("a", {"game": "demo"})
    spool.session_open("b", {"game": "demo"})
    spool.append_many("a", 0, [frame(i) for i in range(10)])
    moved = spool.session_move("a", "a2", 4)
    assert moved.uid == "a2" and moved.next_seq == 6 and moved.hello == {"game": "demo"}
    assert [s.uid for s in spool.sessions()] == ["s1", "a2", "b"]  # keeps its place in the queue
    assert spool.unacked("a2") == [(i - 4, frame(i)) for i in range(4, 10)]
    assert spool.session_get("a") is None and spool.size() == 6 and spool.bytes() > 0


def test_it_lets_the_producer_go_on_under_the_old_name_after_a_move(spool: Spool) -> None:
    spool.session_open("a", {"game": "demo"})
    spool.append_many("a", 0, [frame(i) for i in range(10)])
    spool.session_move("a", "a2", 10)
    spool.session_move("a2", "a3", 0)  # moved twice: "a" follows to the newest name
    assert spool.append_many("a", 10, [frame(10), frame(11)]) == 2
    assert spool.unacked("a3") == [(0, frame(10)), (1, frame(11))]
    spool.session_end("a")
    session = spool.session_get("a3")
    assert session is not None and session.ended and session.next_seq == 2
    with pytest.raises(ValueError, match="expects seq 2"):
        spool.append_many("a", 13, [frame(13)])  # still consecutive, under either name


def test_it_refuses_to_move_past_the_end_of_a_session(spool: Spool) -> None:
    spool.session_open("a", {"game": "demo"})
    spool.append_many("a", 0, [frame(0)])
    with pytest.raises(ValueError, match="cannot move from seq 5"):
        spool.session_move("a", "a2", 5)
    with pytest.raises(KeyError, match="unknown session"):
        spool.session_move("nope", "a2", 0)


# ---- one agent per spool


def test_it_lets_one_process_hold_the_spool_lock_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "home" / "spool.sqlite3"
    with SpoolLock(path):
        with pytest.raises(SpoolBusy, match="another simcoach-agent is already running"):
            SpoolLock(path).acquire()
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                f"from simcoach_agent.spool import SpoolLock; SpoolLock({str(path)!r}).acquire()",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        assert other.returncode != 0 and "SpoolBusy" in other.stderr
    SpoolLock(path).acquire().release()  # released on exit: the next agent gets it


def test_it_frees_the_spool_lock_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    code = f"from simcoach_agent.spool import SpoolLock; SpoolLock({str(path)!r}).acquire(); print('held', flush=True); input()"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(SpoolBusy):
            SpoolLock(path).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    SpoolLock(path).acquire().release()
