"""Decoded batches as one matrix: joining and slicing them must give what per-channel work gives."""

from __future__ import annotations

import numpy as np
import pytest

from apps.telemetry.lib.uplink import decode_frames
from apps.traces.lib.columns import MatrixColumns, concat_columns
from simcoach_agent import wire

from .frames import loop_frames


def decoded(seq: int, n: int) -> MatrixColumns:
    frames = loop_frames(n=seq + n)[seq:]
    return decode_frames(wire.decode_message(wire.encode_batch(seq, frames)))[2]


def per_channel(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def test_back_to_back_batches_join_into_one_matrix() -> None:
    parts = [decoded(0, 6), decoded(6, 6), decoded(12, 3)]
    joined = concat_columns(list(parts))
    assert isinstance(joined, MatrixColumns) and joined.matrix.shape == (len(parts[0]), 15)
    want = per_channel(list(parts))
    assert list(joined) == list(want)
    for k, v in want.items():
        assert np.array_equal(joined[k], v), k


def test_the_same_channels_in_another_order_are_joined_by_name() -> None:
    a = decoded(0, 6)
    names = tuple(reversed(a.names))
    b = MatrixColumns(names, np.flipud(decoded(6, 6).matrix))
    joined = concat_columns([a, b])
    assert not isinstance(joined, MatrixColumns)
    assert np.array_equal(joined["speed"], np.concatenate([a["speed"], b["speed"]]))


def test_a_batch_cannot_change_behind_its_matrix() -> None:
    batch = decoded(0, 6)
    with pytest.raises(TypeError, match="does not support item assignment"):
        batch["gear"] = np.zeros(6)  # type: ignore[index]
    assert not any(hasattr(batch, name) for name in ("pop", "update", "clear", "setdefault"))
    with pytest.raises(ValueError, match="read-only"):
        batch["gear"][0] = 1.0
    assert np.array_equal(batch["gear"], batch.matrix[batch.names.index("gear")])


def test_a_batch_reads_like_a_dict_of_its_rows() -> None:
    batch = decoded(0, 6)
    plain = {name: batch.matrix[i] for i, name in enumerate(batch.names)}
    assert list(batch) == list(plain) and len(batch) == len(plain)
    assert batch.keys() == plain.keys() and "gear" in batch and "nope" not in batch
    assert batch.get("nope") is None and batch.get("nope", 3) == 3
    assert all(np.array_equal(batch.get(k), v) and np.array_equal(batch[k], v) for k, v in plain.items())
    with pytest.raises(KeyError):
        batch["nope"]


def test_tail_drops_frames_already_taken() -> None:
    batch = decoded(0, 6)
    rest = batch.tail(4)
    assert isinstance(rest, MatrixColumns) and rest.matrix.shape[1] == 2
    assert np.array_equal(rest["t"], batch["t"][4:])
