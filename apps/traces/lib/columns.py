"""The one columnar type: a run of frames as {channel: numpy array}, aligned on `t`.

Written by the ingest (a decoded batch), stored and read back by the trace store, analysed
by coaching: every app names it `Columns`, and code that takes columns asks for `Columns`.

One concept, one name: `MatrixColumns` is not a second type but one way of holding `Columns`
(read-only, every channel a row of one matrix), which the wire decoder makes because joining
and reading the newest frame are cheaper on a matrix. It was called `Frames` until issue 19;
the name said "a different thing" and clashed with a frame, which is one sample of every
channel. Only code that takes a shortcut on the matrix (`isinstance(cols, MatrixColumns)`)
names it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

Columns = Mapping[str, np.ndarray]


class MatrixColumns(Mapping[str, np.ndarray]):
    """A batch's columns as rows of one (channels x frames) matrix, read-only.

    Read like a columns dict; a channel is a row view made when asked for. Joining batches
    with the same channels (`join`) is one concatenate instead of one per channel, and no
    views or dict are built per batch (they would be most of what the collector walks): both
    were among the live path's largest costs (bench/RESULTS.md).
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

    def tail(self, start: int) -> MatrixColumns:
        """Frames start.. of the batch."""
        return MatrixColumns(self.names, self.matrix[:, start:])

    @staticmethod
    def join(parts: Sequence[Columns]) -> MatrixColumns | None:
        """Back-to-back batches as one; None unless all are matrices of the same channels in the same order."""
        names = getattr(parts[0], "names", None)
        frames = [p for p in parts if isinstance(p, MatrixColumns) and p.names == names]
        if names is None or len(frames) != len(parts):
            return None
        return MatrixColumns(names, np.concatenate([p.matrix for p in frames], axis=1))


@lru_cache(maxsize=256)
def _rows_of(names: tuple[str, ...]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def same_channels(a: Columns, b: Columns) -> bool:
    """Whether two batches carry the same channels: for two matrices of one agent, one compare
    of the cached tuple of names they share, instead of a set compare of sixty keys."""
    if isinstance(a, MatrixColumns) and isinstance(b, MatrixColumns) and a.names == b.names:
        return True
    return a.keys() == b.keys()


def concat_columns(parts: Sequence[Columns]) -> Columns:
    """Back-to-back batches with the same channels as one."""
    if len(parts) == 1:
        return parts[0]
    joined = MatrixColumns.join(parts)
    if joined is not None:
        return joined
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def has_values(cols: Columns, name: str) -> bool:
    """Whether the channel holds any value: InfluxDB answers every field of its measurement,
    so a channel this session never wrote can come back as a column of NaN."""
    values = cols.get(name)
    return values is not None and bool(np.isfinite(np.asarray(values, dtype=np.float64)).any())
