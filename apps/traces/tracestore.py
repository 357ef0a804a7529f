"""The trace store: one interface, two backends (DESIGN.md "Storage").

`db` keeps frames as compressed columnar chunks in the relational database (embedded default);
`influx` writes them to InfluxDB. Both return a lap's channels as numpy arrays aligned on `t`.
Callers never see which backend is in use.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple, Protocol

import msgpack
import numpy as np
from django.conf import settings

from simcoach_agent.channels import BY_NAME, CHANNELS

from .lib.columns import Columns, concat_columns
from .lib.influx import InfluxClient, lines
from .models import TraceChunk

MEASUREMENT = "telemetry"
# InfluxDB keeps each channel to the resolution the wire carries it at (docs/protocol.md);
# the db store's float32 columns are no finer. A channel the table does not know keeps 6.
KEYFRAME = "keyframe"  # a field set (to 1) only in rows that carry every value
_DECIMALS = {c.name: max(0, round(-math.log10(c.resolution))) for c in CHANNELS} | {"seq": 0, KEYFRAME: 0}
UNKNOWN_CHANNEL_DECIMALS = 6


class TraceWrite(NamedTuple):
    session_id: int
    user_id: int
    seq_start: int
    cols: Columns


class TraceStore(Protocol):
    name: str

    def write(self, *, session_id: int, user_id: int, seq_start: int, cols: Columns) -> None:
        """Durably store frames seq_start.. (re-writing the same frames is harmless)."""
        ...

    def write_many(self, writes: Sequence[TraceWrite]) -> None:
        """`write` for many sessions at once, as one request where the backend allows."""
        ...

    def read(self, *, session_id: int, t0: float, t1: float, channels: list[str] | None = None) -> Columns:
        """Frames with t0 <= t <= t1, sorted by time; always includes `t`."""
        ...

    def delete_session(self, *, session_id: int) -> None: ...


class DbTraceStore:
    name = "db"

    def write(self, *, session_id: int, user_id: int, seq_start: int, cols: Columns) -> None:
        packed = {k: _pack_column(k, v) for k, v in cols.items()}
        TraceChunk.objects.update_or_create(
            session_id=session_id,
            seq_start=seq_start,
            defaults={
                "n": len(cols["t"]),
                "t_start": float(cols["t"][0]),
                "t_end": float(cols["t"][-1]),
                "data": zlib.compress(msgpack.packb(packed), 1),
            },
        )

    def write_many(self, writes: Sequence[TraceWrite]) -> None:
        # One chunk row each, in the caller's transaction: the commit is what is shared.
        for w in writes:
            self.write(session_id=w.session_id, user_id=w.user_id, seq_start=w.seq_start, cols=w.cols)

    def read(self, *, session_id: int, t0: float, t1: float, channels: list[str] | None = None) -> Columns:
        chunks = (
            TraceChunk.objects.filter(session_id=session_id, t_end__gte=t0, t_start__lte=t1)
            .order_by("seq_start")
            .values_list("data", flat=True)
        )
        parts: list[Columns] = [_unpack(bytes(d), channels) for d in chunks]
        return _clip(_concat(parts), t0, t1)

    def delete_session(self, *, session_id: int) -> None:
        TraceChunk.objects.filter(session_id=session_id).delete()


class InfluxTraceStore:
    name = "influx"

    def __init__(self, client: InfluxClient) -> None:
        self.client = client

    def write(self, *, session_id: int, user_id: int, seq_start: int, cols: Columns) -> None:
        self.write_many([TraceWrite(session_id, user_id, seq_start, cols)])

    def write_many(self, writes: Sequence[TraceWrite]) -> None:
        # One request (one WAL fsync in influxd) for every session of the tick, and one block
        # of line protocol per set of channels (all rigs of one agent version share one).
        groups: dict[tuple[str, ...], list[TraceWrite]] = {}
        for w in writes:
            groups.setdefault(tuple(w.cols), []).append(w)
        self.client.write([self._lines(group) for group in groups.values()])

    @staticmethod
    def _lines(writes: list[TraceWrite]) -> bytes:
        sizes = [len(w.cols["t"]) for w in writes]
        cols = concat_columns([w.cols for w in writes])  # one matrix, not one array per channel
        fields = {k: v for k, v in cols.items() if k not in ("t", "lap")}
        fields["seq"] = np.concatenate(
            [np.arange(w.seq_start, w.seq_start + n) for w, n in zip(writes, sizes, strict=True)]
        )
        t_ms = np.rint(cols["t"] * 1000)
        values = np.column_stack(list(fields.values()))
        finite = np.isfinite(values)
        key = _keyframes(t_ms, cols["lap"], np.cumsum(sizes[:-1], dtype=np.int64))
        # A value that goes missing has nothing to write: its row is whole, so the reader
        # knows the value is gone rather than unchanged.
        key[1:] |= (finite[:-1] & ~finite[1:]).any(axis=1)
        omit = np.zeros(values.shape, dtype=bool)
        omit[1:] = values[1:] == values[:-1]
        omit[key] = False
        omit |= ~finite
        omit[:, list(fields).index("seq")] = False  # every row keeps a field
        fields[KEYFRAME] = np.ones(len(t_ms))
        omit = np.column_stack([omit, ~key])
        tags = {
            "user": np.repeat([w.user_id for w in writes], sizes),
            "session": np.repeat([w.session_id for w in writes], sizes),
            "lap": cols["lap"],
        }
        decimals = {k: _DECIMALS.get(k, UNKNOWN_CHANNEL_DECIMALS) for k in fields}
        return lines(MEASUREMENT, tags, fields, decimals, t_ms, omit=omit)

    def read(self, *, session_id: int, t0: float, t1: float, channels: list[str] | None = None) -> Columns:
        # `seq` is in every row: without it a row whose chosen channels all held still would
        # not come back at all.
        chosen = [c for c in channels or [] if c.isidentifier()]
        select = ", ".join(f'"{c}"' for c in ("seq", KEYFRAME, *chosen)) if channels else "*"
        # As the rows' times were written; an open end (±inf, as the db store takes) is the
        # channel model's own time range, so every store reads "until the end" the same way.
        t_lo, t_hi = BY_NAME["t"].lo, BY_NAME["t"].hi
        lo_ms, hi_ms = round(min(max(t0, t_lo), t_hi) * 1000), round(min(max(t1, t_lo), t_hi) * 1000)
        # From the start of t0's second, whose first frame is whole (see _keyframes). InfluxQL,
        # not SQL: the only inputs are an int id, integers and checked identifiers.
        where = (
            f"\"session\" = '{int(session_id)}' AND time >= {lo_ms // 1000 * 1000}ms AND time <= {hi_ms}ms"
        )
        series = self.client.query(f"SELECT {select} FROM {MEASUREMENT} WHERE {where}")  # noqa: S608
        names: list[str] = series[0]["columns"] if series else []
        if not names:
            return {"t": np.empty(0)}
        # Held values are filled in in the order they were written (`seq`), which is time
        # order unless the rig's clock stepped back; the result is then sorted by time.
        rows = [row for s in series for row in s["values"]]
        at = names.index("seq") if "seq" in names else 0
        if any(row[at] is None for row in rows):
            at = 0  # rows without a sequence number (not written by this store): by time
        rows.sort(key=lambda row: row[at])
        table = np.array(rows, dtype=object).T
        t_ms = table[0].astype(np.int64)
        key = table[names.index(KEYFRAME)] != None if KEYFRAME in names else np.zeros(len(rows), bool)  # noqa: E711
        # A window of this store's rows starts with a keyframe; rows before the first one were
        # written before keyframes existed, with every value in every row.
        key[: int(np.argmax(key)) if key.any() else len(key)] = True
        out: dict[str, np.ndarray] = {"t": t_ms / 1000.0}
        for name, column in zip(names, table, strict=True):
            if name not in ("time", "session", "user", "seq", KEYFRAME):
                out[name] = _held(column, key)
        inside = (t_ms >= lo_ms) & (t_ms <= hi_ms)
        order = np.flatnonzero(inside)[np.argsort(t_ms[inside], kind="stable")]
        return {k: v[order] for k, v in out.items()}

    def delete_session(self, *, session_id: int) -> None:
        self.client.query(f"DELETE FROM {MEASUREMENT} WHERE \"session\" = '{int(session_id)}'")  # noqa: S608


def _keyframes(t_ms: np.ndarray, lap: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Rows written whole: each write's first, the first of every second and of every lap.

    The other rows carry only the values that changed since the row before (most channels
    hold still from one 60 Hz frame to the next), which InfluxDB takes in several times
    faster. A reader starting anywhere in a second finds a whole row at that second's start.
    """
    key = np.ones(len(t_ms), dtype=bool)
    key[1:] = (t_ms[1:] // 1000 != t_ms[:-1] // 1000) | (lap[1:] != lap[:-1])
    # A clock that steps back (the rig's wall clock corrected) starts a run of its own.
    key[1:] |= t_ms[1:] <= t_ms[:-1]
    key[starts] = True
    return key


def _held(column: np.ndarray, key: np.ndarray) -> np.ndarray:
    """One channel as floats, each left-out value taken from the row before.

    In a keyframe a missing value is missing (NaN); elsewhere it held still.
    """
    given = column != None  # noqa: E711 - element-wise, on an object array
    values = np.full(len(column), np.nan)
    values[given] = column[given].astype(np.float64)
    last = np.maximum.accumulate(np.where(given | key, np.arange(len(values)), 0))
    return values[last]


@lru_cache(maxsize=1)
def get_trace_store() -> TraceStore:
    if settings.TRACE_STORE == "influx":
        client = InfluxClient(
            url=settings.INFLUX_URL,
            database=settings.INFLUX_DB,
            token=settings.INFLUX_TOKEN,
            username=settings.INFLUX_USERNAME,
            password=settings.INFLUX_PASSWORD,
        )
        return InfluxTraceStore(client)
    return DbTraceStore()


def _pack_column(name: str, values: np.ndarray) -> bytes:
    # Time needs float64 (epoch seconds to the millisecond); everything else fits float32.
    dtype = "<f8" if name == "t" else "<f4"
    return np.asarray(values, dtype=dtype).tobytes()


def _unpack(blob: bytes, channels: list[str] | None) -> Columns:
    packed: dict[str, bytes] = msgpack.unpackb(zlib.decompress(blob))
    out: dict[str, np.ndarray] = {}
    for k, v in packed.items():
        if channels is None or k in channels or k == "t":
            out[k] = np.frombuffer(v, dtype="<f8" if k == "t" else "<f4").astype(np.float64)
    return out


def _concat(parts: list[Columns]) -> Columns:
    if not parts:
        return {"t": np.empty(0)}
    names = set().union(*parts)
    out: dict[str, np.ndarray] = {}
    for name in names:
        # A channel absent from some chunks (a game that starts sending it late) reads as NaN.
        out[name] = np.concatenate([p.get(name, np.full(len(p["t"]), np.nan)) for p in parts])
    return out


def _clip(cols: Columns, t0: float, t1: float) -> Columns:
    keep = (cols["t"] >= t0) & (cols["t"] <= t1)
    return {k: v[keep] for k, v in cols.items()}
