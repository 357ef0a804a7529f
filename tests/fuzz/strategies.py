"""Hypothesis strategies for malformed uplink messages, and the verdict the server must give.

`verdict` is an independent statement of the protocol (docs/protocol.md) for one message on a
fresh socket: the close code the server must answer with, or None when the message is valid
and must not be used as a "malformed" case.
"""

from __future__ import annotations

import math
import random
import zlib
from typing import Any

import msgpack
from hypothesis import strategies as st

from apps.telemetry.tests.frames import loop_frames
from simcoach_agent import wire
from simcoach_agent.channels import CHANNELS


def _hashable(v: object) -> bool:
    return not isinstance(v, list | dict) and not (isinstance(v, float) and math.isnan(v))


INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Everything msgpack can carry: the server must survive any of it in any position.
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.binary(max_size=24)
)
ANY_VALUE = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(LEAVES.filter(_hashable), inner, max_size=5),
    max_leaves=8,
)
MESSAGE_TYPES = st.sampled_from(["hello", "frames", "end", "ack", "welcome", "", "FRAMES", "x" * 300])


def packb(value: object) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


@st.composite
def structures(draw: st.DrawFn) -> bytes:
    """Any msgpack value, often a map with a (possibly wrong) 'type'."""
    value = draw(ANY_VALUE)
    if draw(st.booleans()):
        extra = draw(st.dictionaries(st.text(max_size=6), ANY_VALUE, max_size=4))
        value = {**extra, "type": draw(MESSAGE_TYPES | ANY_VALUE)}
    return packb(value)


def garbage() -> st.SearchStrategy[bytes]:
    return st.binary(min_size=0, max_size=512)


def columns() -> st.SearchStrategy[Any]:
    ints = st.lists(INT64, max_size=8)
    mixed = st.lists(LEAVES, max_size=8)
    huge = st.integers(min_value=601, max_value=2000).map(lambda k: [0] * k)
    return st.one_of(ints, mixed, huge, ANY_VALUE)


@st.composite
def random_batches(draw: st.DrawFn) -> bytes:
    """A frames message with fuzzed header fields and a fuzzed body."""
    keys = st.integers(min_value=-3, max_value=len(CHANNELS) + 3) | LEAVES.filter(_hashable)
    cols = draw(st.dictionaries(keys, columns(), max_size=7))
    body = packb(cols)
    z = draw(st.sampled_from(["zlib", "raw", "cut", "junk"]))
    blob = {
        "zlib": zlib.compress(body),
        "raw": body,
        "cut": zlib.compress(body)[: draw(st.integers(0, 8))],
        "junk": draw(st.binary(max_size=64)),
    }[z]
    msg: dict[str, Any] = {
        "type": "frames",
        "seq": draw(st.one_of(st.integers(-5, 5), st.just(2**53), INT64, LEAVES)),
        "n": draw(st.one_of(st.integers(-2, 8), st.just(wire.MAX_FRAMES_PER_BATCH + 1), INT64, LEAVES)),
        "z": blob,
    }
    for key in draw(st.sets(st.sampled_from(["seq", "n", "z"]), max_size=2)):
        del msg[key]  # missing fields
    return packb(msg)


@st.composite
def broken_valid_batches(draw: st.DrawFn) -> bytes:
    """A real batch of the test loop with one thing broken: the near misses a decoder must catch."""
    n = draw(st.integers(1, 12))
    seq = draw(st.integers(0, 3))
    frames = loop_frames(start_seq=seq, n=n)
    msg = msgpack.unpackb(wire.encode_batch(seq, frames))
    cols = msgpack.unpackb(zlib.decompress(msg["z"]), strict_map_key=False)
    how = draw(
        st.sampled_from(["drop_required", "value", "length", "seq_gap", "n", "flip", "bomb", "oversize"])
    )
    if how == "drop_required":
        del cols[draw(st.sampled_from([0, 1, 2, 3, 9]))]
    elif how == "value":
        cid = draw(st.sampled_from(sorted(cols)))
        bad = st.floats(allow_nan=True, allow_infinity=True) | st.booleans() | st.none()
        cols[cid][draw(st.integers(0, n - 1))] = draw(
            bad | st.integers(10**9, 2**63 - 1) | st.text(max_size=3)
        )
    elif how == "length":
        cid = draw(st.sampled_from(sorted(cols)))
        cols[cid] = cols[cid][:-1] if draw(st.booleans()) else [*cols[cid], 0]
    elif how == "seq_gap":
        msg["seq"] = seq + draw(st.integers(1, 2**40))
    elif how == "n":
        msg["n"] = draw(st.sampled_from([0, n + 1, wire.MAX_FRAMES_PER_BATCH + 1, -1]))
    if how in ("flip", "bomb", "oversize"):
        msg["z"] = _break_blob(draw, how, msg["z"])
    else:
        msg["z"] = zlib.compress(packb(cols))
    return packb(msg)


# Tiny on the wire, past the inflate limit once inflated.
ZIP_BOMB = zlib.compress(b"\x00" * (wire.MAX_INFLATED_BYTES + 1024), 9)


def _break_blob(draw: st.DrawFn, how: str, blob: bytes) -> bytes:
    if how == "flip":
        i = draw(st.integers(0, len(blob) - 1))
        return blob[:i] + bytes([blob[i] ^ draw(st.integers(1, 255))]) + blob[i + 1 :]
    if how == "bomb":
        return ZIP_BOMB
    # Past the message limit. Seeded bytes, not st.binary: hypothesis is slow at 256 KB draws.
    return random.Random(draw(st.integers(0, 2**32))).randbytes(wire.MAX_MESSAGE_BYTES + 1)


def malformed() -> st.SearchStrategy[bytes]:
    return st.one_of(garbage(), structures(), random_batches(), broken_valid_batches())


def verdict(data: bytes, *, after_hello: bool, next_seq: int = 0) -> int | None:
    """The close code the server must send for this message, or None if it is acceptable."""
    try:
        msg = wire.decode_message(data)
    except wire.WireError as exc:
        return wire.CLOSE_TOO_BIG if "exceeds" in str(exc) else wire.CLOSE_PROTOCOL_ERROR
    kind = msg["type"]
    if kind == "end":
        return None
    if kind == "hello":
        return _hello_verdict(msg)
    if kind != "frames" or not after_hello:
        return wire.CLOSE_PROTOCOL_ERROR
    try:
        seq, _, _ = wire.decode_batch(msg)
    except wire.WireError:
        return wire.CLOSE_PROTOCOL_ERROR
    return wire.CLOSE_PROTOCOL_ERROR if seq > next_seq else None


def _hello_verdict(msg: dict[str, Any]) -> int | None:
    # Any hello is refused or accepted by rules the socket tests cover; fuzz cases keep away.
    return None
