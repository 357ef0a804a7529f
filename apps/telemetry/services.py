"""Writes on the live path: open a streamed session, ingest a batch of frames, end it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from django.db import connection, transaction
from django.db.models import Field

from apps.accounts.models import Rig
from apps.accounts.services import rig_seen
from apps.sessions.lib.laps import CompletedLap
from apps.sessions.models import Lap, Session
from apps.sessions.services import lap_create, session_end, session_open
from apps.traces.lib.columns import Columns, MatrixColumns
from apps.traces.services import trace_write_many
from apps.traces.tracestore import TraceWrite
from simcoach_agent.channels import GAMES, SESSION_KINDS
from simcoach_site.lib.ratelimit import count, limited

from .lib.laps import LapTracker

RIG_TOKEN_FAILS_PER_IP = 20  # wrong rig tokens from one address ...
RIG_TOKEN_WINDOW_S = 600  # ... per 10 minutes, then every rig socket from it is refused


def rig_token_failed(*, ip: str) -> None:
    """Count a rig socket that came with a wrong token: guessing tokens is slowed per address."""
    count(f"rig-token-ip:{ip}", window_s=RIG_TOKEN_WINDOW_S)


def rig_token_throttled(*, ip: str) -> bool:
    """Whether rig sockets from ``ip`` are refused for now (too many wrong tokens)."""
    return limited(f"rig-token-ip:{ip}", limit=RIG_TOKEN_FAILS_PER_IP)


class IngestError(ValueError):
    """The batch cannot be taken as sent; the message is the close reason for the agent."""


class ConcurrentWriterError(IngestError):
    pass


@dataclass
class IngestResult:
    acked_seq: int
    stored: int  # new frames stored by this call (0 for a pure duplicate)
    laps: list[Lap] = field(default_factory=list)


def telemetry_session_open(*, rig: Rig, hello: dict[str, Any]) -> Session:
    """Validate an agent's hello and open (or resume) its session."""
    game, kind = hello.get("game"), hello.get("kind", "practice")
    uid, track, car = hello.get("session_uid"), hello.get("track"), hello.get("car")
    if game not in GAMES:
        raise IngestError(f"unknown game {game!r}; expected one of {', '.join(GAMES)}")
    if kind not in SESSION_KINDS:
        raise IngestError(f"unknown session kind {kind!r}")
    if not isinstance(uid, str) or not uid.strip() or len(uid) > 64:
        raise IngestError("hello needs a non-empty string 'session_uid' (at most 64 characters)")
    for key in ("session_uid", "agent", "car_class"):
        _plain(key, hello.get(key))
    # A game may not have said yet which track or car (AMS2 sends names in separate UDP
    # packets): an empty name is stored as unknown rather than refusing the driver's laps.
    track = _name(hello, "track", "Unknown track")
    car = _name(hello, "car", "Unknown car")
    length = hello.get("track_length_m")
    if length is not None and (not isinstance(length, int | float) or not 100 <= length <= 50_000):
        raise IngestError("track_length_m must be a number of metres between 100 and 50000")
    rig_seen(rig_id=rig.pk, game=game, agent_version=str(hello.get("agent", ""))[:32])
    return session_open(
        owner=rig.owner,
        rig_id=rig.pk,
        agent_uid=uid[:64],
        game=game,
        track=track.strip(),
        car=car.strip(),
        car_class=str(hello.get("car_class") or ""),
        kind=kind,
        track_length_m=float(length) if length else None,
    )


@dataclass
class IngestCursor:
    """Where a session's stream stands, kept by the rig socket between batches.

    The lap tracker's state travels with it, so a batch never reads it back from the row; the
    row's `last_seq` and live state are still checked under lock before anything is written,
    so a stale cursor can never store twice.
    """

    session_id: int
    owner_id: int
    last_seq: int
    lap_state: dict[str, Any]

    @classmethod
    def of(cls, session: Session) -> IngestCursor:
        if session.state != Session.State.LIVE:
            raise IngestError("session has ended; start a new session")
        return cls(session.pk, session.owner_id, session.last_seq, dict(session.live_state or {}))


def _name(hello: dict[str, Any], key: str, unknown: str) -> str:
    value = hello.get(key) or ""
    if not isinstance(value, str) or len(value) > 120:
        raise IngestError(f"hello's '{key}' must be a string of at most 120 characters")
    _plain(key, value)
    return value.strip() or unknown


def _plain(key: str, value: object) -> None:
    # Postgres text cannot hold NUL, and a lone surrogate cannot be encoded at all: refused
    # here with a reason, not by the database mid-transaction.
    if isinstance(value, str) and ("\x00" in value or _has_surrogate(value)):
        raise IngestError(f"hello's '{key}' must not contain NUL characters or lone surrogates")


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@dataclass
class IngestBatch:
    """Frames seq.. of the session a cursor points at."""

    cursor: IngestCursor
    seq: int
    cols: Mapping[str, Sequence[float] | np.ndarray]


@dataclass
class _Plan:
    """What storing a batch's new frames will change: computed before the transaction."""

    cursor: IngestCursor
    first: int  # sequence number of the first new frame
    new: Columns
    state: dict[str, Any]
    done: list[CompletedLap]


def telemetry_batches_ingest(batches: Sequence[IngestBatch]) -> list[IngestResult | IngestError]:
    """Store batches of many sessions exactly once, then record the laps they complete.

    All of them go out as ONE trace-store write and ONE transaction: an fsync per tick of the
    whole process instead of one per batch. Each batch is judged on its own: frames at or
    below its session's stored sequence are duplicates (a spool replay) and are dropped, and a
    batch that starts past the next expected sequence is a gap and is refused, so an acked
    sequence always means "every frame up to here is stored". A refused batch (an IngestError
    in its place in the result) leaves the others alone; a failing trace store raises and
    stores nothing. Cursors are advanced in place once the transaction has committed.
    """
    outcomes: list[IngestResult | IngestError | _Plan] = [_plan(b) for b in batches]
    with transaction.atomic():
        _advance_all(outcomes)
        plans = [o for o in outcomes if isinstance(o, _Plan)]
        trace_write_many(
            writes=[TraceWrite(p.cursor.session_id, p.cursor.owner_id, p.first, p.new) for p in plans]
        )
        laps = {id(p): _laps(p.cursor.session_id, p.done) for p in plans}
    results: list[IngestResult | IngestError] = []
    for o in outcomes:
        if isinstance(o, _Plan):
            stored = len(o.new["t"])
            o.cursor.last_seq, o.cursor.lap_state = o.first - 1 + stored, o.state
            o = IngestResult(acked_seq=o.cursor.last_seq, stored=stored, laps=laps[id(o)])
        results.append(o)
    return results


def _plan(batch: IngestBatch) -> IngestResult | IngestError | _Plan:
    cursor, seq, cols = batch.cursor, batch.seq, batch.cols
    expected = cursor.last_seq + 1
    n = len(cols["t"])
    if seq > expected:
        return IngestError(f"sequence gap: expected {expected}, got {seq}")
    skip = expected - seq
    if skip >= n:
        return IngestResult(acked_seq=cursor.last_seq, stored=0)
    new: Columns
    if isinstance(cols, MatrixColumns):  # already float64 rows: no copy per channel
        new = cols.tail(skip) if skip else cols
    else:
        new = {k: np.asarray(v[skip:], dtype=np.float64) for k, v in cols.items()}
    tracker = LapTracker(cursor.lap_state)  # works on its own copy: a failed write changes nothing
    done = tracker.feed(new)
    return _Plan(cursor, expected, new, tracker.state(), done)


def _laps(session_id: int, done: list[CompletedLap]) -> list[Lap]:
    if not done:
        return []
    session = Session.objects.get(pk=session_id)
    return [lap for c in done if (lap := lap_create(session=session, lap=c)) is not None]


def _advance_all(outcomes: list[IngestResult | IngestError | _Plan]) -> None:
    """Move every planned session's stored sequence on, or replace its plan with the refusal.

    Two statements however many sessions: the rows are locked and read, checked here, and
    written back in one UPDATE. A row that is no longer live, or whose sequence moved since
    the cursor read it (another socket of the same agent), refuses its batch before anything
    of it is written.
    """
    ids = [o.cursor.session_id for o in outcomes if isinstance(o, _Plan)]
    rows = {
        pk: (state, last_seq, frame_count)
        for pk, state, last_seq, frame_count in Session.objects.select_for_update()
        .filter(pk__in=ids)
        .values_list("pk", "state", "last_seq", "frame_count")
    }
    changed: dict[int, tuple[int, int, dict[str, Any], dt.datetime]] = {}
    for i, o in enumerate(outcomes):
        if not isinstance(o, _Plan):
            continue
        state, last_seq, frame_count = rows.get(o.cursor.session_id, ("deleted", -1, 0))
        if state != Session.State.LIVE:
            outcomes[i] = IngestError("session has ended; start a new session")
        elif last_seq != o.first - 1:
            outcomes[i] = ConcurrentWriterError("another connection is streaming this session")
        else:
            count = len(o.new["t"])
            rows[o.cursor.session_id] = (state, last_seq + count, frame_count + count)
            at = dt.datetime.fromtimestamp(float(o.new["t"][-1]), tz=dt.UTC)
            changed[o.cursor.session_id] = (last_seq + count, frame_count + count, o.state, at)
    _sessions_update(changed)


_ADVANCED = ("last_seq", "frame_count", "live_state", "last_frame_at")


def _sessions_update(changed: dict[int, tuple[int, int, dict[str, Any], dt.datetime]]) -> None:
    """One parametrised UPDATE run for every row (pipelined by psycopg): the ORM's bulk_update
    builds a CASE per column and row, which under load cost more than the I/O (bench/RESULTS.md)."""
    meta, quote = Session._meta, connection.ops.quote_name
    fields = [cast("Field[Any, Any]", meta.get_field(name)) for name in _ADVANCED]
    sets = ", ".join(f"{quote(name)} = %s" for name in _ADVANCED)  # plain fields: column = name
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote('id')} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(v, connection) for f, v in zip(fields, values, strict=True)] + [pk]
        for pk, values in changed.items()
    ]
    if params:
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


def telemetry_session_end(*, session_id: int) -> bool:
    session = Session.objects.get(pk=session_id)
    return session_end(session=session)
