"""The uplink against a real loopback WebSocket server speaking docs/protocol.md."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from rigserver import RigServer, wait_for

from simcoach_agent import wire
from simcoach_agent.channels import QFrame
from simcoach_agent.spool import Spool
from simcoach_agent.stream import Uplink, UplinkStopped, rig_ws_url

HELLO = {
    "game": "demo",
    "track": "Monza",
    "car": "GT3",
    "car_class": "GT3",
    "kind": "practice",
    "track_length_m": 5793.0,
}
TOKEN = "sc_rig_good"


def frame(i: int) -> dict[str, float]:
    return {
        "t": 1_700_000_000 + i / 60,
        "lap": 1 + i // 600,
        "lap_dist": (i % 600) * 9.5,
        "lap_time": (i % 600) / 60,
        "speed": 100 + i % 50,
    }


def fill(spool: Spool, uid: str, frames: range) -> None:
    for i in frames:
        assert spool.append(uid, i, wire.quantise(frame(i)))


def uplink(server: RigServer, spool: Spool, **kw: Any) -> Uplink:
    kw.setdefault("token", TOKEN)
    return Uplink(server.url, spool=spool, batch_interval=0.005, backoff_min=0.01, backoff_max=0.05, **kw)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    with Spool(tmp_path / "spool.sqlite3") as s:
        yield s


@pytest.fixture
async def server() -> RigServer:
    srv = await RigServer().start()
    yield srv
    await srv.stop()


async def feed(spool: Spool, uid: str, total: int, *, chunk: int = 20, end: bool = True) -> None:
    """Append frames a few at a time while the uplink runs, like the producer does."""
    for start in range(0, total, chunk):
        fill(spool, uid, range(start, min(total, start + chunk)))
        await asyncio.sleep(0.002)
    if end:
        spool.session_end(uid)


def test_it_maps_http_to_ws_and_keeps_the_prefix() -> None:
    assert rig_ws_url("https://coach.example/ai-sim-coach/") == "wss://coach.example/ai-sim-coach/ws/rig/"
    assert rig_ws_url("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/ws/rig/"


def test_it_rejects_a_url_without_a_host() -> None:
    with pytest.raises(ValueError, match="https://host"):
        rig_ws_url("coach.example")


async def test_it_says_hello_and_gets_welcome(server: RigServer, spool: Spool) -> None:
    spool.session_open("s1", HELLO)
    up = uplink(server, spool)
    task = asyncio.create_task(up.run())
    await wait_for(lambda: up.stats.state == "streaming")
    up.stop()
    await task
    (hello,) = server.store.hellos
    assert hello["type"] == "hello" and hello["protocol"] == wire.PROTOCOL_VERSION
    assert hello["session_uid"] == "s1" and hello["track"] == "Monza" and hello["track_length_m"] == 5793.0
    assert server.store.tokens_seen == [TOKEN]
    assert up.stats.session_uid == "s1" and up.stats.acked_seq == -1


async def test_it_delivers_every_frame_once_in_order_across_two_cuts(server: RigServer, spool: Spool) -> None:
    server.behaviour.drop_after_batches = {4, 11}
    spool.session_open("s1", HELLO)
    up = uplink(server, spool)
    run = asyncio.create_task(up.run(until_drained=True))
    await feed(spool, "s1", 500)
    await asyncio.wait_for(run, 20)
    assert server.store.arrivals["s1"] == list(range(500))
    assert server.store.gaps == []
    assert server.store.frames["s1"][123] == pytest.approx(frame(123), abs=1e-3)
    assert server.store.connections == 3
    assert server.store.ended == ["s1"]
    assert spool.size() == 0 and spool.bytes() == 0 and spool.sessions() == []


async def test_it_drains_the_spool_to_zero_after_acks(server: RigServer, spool: Spool) -> None:
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(1500))  # more than one 600-frame batch waiting
    assert spool.size() == 1500
    up = uplink(server, spool)
    task = asyncio.create_task(up.run())
    await wait_for(lambda: spool.size() == 0)
    up.stop()
    await task
    assert up.stats.acked_seq == 1499
    assert [b[2:] for b in server.store.batches] == [(0, 600), (600, 600), (1200, 300)]


async def test_it_survives_the_server_going_away_and_coming_back(server: RigServer, spool: Spool) -> None:
    spool.session_open("s1", HELLO)
    up = uplink(server, spool)
    run = asyncio.create_task(up.run(until_drained=True))
    await feed(spool, "s1", 100, end=False)
    await wait_for(lambda: spool.size() == 0)
    await server.stop()
    fill(spool, "s1", range(100, 250))  # recorded while the server is away
    await wait_for(lambda: "cannot connect" in up.stats.last_error)
    assert spool.size() == 150
    back = await RigServer(server.store, server.behaviour, port=server.port).start()
    spool.session_end("s1")
    await asyncio.wait_for(run, 20)
    await back.stop()
    assert server.store.arrivals["s1"] == list(range(250))
    assert spool.size() == 0


async def test_it_resumes_after_restart_at_last_seq_plus_one(server: RigServer, tmp_path: Path) -> None:
    server.behaviour.ack_upto = 49  # the server holds more than it acked (ack lost in a crash)
    path = tmp_path / "spool.sqlite3"
    with Spool(path) as first:
        first.session_open("s1", HELLO)
        fill(first, "s1", range(150))
        up = uplink(server, first)
        task = asyncio.create_task(up.run())
        await wait_for(lambda: server.store.last_seq("s1") == 149 and up.stats.acked_seq == 49)
        up.stop()
        await task
        assert first.size() == 100  # 50..149 still unacked on disk
    server.behaviour.ack_upto = None
    with Spool(path) as again:  # a new agent process: new objects, same file
        fill(again, "s1", range(150, 200))
        up2 = uplink(server, again)
        task = asyncio.create_task(up2.run())
        await wait_for(lambda: again.size() == 0)
        up2.stop()
        await task
    second = [b for b in server.store.batches if b[0] == 2]
    assert second[0][2] == 150  # nothing <= last_seq (149) was sent again
    assert server.store.duplicates == 0
    assert server.store.arrivals["s1"] == list(range(200))


async def test_it_sends_sessions_one_after_another(server: RigServer, spool: Spool) -> None:
    spool.session_open("old", HELLO)
    fill(spool, "old", range(30))
    spool.session_end("old")
    spool.session_open("new", {**HELLO, "kind": "race"})
    fill(spool, "new", range(40))
    spool.session_end("new")
    up = uplink(server, spool)
    await asyncio.wait_for(up.run(until_drained=True), 20)
    assert [h["session_uid"] for h in server.store.hellos] == ["old", "new"]
    assert server.store.hellos[1]["kind"] == "race"
    assert server.store.ended == ["old", "new"]
    assert server.store.connections == 1
    assert len(server.store.arrivals["new"]) == 40


async def test_it_stops_on_a_wrong_token_and_says_to_pair_again(server: RigServer, spool: Spool) -> None:
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(10))
    up = uplink(server, spool, token="sc_rig_wrong")
    with pytest.raises(UplinkStopped) as info:
        await asyncio.wait_for(up.run(), 10)
    assert info.value.code == wire.CLOSE_UNAUTHORIZED
    assert "simcoach-agent pair" in str(info.value)
    assert server.store.connections == 1  # no reconnect storm
    assert spool.size() == 10  # the frames are kept for after pairing
    assert up.stats.state == "stopped"


async def test_it_stops_on_a_revoked_token(server: RigServer, spool: Spool) -> None:
    server.behaviour.revoked = {"sc_rig_old"}
    up = uplink(server, spool, token="sc_rig_old")
    with pytest.raises(UplinkStopped, match="revoked") as info:
        await asyncio.wait_for(up.run(), 10)
    assert info.value.code == wire.CLOSE_REVOKED


async def test_it_treats_an_http_403_handshake_refusal_as_a_bad_token(
    server: RigServer, spool: Spool
) -> None:
    server.behaviour.http_status = 403
    up = uplink(server, spool)
    with pytest.raises(UplinkStopped, match="pair"):
        await asyncio.wait_for(up.run(), 10)


async def test_it_surfaces_the_version_close_reason(server: RigServer, spool: Spool) -> None:
    server.behaviour.close_after_hello = (wire.CLOSE_VERSION, "protocol 1 retired: install agent 2.0")
    spool.session_open("s1", HELLO)
    up = uplink(server, spool)
    with pytest.raises(UplinkStopped) as info:
        await asyncio.wait_for(up.run(), 10)
    assert info.value.code == wire.CLOSE_VERSION
    assert "protocol 1 retired: install agent 2.0" in str(info.value)


async def test_it_resyncs_after_a_protocol_error_close(
    server: RigServer, spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    server.behaviour.close_with = {2: (wire.CLOSE_PROTOCOL_ERROR, "bad batch")}
    # The agent's own logger at INFO whatever an earlier test in this process left configured:
    # the close is logged as a warning and again in the reconnect's note.
    caplog.set_level(logging.INFO, logger="simcoach_agent.stream")
    spool.session_open("s1", HELLO)
    up = uplink(server, spool)
    run = asyncio.create_task(up.run(until_drained=True))
    await feed(spool, "s1", 200)
    await asyncio.wait_for(run, 20)
    assert server.store.arrivals["s1"] == list(range(200))
    assert server.store.connections == 2
    assert "bad batch" in caplog.text


async def test_it_hands_coaching_and_notes_to_the_callback(server: RigServer, spool: Spool) -> None:
    coaching = {"type": "coaching", "rule": "brake_early", "severity": "warn", "text": "Brake later into T1"}
    note = {"type": "note", "author": "coach", "text": "Good lap"}
    server.behaviour.greet_with = [coaching, note]
    got: list[dict[str, Any]] = []
    spool.session_open("s1", HELLO)
    up = uplink(server, spool, on_message=got.append)
    task = asyncio.create_task(up.run())
    await wait_for(lambda: len(got) == 2)
    up.stop()
    await task
    assert got == [coaching, note]


async def test_its_hello_says_where_the_car_is_now(server: RigServer, spool: Spool) -> None:
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(30))
    up = uplink(server, spool)
    task = asyncio.create_task(up.run())
    await wait_for(lambda: len(server.store.hellos) == 1)
    assert "newest_t" not in server.store.hellos[0]  # nothing handed over by a producer yet
    up.stop()
    await task
    # the producer handed over frames up to 119 (a backlog waits in the spool): the next hello says so
    fill(spool, "s1", range(30, 120))
    up = uplink(server, spool)
    task = asyncio.create_task(up.run())
    await asyncio.sleep(0)  # the loop the offers go through
    for start in range(100, 120, 10):
        up.offer("s1", start, [wire.quantise(frame(i)) for i in range(start, start + 10)])
    await wait_for(lambda: len(server.store.hellos) == 2)
    up.stop()
    await task
    assert server.store.hellos[1]["newest_t"] == pytest.approx(frame(119)["t"], abs=1e-3)


async def test_it_hands_cues_and_welcomes_to_the_cue_callback_and_sends_control_replies(
    server: RigServer, spool: Spool
) -> None:
    cue = {"type": "cue", "id": 4, "at_m": 2220.0, "text": "brake at the 100 board", "lead_s": 3.0}
    server.behaviour.greet_with = [cue, {"type": "cue_removed", "id": 4}]
    got: list[dict[str, Any]] = []
    spool.session_open("s1", HELLO)
    up = uplink(server, spool, on_cue=got.append)
    task = asyncio.create_task(up.run())
    await wait_for(lambda: len(got) == 3)
    assert [m["type"] for m in got] == ["welcome", "cue", "cue_removed"]
    up.send_control({"type": "cue_ack", "id": 4, "received_at": 1.0})
    up.send_control({"type": "cue_spoken", "id": 4, "lap": 2, "before_m": 150.0, "speed_kmh": 180.0})
    await wait_for(lambda: len(server.store.controls) == 2)
    up.stop()
    await task
    assert [m["type"] for m in server.store.controls] == ["cue_ack", "cue_spoken"]


async def test_it_retries_with_backoff_while_nobody_listens(spool: Spool) -> None:
    closed = await RigServer().start()
    await closed.stop()  # a port nobody listens on
    states: list[str] = []
    up = Uplink(
        closed.url,
        TOKEN,
        spool,
        backoff_min=0.01,
        backoff_max=0.02,
        on_status=lambda s: states.append(s.state),
    )
    task = asyncio.create_task(up.run())
    await wait_for(lambda: states.count("backoff") >= 3)
    up.stop()
    await task
    assert "cannot connect" in up.stats.last_error
    assert states[-1] == "stopped"


def count_spool_reads(spool: Spool) -> list[int]:
    """Rows the uplink reads back from the spool, per read."""
    reads: list[int] = []
    unacked = spool.unacked

    def counted(*args: Any, **kw: Any) -> list[tuple[int, QFrame]]:
        rows = unacked(*args, **kw)
        reads.append(len(rows))
        return rows

    spool.unacked = counted  # type: ignore[method-assign]
    return reads


async def offer_batches(up: Uplink, spool: Spool, uid: str, seqs: range, *, offered_from: int = 0) -> None:
    """What the producer does: commit 6 frames, then hand them to the uplink (from seq
    ``offered_from`` on; earlier ones are only in the spool, as after a restart)."""
    for start in range(seqs.start, seqs.stop, 6):
        frames = [wire.quantise(frame(i)) for i in range(start, min(seqs.stop, start + 6))]
        assert spool.append_many(uid, start, frames) == len(frames)
        if start >= offered_from:
            up.offer(uid, start, frames)
        await asyncio.sleep(0.002)


async def test_it_sends_the_frames_the_producer_hands_over_without_reading_them_back(
    server: RigServer, spool: Spool
) -> None:
    spool.session_open("s1", HELLO)
    reads = count_spool_reads(spool)
    # the poll would read the spool by itself: make it rare, so every send follows an offer
    up = uplink(server, spool, poll_interval=30.0)
    run = asyncio.create_task(up.run(until_drained=True))
    await wait_for(lambda: up.stats.state == "streaming")
    await offer_batches(up, spool, "s1", range(120))
    spool.session_end("s1")
    up.offer("s1", 120, [])  # the producer ended the session: its last acks wake the uplink
    await asyncio.wait_for(run, 10)
    assert server.store.arrivals["s1"] == list(range(120)) and server.store.ended == ["s1"]
    assert server.store.frames["s1"][57] == pytest.approx(frame(57), abs=1e-3)
    assert sum(reads) == 0  # every frame came from memory


async def test_it_reads_the_spool_for_what_was_not_handed_over(server: RigServer, spool: Spool) -> None:
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(60))  # spooled by an earlier run
    reads = count_spool_reads(spool)
    up = uplink(server, spool, poll_interval=30.0)
    run = asyncio.create_task(up.run(until_drained=True))
    await offer_batches(up, spool, "s1", range(60, 150), offered_from=90)  # 60..89: a gap in memory
    spool.session_end("s1")
    up.offer("s1", 150, [])
    await asyncio.wait_for(run, 10)
    assert server.store.arrivals["s1"] == list(range(150))
    assert server.store.gaps == [] and server.store.duplicates == 0
    assert 60 <= sum(reads) < 150  # the early frames from the spool, the rest from memory


# ---- sessions the server cannot continue (docs/protocol.md): moved on, never a reconnect loop


async def test_it_moves_the_rest_of_a_session_the_server_ended_to_a_new_session(
    server: RigServer, spool: Spool
) -> None:
    # The server stored 0..49, then swept the session while the rig was cut off.
    server.store.frames["s1"] = {i: frame(i) for i in range(50)}
    server.behaviour.ended = {"s1"}
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(200))
    spool.session_end("s1")
    up = uplink(server, spool)
    await asyncio.wait_for(up.run(until_drained=True), 20)
    (new,) = set(server.store.frames) - {"s1"}
    assert [h["session_uid"] for h in server.store.hellos] == ["s1", new]
    assert server.store.arrivals[new] == list(range(150))  # renumbered from 0, in order
    assert server.store.frames[new][0] == pytest.approx(frame(50), abs=1e-3)  # nothing twice
    assert server.store.frames[new][149] == pytest.approx(frame(199), abs=1e-3)  # nothing lost
    assert server.store.connections == 1 and server.store.gaps == []
    assert server.store.ended == [new]
    assert spool.size() == 0 and spool.sessions() == []


async def test_it_moves_a_session_on_when_the_server_lacks_its_first_frames(
    server: RigServer, spool: Spool
) -> None:
    # A spool left from another server: 0..99 were acked there, this server never heard of s1.
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(160))
    spool.ack("s1", 99)
    spool.session_end("s1")
    up = uplink(server, spool)
    await asyncio.wait_for(up.run(until_drained=True), 20)
    new = server.store.hellos[-1]["session_uid"]
    assert new != "s1" and server.store.arrivals[new] == list(range(60))
    assert server.store.frames[new][0] == pytest.approx(frame(100), abs=1e-3)
    assert server.store.arrivals["s1"] == [] and server.store.gaps == []
    assert server.store.connections == 1
    assert spool.size() == 0 and spool.sessions() == []


async def test_it_follows_the_producer_into_the_moved_session(server: RigServer, spool: Spool) -> None:
    server.store.frames["s1"] = {i: frame(i) for i in range(30)}
    server.behaviour.ended = {"s1"}
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(40))
    up = uplink(server, spool)
    run = asyncio.create_task(up.run(until_drained=True))
    await wait_for(lambda: len(server.store.hellos) == 2)
    # the producer knows nothing of the move: it goes on appending (and ends) under "s1"
    for start in range(40, 100, 10):
        fill(spool, "s1", range(start, start + 10))
        up.offer("s1", start, [wire.quantise(frame(i)) for i in range(start, start + 10)])
        await asyncio.sleep(0.002)
    spool.session_end("s1")
    await asyncio.wait_for(run, 20)
    new = server.store.hellos[-1]["session_uid"]
    assert server.store.arrivals[new] == list(range(70))
    assert server.store.frames[new][69] == pytest.approx(frame(99), abs=1e-3)
    assert server.store.ended == [new] and server.store.duplicates == 0


async def test_it_keeps_backing_off_when_every_connection_is_refused_after_welcome(
    server: RigServer, spool: Spool
) -> None:
    # A welcome that leads nowhere (closed at the first batch, nothing acked) is no progress.
    server.behaviour.close_with = {i: (wire.CLOSE_PROTOCOL_ERROR, "refused") for i in range(1, 100)}
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(20))
    up = uplink(server, spool)
    failures: list[int] = []
    up._delay = lambda n: failures.append(n) or 0.0  # type: ignore[method-assign]
    task = asyncio.create_task(up.run())
    await wait_for(lambda: len(failures) >= 4)
    up.stop()
    await task
    assert failures[:4] == [1, 2, 3, 4]


async def test_it_resets_the_backoff_after_a_connection_that_got_acks(
    server: RigServer, spool: Spool
) -> None:
    server.behaviour.drop_after_batches = {2, 4, 6}  # each connection stores one batch, then drops
    spool.session_open("s1", HELLO)
    fill(spool, "s1", range(200))
    up = uplink(server, spool, window=20)
    failures: list[int] = []
    up._delay = lambda n: failures.append(n) or 0.0  # type: ignore[method-assign]
    task = asyncio.create_task(up.run())
    await wait_for(lambda: len(failures) >= 3)
    up.stop()
    await task
    assert failures[:3] == [0, 0, 0]


async def test_it_says_what_a_bare_close_code_means(server: RigServer, spool: Spool) -> None:
    server.behaviour.close_after_hello = (wire.CLOSE_TOO_MANY, "")  # Daphne sends no reasons
    spool.session_open("s1", HELLO)
    up = uplink(server, spool)
    errors: list[str] = []
    up._note_error = errors.append  # type: ignore[method-assign]
    task = asyncio.create_task(up.run())
    await wait_for(lambda: len(errors) >= 2)  # retried: the address may be let in again later
    up.stop()
    await task
    assert errors[0] == "connection lost (4429 too many wrong rig tokens from this address; retrying later)"
