"""Writes to the trace store: every app that stores or forgets frames goes through these.

The store's backend (`db` or `influx`, settings.TRACE_STORE) stays behind `get_trace_store`;
reads go through `apps.traces.selectors`.
"""

from __future__ import annotations

from collections.abc import Sequence

from .lib.columns import Columns
from .tracestore import TraceWrite, get_trace_store


def trace_write(*, session_id: int, user_id: int, seq_start: int, cols: Columns) -> None:
    """Store one session's frames seq_start.. durably; writing the same frames again is harmless."""
    get_trace_store().write(session_id=session_id, user_id=user_id, seq_start=seq_start, cols=cols)


def trace_write_many(*, writes: Sequence[TraceWrite]) -> None:
    """Frames of many sessions as one store request (one fsync per tick of the live ingest)."""
    get_trace_store().write_many(writes)


def trace_delete(*, session_id: int) -> None:
    """Forget a session's frames. The db store's chunks also go with a rolled-back transaction;
    InfluxDB keeps whatever it was sent, so a failed import must call this."""
    get_trace_store().delete_session(session_id=session_id)
