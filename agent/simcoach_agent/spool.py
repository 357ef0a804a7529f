"""The bounded on-disk spool: every frame waits here until the server acknowledges it.

The producer appends a batch of frames per SQLite transaction (a kill -9 loses at most the
batch being written, never the file); the uplink reads unacknowledged frames in sequence order
and deletes them on ``ack``. Sessions are remembered (hello facts and the next sequence number),
so an agent restarted after a crash resumes the same session where it stopped.

Frames are stored at the wire's resolution, ``{channel id: integer}`` (channels.QFrame), exactly
what the uplink packs into a batch. Earlier agents (the 0.1.0 release) stored the values in the
channels' units; such rows are recognised by their float ``t`` and quantised when read (see
``_unpack``), so a spool left by an older agent is sent unchanged after an upgrade.

Durability: WAL with ``synchronous=NORMAL``. In WAL mode NORMAL never corrupts the database and
loses nothing when the *process* dies (committed pages are in the WAL, which the OS keeps);
only a power cut or OS crash can lose the last commits since the previous checkpoint. Those
are the last moments of telemetry of a rig that just lost power. FULL would fsync every commit:
20-60 fsyncs a second on the gaming PC, while the game is streaming textures from the same disk.

Bound: ``max_bytes`` of frame data and optionally ``max_frames``. When full, *new* frames are
refused (``append`` returns False and a warning is logged once per episode) and get no sequence
number. We do not evict old frames instead: acked frames are already gone, so evicting would
destroy data the server does not have yet and punch a hole in a sequence the protocol requires
to be consecutive. Refusing keeps the stored trace whole; the refused stretch shows up as a gap
in ``t``, like a pause.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgpack

from .channels import CHANNELS, QFrame

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES: Final = 500 * 1024 * 1024  # ~4 h of 60 Hz frames from a full-channel game
BUSY_TIMEOUT_MS: Final = 5000  # the producer thread and the uplink share the file

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS sessions (
    uid TEXT PRIMARY KEY,
    hello TEXT NOT NULL,            -- JSON: the hello fields except protocol/agent/session_uid
    next_seq INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,          -- Unix seconds
    touched REAL NOT NULL,          -- Unix seconds of the last append
    ended INTEGER NOT NULL DEFAULT 0,
    last_t REAL                     -- t of the last spooled frame (Unix seconds)
);
CREATE TABLE IF NOT EXISTS frames (
    uid TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,             -- msgpack {channel id: quantised integer} (see _unpack)
    PRIMARY KEY (uid, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    frames INTEGER NOT NULL,
    bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (0, 0, 0);
CREATE TABLE IF NOT EXISTS moves (
    old_uid TEXT PRIMARY KEY,       -- a session the server would not continue (session_move)
    new_uid TEXT NOT NULL,          -- where its frames went
    shift INTEGER NOT NULL          -- old seq - shift = new seq
);
"""


class SpoolBusy(RuntimeError):
    """Another agent process holds the spool: two uplinks would send (and ack) the same frames."""


class SpoolLock:
    """An OS lock on ``<spool>.lock`` held for as long as one agent process uses the spool.

    The kernel drops it when the process dies, however it dies (kill -9, power), so a stale
    lock never needs clearing. SQLite's own locking only serialises single transactions; two
    agents on one home would each stream the same sessions and knock each other off.
    """

    def __init__(self, spool_path: str | Path) -> None:
        self.path = Path(str(spool_path) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> SpoolLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock_file(fd)
        except OSError:
            os.close(fd)
            raise SpoolBusy(
                f"another simcoach-agent is already running with this spool ({self.path.parent}); "
                "stop it first, or give this one its own home (SIMCOACH_AGENT_HOME)"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self) -> SpoolLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lock_file(fd: int) -> None:
    """Lock ``fd`` exclusively without waiting; OSError if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


@dataclass(frozen=True)
class SpoolSession:
    """A driving session the spool knows about."""

    uid: str
    hello: dict[str, Any]
    next_seq: int
    created: float
    touched: float
    ended: bool
    last_t: float | None = None  # t of the last frame spooled: a resumed session goes on after it


class Spool:
    """SQLite-backed store of unacknowledged frames; open one per thread on the same path."""

    def __init__(
        self,
        path: str | Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_frames: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.max_frames = max_frames
        self.refused = 0  # frames refused because the spool was full, since open
        self._clock = clock
        self._full = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one Packer per spool (a spool is used by one thread): packb would build one per frame
        self._packer = msgpack.Packer()
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self._switch_to_wal()
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # executescript manages its own transaction: the script carries BEGIN/COMMIT itself
        self._db.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        self._add_last_t()
        self._most = self._totals()  # (frames, bytes) held, or more: see _room

    def _add_last_t(self) -> None:
        # spools written before last_t existed: add the column (NULL: nothing known)
        names = [row[1] for row in self._db.execute("PRAGMA table_info(sessions)").fetchall()]
        if "last_t" not in names:
            with contextlib.suppress(sqlite3.OperationalError):  # the other thread added it
                self._db.execute("ALTER TABLE sessions ADD COLUMN last_t REAL")

    def _switch_to_wal(self) -> None:
        # Switching a new file to WAL needs an exclusive lock and SQLite reports BUSY at once,
        # without the busy timeout, when another connection opens the same new file meanwhile.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _txn(self) -> sqlite3.Connection:
        """``with self._txn() as db:`` runs the block in one write transaction.

        BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and
        then writes fails at once with SQLITE_BUSY if the other connection wrote in between.
        The connection's own context manager (C code, cheaper than a generator at 10 commits a
        second) then commits, or rolls back if the block raised.
        """
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    # sessions

    def session_open(self, uid: str, hello: dict[str, Any]) -> SpoolSession:
        """Remember a session (no-op if known) and return it."""
        now = self._clock()
        with self._txn() as db:
            db.execute(
                "INSERT OR IGNORE INTO sessions (uid, hello, created, touched) VALUES (?, ?, ?, ?)",
                (uid, json.dumps(hello, sort_keys=True), now, now),
            )
        found = self.session_get(uid)
        assert found is not None
        return found

    def session_get(self, uid: str) -> SpoolSession | None:
        row = self._db.execute(
            "SELECT uid, hello, next_seq, created, touched, ended, last_t FROM sessions WHERE uid = ?", (uid,)
        ).fetchone()
        return _session(row) if row else None

    def sessions(self) -> list[SpoolSession]:
        """Every known session, oldest first: the order the uplink sends them in."""
        rows = self._db.execute(
            "SELECT uid, hello, next_seq, created, touched, ended, last_t FROM sessions ORDER BY rowid"
        ).fetchall()
        return [_session(r) for r in rows]

    def session_end(self, uid: str) -> None:
        """Mark a session finished: no more frames; the uplink sends ``end`` once it is drained."""
        with self._txn() as db:
            db.execute("UPDATE sessions SET ended = 1 WHERE uid = ?", (_current_uid(db, uid),))

    def session_end_all(self, *, keep: str | None = None) -> None:
        with self._txn() as db:
            kept = None if keep is None else _current_uid(db, keep)
            db.execute("UPDATE sessions SET ended = 1 WHERE uid IS NOT ?", (kept,))

    def session_forget(self, uid: str) -> None:
        """Drop a session and any frames it still has (after ``end`` was sent)."""
        with self._txn() as db:
            self._delete_frames(db, uid, None)
            db.execute("DELETE FROM sessions WHERE uid = ?", (uid,))
            db.execute("DELETE FROM moves WHERE new_uid = ?", (uid,))

    def session_move(self, uid: str, new_uid: str, shift: int) -> SpoolSession:
        """Continue a session's frames from ``shift`` on as session ``new_uid``, renumbered from 0.

        For a session the server will not continue (it ended it, or lacks frames before
        ``shift``): frames below ``shift`` are dropped (the server holds them, or never will), the
        rest keep their order and their place in the send queue (the row keeps its rowid). The
        producer may still be appending under the old uid on its own thread: ``append_many``
        and ``session_end`` follow the move recorded here, so it needs to know nothing.
        """
        with self._txn() as db:
            row = db.execute("SELECT next_seq FROM sessions WHERE uid = ?", (uid,)).fetchone()
            if row is None:
                raise KeyError(f"unknown session {uid!r}")
            if not 0 <= shift <= row[0]:
                raise ValueError(f"session {uid!r} has {row[0]} frames; cannot move from seq {shift}")
            self._delete_frames(db, uid, shift - 1)
            db.execute("UPDATE frames SET uid = ?, seq = seq - ? WHERE uid = ?", (new_uid, shift, uid))
            db.execute(
                "UPDATE sessions SET uid = ?, next_seq = next_seq - ? WHERE uid = ?", (new_uid, shift, uid)
            )
            # a session moved twice: its first name follows it to the newest one
            db.execute(
                "UPDATE moves SET new_uid = ?, shift = shift + ? WHERE new_uid = ?", (new_uid, shift, uid)
            )
            db.execute("INSERT OR REPLACE INTO moves VALUES (?, ?, ?)", (uid, new_uid, shift))
        moved = self.session_get(new_uid)
        assert moved is not None
        return moved

    def resumable(self, hello: dict[str, Any], *, max_age: float) -> SpoolSession | None:
        """The newest unfinished session with the same hello facts, touched in the last max_age s."""
        wanted = json.dumps(hello, sort_keys=True)
        row = self._db.execute(
            "SELECT uid, hello, next_seq, created, touched, ended, last_t FROM sessions WHERE ended = 0 AND hello = ? AND touched >= ? "
            "ORDER BY rowid DESC LIMIT 1",
            (wanted, self._clock() - max_age),
        ).fetchone()
        return _session(row) if row else None

    # frames

    def append(self, session_uid: str, seq: int, frame: QFrame) -> bool:
        """Store a frame as ``seq`` of the session; False (and nothing stored) if the spool is full.

        ``seq`` must be the session's ``next_seq``: the protocol needs consecutive numbers.
        """
        return self.append_many(session_uid, seq, [frame]) == 1

    def append_many(self, session_uid: str, first_seq: int, frames: list[QFrame]) -> int:
        """Store frames as ``first_seq``, ``first_seq + 1``... in one transaction; return how many
        fit (the rest were refused because the spool is full).

        Frames are at the wire's resolution (telemetry.quantise_frame): they are sent as stored.
        """
        pack = self._packer.pack
        blobs: list[bytes] = [pack(f) for f in frames]
        # Three statements a commit, the producer's ten a second: the sequence check rides on
        # the session's UPDATE, and the room check reads the totals only when nearly full.
        with self._txn() as db:
            fit = self._room(blobs)
            size = sum(map(len, blobs[:fit]))
            last = frames[fit - 1].get(_T_ID) if fit else None
            advanced = self._advance(db, session_uid, first_seq, fit, last)
            if not advanced:
                # the uplink moved the session (session_move) since the producer opened it
                session_uid, first_seq = _moved(db, session_uid, first_seq)
                advanced = self._advance(db, session_uid, first_seq, fit, last)
            if not advanced:
                raise self._sequence_error(db, session_uid, first_seq)
            if fit:
                db.executemany(
                    "INSERT INTO frames VALUES (?, ?, ?)",
                    [(session_uid, first_seq + i, b) for i, b in enumerate(blobs[:fit])],
                )
                db.execute("UPDATE totals SET frames = frames + ?, bytes = bytes + ?", (fit, size))
        self._most = (self._most[0] + fit, self._most[1] + size)
        if fit < len(frames):
            self._note_refused(len(frames) - fit)
        elif fit:
            self._note_accepted()
        return fit

    def _advance(self, db: sqlite3.Connection, uid: str, first_seq: int, fit: int, last: int | None) -> bool:
        moved = db.execute(
            "UPDATE sessions SET next_seq = ?, touched = ?, last_t = coalesce(?, last_t) "
            "WHERE uid = ? AND next_seq = ?",
            (first_seq + fit, self._clock(), _seconds(last), uid, first_seq),
        )
        return moved.rowcount == 1

    def _sequence_error(self, db: sqlite3.Connection, uid: str, seq: int) -> Exception:
        row = db.execute("SELECT next_seq FROM sessions WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            return KeyError(f"unknown session {uid!r}; call session_open first")
        return ValueError(f"session {uid!r} expects seq {row[0]}, got {seq}")

    def _room(self, blobs: list[bytes]) -> int:
        """How many of ``blobs`` fit under the bounds, taken in order.

        ``_most`` is at least what the spool holds: only this connection adds frames (one
        producer writes a spool), acks on the other one only take some away. The totals are
        read again only when that bound says the blobs might not fit.
        """
        if self._fit(self._most, blobs) < len(blobs):
            self._most = self._totals()
        return self._fit(self._most, blobs)

    def _totals(self) -> tuple[int, int]:
        frames, size = self._db.execute("SELECT frames, bytes FROM totals").fetchone()
        return int(frames), int(size)

    def _fit(self, held: tuple[int, int], blobs: list[bytes]) -> int:
        frames, size = held
        fit = 0
        for blob in blobs:
            if self.max_frames is not None and frames + fit + 1 > self.max_frames:
                break
            if size + len(blob) > self.max_bytes:
                break
            size += len(blob)
            fit += 1
        return fit

    def _note_refused(self, n: int) -> None:
        self.refused += n
        if not self._full:
            self._full = True
            log.warning(
                "SPOOL FULL (%s): the server has not acknowledged %d frames; new frames are being "
                "DROPPED until it catches up. Check the connection to the server.",
                self.path,
                self.size(),
            )

    def _note_accepted(self) -> None:
        if self._full:
            self._full = False
            log.warning("spool has room again; %d frames were dropped in total", self.refused)

    def unacked(self, session_uid: str, after_seq: int = -1, limit: int = 600) -> list[tuple[int, QFrame]]:
        """Up to ``limit`` stored frames of the session with seq > after_seq, in seq order."""
        rows = self._db.execute(
            "SELECT seq, data FROM frames WHERE uid = ? AND seq > ? ORDER BY seq LIMIT ?",
            (session_uid, after_seq, limit),
        ).fetchall()
        return [(seq, _unpack(data)) for seq, data in rows]

    def ack(self, session_uid: str, upto_seq: int) -> int:
        """Forget every frame of the session with seq <= upto_seq; return how many went."""
        with self._txn() as db:
            return self._delete_frames(db, session_uid, upto_seq)

    def _delete_frames(self, db: sqlite3.Connection, uid: str, upto: int | None) -> int:
        bound = upto if upto is not None else 2**62
        n, size = db.execute(
            "SELECT count(*), coalesce(sum(length(data)), 0) FROM frames WHERE uid = ? AND seq <= ?",
            (uid, bound),
        ).fetchone()
        if n:
            db.execute("DELETE FROM frames WHERE uid = ? AND seq <= ?", (uid, bound))
            db.execute("UPDATE totals SET frames = frames - ?, bytes = bytes - ?", (n, size))
        return int(n)

    def size(self, session_uid: str | None = None) -> int:
        """Frames waiting for an ack (in one session, or in all)."""
        if session_uid is None:
            return int(self._db.execute("SELECT frames FROM totals").fetchone()[0])
        row = self._db.execute("SELECT count(*) FROM frames WHERE uid = ?", (session_uid,)).fetchone()
        return int(row[0])

    def bytes(self) -> int:
        """Encoded size of the waiting frames (the file itself is larger: indexes, WAL)."""
        return int(self._db.execute("SELECT bytes FROM totals").fetchone()[0])


def _moved(db: sqlite3.Connection, uid: str, seq: int) -> tuple[str, int]:
    """Where frame ``seq`` of session ``uid`` lives now, following a session_move."""
    row = db.execute("SELECT new_uid, shift FROM moves WHERE old_uid = ?", (uid,)).fetchone()
    return (uid, seq) if row is None else (row[0], seq - row[1])


def _current_uid(db: sqlite3.Connection, uid: str) -> str:
    return _moved(db, uid, 0)[0]


def _session(row: tuple[Any, ...]) -> SpoolSession:
    uid, hello, next_seq, created, touched, ended, last_t = row
    return SpoolSession(uid, json.loads(hello), int(next_seq), created, touched, bool(ended), last_t)


_T_ID: Final = 0  # channels.CHANNELS[0] is t, in whole milliseconds on the wire
_RESOLUTION: Final = {i: ch.resolution for i, ch in enumerate(CHANNELS)}


def _seconds(t: int | None) -> float | None:
    return None if t is None else t * _RESOLUTION[_T_ID]


def _unpack(blob: bytes) -> QFrame:
    raw: dict[int, Any] = msgpack.unpackb(blob, strict_map_key=False)
    if not raw.keys() <= _RESOLUTION.keys():  # a newer agent's spool: drop channels unknown here
        raw = {k: v for k, v in raw.items() if k in _RESOLUTION}
    if isinstance(raw.get(_T_ID), float):
        # Spools of earlier agents hold the cleaned values in the channels' units (t always
        # among them, always a float). Quantising them here gives exactly the integers the old
        # agent's encoder would have sent, so an upgrade neither loses nor alters a frame.
        return {k: round(v / _RESOLUTION[k]) for k, v in raw.items()}
    return raw
