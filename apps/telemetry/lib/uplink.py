"""The server's decoder for the agent's frame batches: straight to numpy, one pass per batch.

Same rules and same values as `simcoach_agent.wire.decode_batch` (the agent's pure-Python
reference, which must not need numpy); tests/fuzz checks all three agree on random input:
the reference, the numpy decoder here, and the C one (native/) that runs first when built.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from itertools import chain
from typing import Any, Final, NamedTuple, NoReturn

import numpy as np

import simcoach_agent.wire as wire
from simcoach_agent.channels import CHANNELS

from .native import fast

Columns = Mapping[str, np.ndarray]

_RES: Final = np.array([c.resolution if c.kind == "f" else 1.0 for c in CHANNELS])
_LO: Final = np.array([c.lo for c in CHANNELS])
_HI: Final = np.array([c.hi for c in CHANNELS])
_RES_BYTES, _LO_BYTES, _HI_BYTES = _RES.tobytes(), _LO.tobytes(), _HI.tobytes()
# Every legal value is within 2**53 steps of zero (the widest is `t`: 4.1e12 ms), so a
# larger delta is corrupt, and rejecting it first keeps the int64 running sums from wrapping.
_MAX_DELTA: Final = 2**53
_max, _min, _any = np.maximum.reduce, np.minimum.reduce, np.logical_or.reduce


class Frames(Mapping[str, np.ndarray]):
    """A batch's columns as rows of one (channels x frames) matrix, read-only.

    Read like a columns dict; a channel is a row view made when asked for. Joining batches
    with the same channels (`join`) is one concatenate instead of one per channel, which,
    over sixty channels, was the largest single cost of the live path. The rows are not made
    up front: building sixty views and a dict per batch was the next largest, and those dicts
    were most of what the collector walked at every young collection.
    """

    __slots__ = ("_rows", "matrix", "names")

    def __init__(self, names: tuple[str, ...], matrix: np.ndarray) -> None:
        self.names, self.matrix = names, matrix
        self._rows = _rows_of(names)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.matrix[self._rows[name]]

    def get(self, name: str, default: Any = None) -> Any:
        row = self._rows.get(name)
        return default if row is None else self.matrix[row]

    def __contains__(self, name: object) -> bool:
        return name in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def tail(self, start: int) -> Frames:
        """Frames start.. of the batch."""
        return Frames(self.names, self.matrix[:, start:])

    @staticmethod
    def join(parts: Sequence[Columns]) -> Frames | None:
        """Back-to-back batches as one; None unless all are Frames of the same channels in the same order."""
        names = getattr(parts[0], "names", None)
        frames = [p for p in parts if isinstance(p, Frames) and p.names == names]
        if names is None or len(frames) != len(parts):
            return None
        return Frames(names, np.concatenate([p.matrix for p in frames], axis=1))


@lru_cache(maxsize=256)
def _rows_of(names: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def same_channels(a: Columns, b: Columns) -> bool:
    """Whether two batches carry the same channels: for two Frames of one agent, one compare
    of the cached tuple of names they share, instead of a set compare of sixty keys."""
    if isinstance(a, Frames) and isinstance(b, Frames) and a.names == b.names:
        return True
    return a.keys() == b.keys()


def concat_columns(parts: Sequence[Columns]) -> Columns:
    """Back-to-back batches with the same channels as one."""
    if len(parts) == 1:
        return parts[0]
    joined = Frames.join(parts)
    if joined is not None:
        return joined
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


class Layout(NamedTuple):
    """What decoding needs per list of channel ids (the same for every batch of an agent)."""

    names: tuple[str, ...]
    res: np.ndarray  # column vectors, one row per channel
    lo: np.ndarray
    hi: np.ndarray


def decode_frames(msg: dict[str, Any]) -> tuple[int, int, Frames]:
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
    cols = Frames(_layout(ids).names, np.frombuffer(values).reshape(len(ids), n))
    wire.check_required(cols)
    return seq, n, cols


def decode_frames_numpy(msg: dict[str, Any]) -> tuple[int, int, Frames]:
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
    cols = Frames(layout.names, _values(columns, layout, n))
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
