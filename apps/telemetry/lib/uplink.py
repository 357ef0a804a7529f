"""The server's decoder for the agent's frame batches: straight to numpy, one pass per batch.

Same rules and same values as `simcoach_agent.wire.decode_batch` (the agent's pure-Python
reference, which must not need numpy); tests/fuzz checks the two agree on random input.
"""

from __future__ import annotations

from itertools import chain
from typing import Any, Final

import numpy as np

import simcoach_agent.wire as wire
from simcoach_agent.channels import CHANNELS

Columns = dict[str, np.ndarray]

_RES: Final = np.array([c.resolution if c.kind == "f" else 1.0 for c in CHANNELS])
_LO: Final = np.array([c.lo for c in CHANNELS])
_HI: Final = np.array([c.hi for c in CHANNELS])
# Every legal value is within 2**53 steps of zero (the widest is `t`: 4.1e12 ms), so a
# larger delta is corrupt, and rejecting it first keeps the int64 running sums from wrapping.
_MAX_DELTA: Final = 2**53


def decode_frames(msg: dict[str, Any]) -> tuple[int, int, Columns]:
    """Validate a frames message; return (first_seq, n, {channel: float64 values in its unit})."""
    seq, n, raw = wire.batch_columns(msg)
    ids, flat = _check_shape(raw, n)
    values = _values(ids, flat, n)
    cols = {CHANNELS[cid].name: values[i] for i, cid in enumerate(ids)}
    wire.check_required(cols)
    return seq, n, cols


def _check_shape(raw: dict[Any, Any], n: int) -> tuple[list[int], list[int]]:
    """Channel ids in message order and all their deltas, flat (column after column)."""
    ids: list[int] = []
    for cid, column in raw.items():
        if type(cid) is not int or not 0 <= cid < len(CHANNELS):
            raise wire.WireError(f"unknown channel id {cid!r}")
        if type(column) is not list or len(column) != n:
            raise wire.WireError(f"channel {CHANNELS[cid].name}: expected {n} values")
        ids.append(cid)
    flat = list(chain.from_iterable(raw.values()))
    # One pass over every value at C speed; `type(...) is int` also refuses bools.
    if not set(map(type, flat)) <= {int}:
        cid = next(c for c in ids if not all(type(v) is int for v in raw[c]))
        raise wire.WireError(f"channel {CHANNELS[cid].name}: values must be integers (quantised)")
    return ids, flat


def _values(ids: list[int], flat: list[int], n: int) -> np.ndarray:
    if not ids:
        return np.empty((0, n))
    try:
        deltas = np.array(flat, dtype=np.int64).reshape(len(ids), n)
    except OverflowError:
        deltas = None
    # min/max, not abs: abs(-2**63) wraps around to itself in int64.
    if deltas is None or int(deltas.max()) > _MAX_DELTA or int(deltas.min()) < -_MAX_DELTA:
        raise wire.WireError("a channel has a value out of range")
    idx = np.array(ids)
    values = np.cumsum(deltas, axis=1) * _RES[idx, None]
    bad = (values < _LO[idx, None]) | (values > _HI[idx, None])
    if bad.any():
        row, col = divmod(int(np.argmax(bad)), n)
        ch = CHANNELS[ids[row]]
        raise wire.WireError(f"channel {ch.name}: value {values[row, col]:g} outside [{ch.lo:g}, {ch.hi:g}]")
    return values
