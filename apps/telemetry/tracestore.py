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

from simcoach_agent.channels import CHANNELS

from .influx import InfluxClient, lines
from .lib.uplink import concat_columns
from .models import TraceChunk

Columns = dict[str, np.ndarray]
MEASUREMENT = "telemetry"
# InfluxDB keeps each channel to the resolution the wire carries it at (docs/protocol.md);
# the db store's float32 columns are no finer. A channel the table does not know keeps 6.
_DECIMALS = {c.name: max(0, round(-math.log10(c.resolution))) for c in CHANNELS} | {"seq": 0}
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
        tags = {
            "user": np.repeat([w.user_id for w in writes], sizes),
            "session": np.repeat([w.session_id for w in writes], sizes),
            "lap": cols["lap"],
        }
        t_ms = np.rint(cols["t"] * 1000)
        decimals = {k: _DECIMALS.get(k, UNKNOWN_CHANNEL_DECIMALS) for k in fields}
        return lines(MEASUREMENT, tags, fields, decimals, t_ms)

    def read(self, *, session_id: int, t0: float, t1: float, channels: list[str] | None = None) -> Columns:
        select = "*" if not channels else ", ".join(f'"{c}"' for c in channels if c.isidentifier())
        # InfluxQL, not SQL: the only inputs are an int id, integers and checked identifiers.
        where = (
            f"\"session\" = '{int(session_id)}' AND time >= {int(t0 * 1000)}ms AND time <= {int(t1 * 1000)}ms"
        )
        q = f"SELECT {select} FROM {MEASUREMENT} WHERE {where}"  # noqa: S608
        series = self.client.query(q)
        if not series:
            return {"t": np.empty(0)}
        cols_names: list[str] = series[0]["columns"]
        values = [row for s in series for row in s["values"]]
        out: Columns = {}
        for j, name in enumerate(cols_names):
            if name in ("session", "user"):
                continue
            raw = [row[j] for row in values]
            key = "t" if name == "time" else name
            out[key] = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
        out["t"] = out["t"] / 1000.0
        out.pop("seq", None)
        order = np.argsort(out["t"], kind="stable")
        return {k: v[order] for k, v in out.items()}

    def delete_session(self, *, session_id: int) -> None:
        self.client.query(f"DELETE FROM {MEASUREMENT} WHERE \"session\" = '{int(session_id)}'")  # noqa: S608


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
    out: Columns = {}
    for k, v in packed.items():
        if channels is None or k in channels or k == "t":
            out[k] = np.frombuffer(v, dtype="<f8" if k == "t" else "<f4").astype(np.float64)
    return out


def _concat(parts: list[Columns]) -> Columns:
    if not parts:
        return {"t": np.empty(0)}
    names = set().union(*parts)
    out: Columns = {}
    for name in names:
        # A channel absent from some chunks (a game that starts sending it late) reads as NaN.
        out[name] = np.concatenate([p.get(name, np.full(len(p["t"]), np.nan)) for p in parts])
    return out


def _clip(cols: Columns, t0: float, t1: float) -> Columns:
    keep = (cols["t"] >= t0) & (cols["t"] <= t1)
    return {k: v[keep] for k, v in cols.items()}
