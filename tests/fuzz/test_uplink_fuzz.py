"""Uplink fuzzing (issue 11): malformed messages at the decoder, through the ASGI app, and on the wire.

1. Decoder, for volume: every message either decodes or raises WireError (whose text becomes the
   close reason), and the server's numpy decoder agrees with the agent's reference decoder on
   every frames message: same refusals, same values.
2. The real ASGI stack (auth middleware, RigTelemetryConsumer): each malformed message, before
   or after hello, closes its socket with the protocol's code and a reason, while a healthy rig
   on another socket keeps getting acks, and nothing of a refused batch is stored.
3. Raw bytes at a real Daphne over TCP: the server survives; codes arrive (Daphne drops reasons).

Set SIMCOACH_FUZZ_RECORD=1 to write the counts to bench/fuzz.json (the reliability table).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import msgpack
import numpy as np
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.sessions.models import Session
from apps.telemetry import writer
from apps.telemetry.lib.uplink import decode_frames, decode_frames_numpy
from apps.telemetry.tests.frames import loop_frames, stored_count
from apps.telemetry.tests.test_consumers import HELLO, closed_with, open_session, receive_msg, rig_socket
from simcoach_agent import wire

from .strategies import broken_valid_batches, garbage, malformed, random_batches, structures, verdict

# Thousands of cases each: `make test` runs them, `make test-fast` leaves them out.
pytestmark = pytest.mark.fuzz
ROOT = Path(__file__).resolve().parents[2]
TRIED: Counter[str] = Counter()
CRASHES: Counter[str] = Counter()
FUZZ = settings(
    deadline=None,
    database=None,
    derandomize=True,  # the same cases every run: a CI failure reproduces locally
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


@pytest.fixture(scope="module", autouse=True)
def _record() -> Iterator[None]:
    yield
    if os.environ.get("SIMCOACH_FUZZ_RECORD") == "1":
        out = {"cases_tried": sum(TRIED.values()), "crashes": sum(CRASHES.values()), "by_layer": dict(TRIED)}
        (ROOT / "bench" / "fuzz.json").write_text(json.dumps(out, indent=1) + "\n")


# ----------------------------------------------------------------------------- 1. the decoder


def check_decoders(data: bytes) -> None:
    TRIED["decoder"] += 1
    try:
        msg = wire.decode_message(data)
    except wire.WireError as exc:
        assert str(exc)
        return
    except Exception:
        CRASHES["decoder"] += 1
        raise
    if msg["type"] == "frames":
        _same_outcome(msg)


def _same_outcome(msg: dict[str, Any]) -> None:
    reference = _outcome(wire.decode_batch, msg)
    for decode in (decode_frames, decode_frames_numpy):  # with the C decoder first, and without
        fast = _outcome(decode, msg)
        assert (reference is None) == (fast is None), f"{decode.__name__} disagrees on {msg!r:.200}"
        if reference is not None and fast is not None:
            assert reference[:2] == fast[:2] and reference[2].keys() == fast[2].keys()
            for name, values in reference[2].items():
                assert np.array_equal(np.asarray(values, dtype=np.float64), fast[2][name])


def _outcome(decode: Callable[[dict[str, Any]], Any], msg: dict[str, Any]) -> Any:
    try:
        return decode(msg)
    except wire.WireError as exc:
        assert str(exc)
        return None
    except Exception:
        CRASHES["decoder"] += 1
        raise


@settings(FUZZ, max_examples=2000)
@given(data=structures())
def test_it_refuses_any_msgpack_structure_with_a_reason(data: bytes) -> None:
    check_decoders(data)


@settings(FUZZ, max_examples=2000)
@given(data=garbage())
def test_it_refuses_garbage_bytes_with_a_reason(data: bytes) -> None:
    check_decoders(data)


@settings(FUZZ, max_examples=1500)
@given(data=random_batches())
def test_both_decoders_agree_on_fuzzed_batches(data: bytes) -> None:
    check_decoders(data)


@settings(FUZZ, max_examples=3500)
@given(data=broken_valid_batches())
def test_both_decoders_agree_on_near_miss_batches(data: bytes) -> None:
    check_decoders(data)


# ----------------------------------------------------------------------------- 2. the ASGI app

SOCKET_CASES = 750  # per phase (before hello, after hello)


def collect(strategy: st.SearchStrategy[bytes], n: int, seed: int) -> list[bytes]:
    """n examples of a strategy, reproducibly: hypothesis as a generator, outside a @given test."""
    cases: list[bytes] = []

    @settings(FUZZ, max_examples=n, derandomize=False)
    @hypothesis.seed(seed)
    @given(data=strategy)
    def gather(data: bytes) -> None:
        cases.append(data)

    gather()
    return cases


class HealthyRig:
    """A rig streaming on its own socket while the fuzzing goes on: it must never notice."""

    def __init__(self, comm: Any) -> None:
        self.comm, self.seq = comm, 0

    async def beat(self) -> None:
        await self.comm.send_to(bytes_data=wire.encode_batch(self.seq, loop_frames(start_seq=self.seq, n=6)))
        self.seq += 6
        while (msg := await receive_msg(self.comm))["type"] != "ack":
            pass
        assert msg["seq"] == self.seq - 1


@pytest.mark.django_db(transaction=True)
async def test_every_malformed_message_closes_its_socket_and_nothing_else(
    rig_and_token, driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer, "STORE_TICK_S", 0.0)  # acks at once: the healthy rig waits for them
    from apps.accounts.services import rig_create

    _, healthy_token = rig_and_token
    _, fuzz_token = await database_sync_to_async(rig_create)(owner=driver, name="Fuzzed rig")
    comm, _ = await open_session(healthy_token, {**HELLO, "session_uid": "healthy"})
    healthy = HealthyRig(comm)
    phases = [(False, collect(malformed(), SOCKET_CASES, 1)), (True, collect(malformed(), SOCKET_CASES, 2))]
    for after_hello, cases in phases:
        for i, data in enumerate(cases):
            await _one_case(fuzz_token, data, after_hello=after_hello)
            if i % 25 == 0:
                await healthy.beat()
    await healthy.beat()
    await comm.disconnect()
    fuzzed = await Session.objects.aget(agent_uid="fuzz")
    assert fuzzed.last_seq == -1 and fuzzed.frame_count == 0
    assert await sync_to_async(stored_count)(fuzzed.pk) == 0
    assert (await Session.objects.aget(agent_uid="healthy")).frame_count == healthy.seq


async def _one_case(token: str, data: bytes, *, after_hello: bool) -> None:
    expected = verdict(data, after_hello=after_hello)
    if expected is None:
        return  # a valid message by chance: not a malformed case
    TRIED["asgi"] += 1
    if after_hello:
        comm, _ = await open_session(token, {**HELLO, "session_uid": "fuzz"})
    else:
        comm = rig_socket(token)
        assert (await comm.connect())[0]
    # send_input, not send_to: send_to refuses an empty message, which is a case too.
    await comm.send_input({"type": "websocket.receive", "bytes": data})
    try:
        code, reason = await closed_with(comm)
    except Exception:
        CRASHES["asgi"] += 1
        raise
    assert (code, bool(reason)) == (expected, True), f"{data[:80]!r} -> {code} {reason!r}"


# ----------------------------------------------------------------------------- 3. raw bytes on TCP

RAW_CASES = 400


def test_a_real_daphne_survives_raw_bytes(daphne_url: str, rig_and_token, driver) -> None:
    from apps.accounts.services import rig_create

    _, healthy_token = rig_and_token
    _, fuzz_token = rig_create(owner=driver, name="Fuzzed rig")
    cases = collect(st.one_of(garbage(), structures()), RAW_CASES, 3)
    codes = asyncio.run(
        _raw_fuzz(daphne_url.replace("http", "ws") + "/ws/rig/", healthy_token, fuzz_token, cases)
    )
    assert set(codes) <= {wire.CLOSE_PROTOCOL_ERROR, wire.CLOSE_TOO_BIG}, Counter(codes)


async def _raw_fuzz(url: str, healthy_token: str, fuzz_token: str, cases: list[bytes]) -> list[int]:
    from websockets.asyncio.client import connect

    codes: list[int] = []
    async with connect(url, additional_headers={"Authorization": f"Bearer {healthy_token}"}) as healthy:
        await healthy.send(wire.encode_control({**HELLO, "session_uid": "healthy"}))
        await healthy.recv()
        seq = 0
        for i, data in enumerate(cases):
            if verdict(data, after_hello=False) is None:
                continue
            TRIED["daphne"] += 1
            codes.append(await _raw_case(url, fuzz_token, data))
            if i % 30 == 0:
                seq = await _raw_beat(healthy, seq)
        await _raw_beat(healthy, seq)
    return codes


async def _raw_case(url: str, token: str, data: bytes) -> int:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:
        await ws.send(data)
        try:
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else -1
    CRASHES["daphne"] += 1
    return -1  # the server answered instead of closing


async def _raw_beat(ws: Any, seq: int) -> int:
    await ws.send(wire.encode_batch(seq, loop_frames(start_seq=seq, n=6)))
    while (msg := msgpack.unpackb(await asyncio.wait_for(ws.recv(), 10)))["type"] != "ack":
        pass
    assert msg["seq"] == seq + 5
    return seq + 6
