"""The server's decoder for the agent's frame batches: straight to numpy, one pass per batch.

Same rules and same values as `simcoach_agent.wire.decode_batch` (the agent's pure-Python
reference, which must not need numpy); tests/fuzz checks all three agree on random input:
the reference, the numpy decoder here, and the C one (native/) that runs first when built.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import chain
from typing import Any, Final, NamedTuple, NoReturn

import numpy as np

import simcoach_agent.wire as wire
from apps.traces.lib.columns import MatrixColumns
from apps.traces.lib.native import fast
from simcoach_agent.channels import CHANNELS

_RES: Final = np.array([c.resolution if c.kind == "f" else 1.0 for c in CHANNELS])
_LO: Final = np.array([c.lo for c in CHANNELS])
_HI: Final = np.array([c.hi for c in CHANNELS])
_RES_BYTES, _LO_BYTES, _HI_BYTES = _RES.tobytes(), _LO.tobytes(), _HI.tobytes()
# Every legal value is within 2**53 steps of zero (the widest is `t`: 4.1e12 ms), so a
# larger delta is corrupt, and rejecting it first keeps the int64 running sums from wrapping.
_MAX_DELTA: Final = 2**53
_max, _min, _any = np.maximum.reduce, np.minimum.reduce, np.logical_or.reduce


class Layout(NamedTuple):
    """What decoding needs per list of channel ids (the same for every batch of an agent)."""

    names: tuple[str, ...]
    res: np.ndarray  # column vectors, one row per channel
    lo: np.ndarray
    hi: np.ndarray


def decode_frames(msg: dict[str, Any]) -> tuple[int, int, MatrixColumns]:
    """Validate a frames message; return (first_seq, n, {channel: float64 values in its unit}).

    The C decoder takes what it can prove good; for anything else it answers None, and the
    numpy decoder runs to name the fault, so refusals read the same with or without it.
    """
    if fast is None:
        return decode_frames_numpy(msg)
    seq, n, body = wire.batch_body(msg)
    decoded = fast.decode_columns(body, n, _RES_BYTES, _LO_BYTES, _HI_BYTES)
    if decoded is None:
        return decode_frames_numpy(msg)
    ids, values = decoded
    cols = MatrixColumns(_layout(ids).names, np.frombuffer(values).reshape(len(ids), n))
    wire.check_required(cols)
    return seq, n, cols


def decode_frames_numpy(msg: dict[str, Any]) -> tuple[int, int, MatrixColumns]:
    """`decode_frames` without the C decoder."""
    seq, n, raw = wire.batch_columns(msg, use_list=False)
    if not raw:
        wire.check_required(())
    columns = tuple(raw.values())
    # Checked in bulk, a C pass each; the per-channel walk runs only to name what is wrong.
    if (
        set(map(type, raw)) != {int}
        or set(map(type, columns)) != {tuple}
        or set(map(len, columns)) != {n}
        or not set(map(type, chain.from_iterable(columns))) <= {int}
    ):
        _refuse_shape(raw, n)
    layout = _layout(tuple(raw))
    cols = MatrixColumns(layout.names, _values(columns, layout, n))
    wire.check_required(cols)
    return seq, n, cols


@lru_cache(maxsize=256)
def _layout(ids: tuple[int, ...]) -> Layout:
    for cid in ids:
        if not 0 <= cid < len(CHANNELS):
            raise wire.WireError(f"unknown channel id {cid!r}")
    idx = np.array(ids, dtype=np.intp)
    return Layout(tuple(CHANNELS[c].name for c in ids), _RES[idx, None], _LO[idx, None], _HI[idx, None])


def _refuse_shape(raw: dict[Any, Any], n: int) -> NoReturn:
    """Name the first thing wrong with a batch that failed the bulk checks."""
    for cid, column in raw.items():
        if type(cid) is not int or not 0 <= cid < len(CHANNELS):
            raise wire.WireError(f"unknown channel id {cid!r}")
        if type(column) is not tuple or len(column) != n:
            raise wire.WireError(f"channel {CHANNELS[cid].name}: expected {n} values")
        if not all(type(v) is int for v in column):  # `type(...) is int` also refuses bools
            raise wire.WireError(f"channel {CHANNELS[cid].name}: values must be integers (quantised)")
    raise AssertionError("a batch that failed the bulk checks passed the per-channel ones")


def _values(columns: tuple[tuple[int, ...], ...], layout: Layout, n: int) -> np.ndarray:
    try:
        flat = chain.from_iterable(columns)
        deltas = np.fromiter(flat, dtype=np.int64, count=len(columns) * n).reshape(len(columns), n)
    except OverflowError:
        deltas = None
    # min/max, not abs: abs(-2**63) wraps around to itself in int64. The ufuncs' own reduce,
    # not ndarray.max(): this runs per batch, and the method's Python wrapper cost as much.
    if deltas is None or _max(deltas, None) > _MAX_DELTA or _min(deltas, None) < -_MAX_DELTA:
        raise wire.WireError("a channel has a value out of range")
    values = np.cumsum(deltas, axis=1) * layout.res
    bad = (values < layout.lo) | (values > layout.hi)
    if _any(bad, None):
        row, col = divmod(int(np.argmax(bad)), n)
        lo, hi = layout.lo[row, 0], layout.hi[row, 0]
        raise wire.WireError(
            f"channel {layout.names[row]}: value {values[row, col]:g} outside [{lo:g}, {hi:g}]"
        )
    return values
