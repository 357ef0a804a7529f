"""The C hot loops (native/): built, used on good input, safe and silent on bad input.

Agreement with the Python decoders on random batches is tests/fuzz's job; this file checks
what the fuzz cannot see: that the C path really runs (and does not hand every batch to the
fallback), and that no byte string, however cut or corrupted, makes it read past its input.
"""

from __future__ import annotations

import os
import random
import zlib

import msgpack
import numpy as np
import pytest

from apps.telemetry.lib import uplink
from apps.traces.lib.influx import lines
from apps.traces.lib.native import fast as native
from simcoach_agent import wire

from .frames import loop_frames

if native is None:  # a machine without a C compiler: the Python paths alone (CI requires it)
    if os.environ.get("SIMCOACH_REQUIRE_NATIVE") == "1":
        pytest.fail("simcoach_native is not built; SIMCOACH_REQUIRE_NATIVE=1 requires it", pytrace=False)
    pytest.skip("simcoach_native is not built (pip install ./native)", allow_module_level=True)
ARGS = (uplink._RES_BYTES, uplink._LO_BYTES, uplink._HI_BYTES)


def body(frames: int = 6) -> tuple[bytes, int]:
    msg = wire.decode_message(wire.encode_batch(0, loop_frames(n=frames)))
    return zlib.decompress(msg["z"]), frames


def test_the_c_decoder_takes_a_good_batch_and_gives_the_numpy_decoders_values() -> None:
    raw, n = body(60)
    decoded = native.decode_columns(raw, n, *ARGS)
    assert decoded is not None, "a good batch fell back to Python"
    assert_numpy_agrees(raw, n, *decoded)


def assert_numpy_agrees(raw: bytes, n: int, ids: tuple[int, ...], values: bytes) -> None:
    columns = msgpack.unpackb(raw, strict_map_key=False, use_list=False)
    assert tuple(columns) == ids
    want = uplink._values(tuple(columns.values()), uplink._layout(ids), n)
    assert np.array_equal(np.frombuffer(values).reshape(len(ids), n), want)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda c: {**c, 0: [*c[0][:-1], 1.5]}, "values must be integers", id="a float"),
        pytest.param(lambda c: {**c, 0: [*c[0][:-1], True]}, "values must be integers", id="a bool"),
        pytest.param(lambda c: {**c, 0: c[0][:-1]}, "expected 6 values", id="a short column"),
        pytest.param(lambda c: {**c, 9999: c[0]}, "unknown channel id 9999", id="an unknown channel"),
        pytest.param(lambda c: {**c, -1: c[0]}, "unknown channel id -1", id="a negative channel id"),
        pytest.param(lambda c: {**c, 0: [2**62, *c[0][1:]]}, "out of range", id="a delta past 2**53"),
        pytest.param(lambda c: {**c, 0: [2**64 - 1, *c[0][1:]]}, "out of range", id="past int64"),
        pytest.param(lambda c: {**c, 0: [-(2**63), *c[0][1:]]}, "out of range", id="int64 min"),
        pytest.param(
            lambda c: {**c, 0: [10**15, *c[0][1:]]}, "channel t: value .* outside", id="out of its range"
        ),
    ],
)
def test_what_the_c_decoder_refuses_goes_to_python_which_names_it(change, reason: str) -> None:
    raw, n = body()
    bad = msgpack.packb(change(msgpack.unpackb(raw, strict_map_key=False)))
    assert native.decode_columns(bad, n, *ARGS) is None
    with pytest.raises(wire.WireError, match=reason):
        uplink.decode_frames({"type": "frames", "seq": 0, "n": n, "z": zlib.compress(bad)})


def test_trailing_bytes_and_duplicate_ids_are_left_to_python() -> None:
    raw, n = body()
    assert native.decode_columns(raw + b"\x00", n, *ARGS) is None
    cid, column = next(iter(msgpack.unpackb(raw, strict_map_key=False).items()))
    # A map that names one channel twice: msgpack keeps the last, the C decoder declines.
    entry = msgpack.packb(cid) + msgpack.packb(column)
    assert native.decode_columns(b"\x82" + entry + entry, n, *ARGS) is None


def test_every_cut_and_every_flipped_byte_of_a_batch_is_safe() -> None:
    """No crash, no read past the end: each prefix, and the body with each byte changed."""
    raw, n = body()
    for end in range(len(raw)):
        assert native.decode_columns(raw[:end], n, *ARGS) is None
    rng = random.Random(7)
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] = rng.randrange(256)
        out = native.decode_columns(bytes(flipped), n, *ARGS)
        if out is not None:  # still a well-formed batch: then it must decode as Python does
            assert_numpy_agrees(bytes(flipped), n, *out)


def test_random_bytes_never_crash_it_and_what_it_takes_is_what_msgpack_reads() -> None:
    rng = random.Random(11)
    taken = 0
    for _ in range(5000):
        # Small maps of small columns, with random bytes spliced in: a mix of good and bad.
        n = rng.randrange(1, 4)
        good = msgpack.packb({rng.randrange(70): [rng.randrange(-3, 4) for _ in range(n)]})
        data = bytearray(good)
        if rng.random() < 0.7:
            data[rng.randrange(len(data))] = rng.randrange(256)
        out = native.decode_columns(bytes(data), n, *ARGS)
        if out is None:
            continue
        taken += 1
        assert_numpy_agrees(bytes(data), n, *out)
    assert taken > 1000, "the C decoder declined nearly everything"


def test_line_protocol_in_c_matches_python() -> None:
    tags = {"session": np.array([7, 7, -3]), "lap": np.array([1, 1, 2])}
    fields = {"speed": np.array([123.456, 0.0, -99.0]), "gear": np.array([3.0, -1.0, 2**40])}
    args = ("m", tags, fields, {"speed": 2, "gear": 0}, np.array([1000, 1017, 1_700_000_000_000]))
    assert lines(*args, native=True) == lines(*args, native=False)
    assert lines(*args).decode().split("\n") == [
        "m,session=7,lap=1 speed=12346e-2,gear=3 1000",
        "m,session=7,lap=1 speed=0e-2,gear=-1 1017",
        "m,session=-3,lap=2 speed=-9900e-2,gear=1099511627776 1700000000000",
    ]


def test_line_protocol_leaves_out_omitted_values_in_c_as_in_python() -> None:
    rnd = np.random.default_rng(5)
    n = 400
    tags = {"session": np.full(n, 7), "lap": rnd.integers(0, 3, n)}
    fields = {k: rnd.normal(0, 100, n).round(1) for k in ("a", "b", "c", "d")}
    fields["b"][::37] = np.nan  # rows written one by one, where the mask holds as well
    omit = rnd.random((n, 4)) < 0.6
    omit[np.arange(n), rnd.integers(0, 4, n)] = False  # every row keeps a field
    args = ("m", tags, fields, {k: 1 for k in fields}, np.arange(n) + 1000)
    c, py = lines(*args, omit=omit, native=True), lines(*args, omit=omit, native=False)
    assert sorted(c.split(b"\n")) == sorted(py.split(b"\n"))
    first = c.split(b"\n")[0].decode()
    assert first.startswith("m,session=7,lap=") and " ," not in first and ", " not in first
    written = sum(line.count(b"=") - 2 for line in c.split(b"\n"))  # two tags a line
    assert written == int((~omit & np.isfinite(np.column_stack(list(fields.values())))).sum())


def test_line_protocol_refuses_a_row_with_every_field_omitted() -> None:
    tags = {"session": np.array([1, 1])}
    fields = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    omit = np.array([[False, True], [True, True]])
    for native_ in (True, False):
        with pytest.raises(ValueError, match="no field"):
            lines("m", tags, fields, {"a": 0, "b": 0}, np.array([1, 2]), omit=omit, native=native_)


def test_line_protocol_in_c_writes_int64_extremes() -> None:
    ints = np.array([[0, -(2**63), 2**63 - 1]], dtype=np.int64)
    out = native.format_lines((b"a=", b"", b" b=", b"", b" ", b""), ints.tobytes(), 1)
    assert out == b"a=0 b=-9223372036854775808 9223372036854775807"
