"""Importing lap files (MoTeC .ld/.ldx, Garage 61 CSV, Crew Chief CSV) into sessions.

`session_import` is the one way in, from the import page, the API and the agent's upload:
hash, parse (apps/sessions/lib/imports), then store the session, its laps and its trace so
that nothing half-imported remains, and queue the same lap analysis a streamed session gets.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.sessions.lib.laps import TIMED
from apps.traces.lib.columns import Columns
from apps.traces.services import trace_delete, trace_write
from simcoach_site.events import LapStored, lap_stored

from .lib.imports import ImportedLap, ImportedSession, ImportFormatError, detect_format, import_session
from .lib.imports.detect import MOTEC_LD
from .models import Lap, Session
from .services import car_get_or_create, track_get_or_create

log = logging.getLogger(__name__)

HASH_CHUNK = 1024 * 1024  # bytes read at a time while hashing
TRACE_CHUNK = 6000  # samples per trace-store write: bounds the line-protocol text held at once
GAME_RE = re.compile(r"[a-z0-9_]{1,16}")
# Names the trace store uses for itself (and InfluxDB tags); an extra channel never takes them.
RESERVED = {"t", "lap", "seq", "time", "session", "user"}
KINDS = [k.value for k in Session.Kind]
DEFAULT_KIND = Session.Kind.PRACTICE.value
# How far along an import is (0-1) and what it is doing; called often, so it should throttle.
Progress = Callable[[float, str], None]
# Shares of the bar: hashing is quick, reading the file most of the work, storing the rest.
READ_FROM, STORE_FROM = 0.05, 0.8


class ImportRejected(Exception):
    """The file cannot be imported; the message names what is wrong. Nothing was stored."""

    def __init__(self, message: str, *, missing: list[str] | None = None) -> None:
        super().__init__(message)
        self.missing = missing or []


class ImportStoreFailed(Exception):
    """The trace store failed mid-import; everything written for the import was removed."""


@dataclass
class ImportOutcome:
    session: Session
    created: bool  # False: the same file was imported before and `session` is that import
    laps: int
    warnings: list[str] = field(default_factory=list)


def session_import(
    *,
    owner: User,
    fileobj: IO[bytes],
    filename: str,
    ldx: bytes | None = None,
    game: str | None = None,
    track: str | None = None,
    car: str | None = None,
    kind: str | None = None,
    rig_id: int | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import one seekable binary file as an ended Session with its Laps and trace.

    Game/track/car/kind given as arguments override the file's; the file fills what is not
    given. A kind neither gives is practice (with a warning); a missing game, track or car
    raises ImportRejected with `missing` set. Re-importing the same content returns the
    earlier session with created=False. `progress` hears how far it is (see Progress).
    """
    report = progress or _no_progress
    report(0.0, "checking the file")
    content_hash = _content_hash(fileobj, ldx)
    existing = Session.objects.filter(owner_id=owner.pk, content_hash=content_hash).first()
    if existing is not None:
        return ImportOutcome(existing, False, existing.laps.count(), ["this file was already imported"])
    report(READ_FROM, "reading the file")
    parsed = _parse(fileobj, filename, ldx, report)
    facts, notes = _facts(parsed, filename, game=game, track=track, car=car, kind=kind)
    _check_lap_numbers(parsed, filename)
    # Storing runs in one transaction, so progress written inside it would show only at the end.
    report(STORE_FROM, f"storing {len(parsed.laps)} laps and the trace")
    try:
        session = _store(owner, parsed, facts, content_hash, rig_id)
    except IntegrityError:
        existing = Session.objects.filter(owner_id=owner.pk, content_hash=content_hash).first()
        if existing is None:  # not a race with another import of this file: the data is at fault
            log.warning("import of %s broke a constraint", filename, exc_info=True)
            raise ImportRejected(f"{filename}: the file's laps or channels contradict each other") from None
        # the same file finished importing in another request meanwhile
        return ImportOutcome(existing, False, existing.laps.count(), ["this file was already imported"])
    return ImportOutcome(session, True, len(parsed.laps), [*parsed.warnings, *notes, *_lap_notes(parsed)])


# ---- reading


def _content_hash(fileobj: IO[bytes], ldx: bytes | None) -> str:
    digest = hashlib.sha256()
    fileobj.seek(0)
    head = fileobj.read(HASH_CHUNK)
    while head:
        digest.update(head)
        head = fileobj.read(HASH_CHUNK)
    fileobj.seek(0)
    # The .ldx decides where an .ld's laps are cut, so it is part of what was imported.
    if ldx and _sniff(fileobj) == MOTEC_LD:
        digest.update(b"\0ldx\0" + ldx)
    return digest.hexdigest()


def _sniff(fileobj: IO[bytes]) -> str | None:
    head = fileobj.read(8192)
    fileobj.seek(0)
    try:
        return detect_format(head)
    except ImportFormatError:
        return None


def _no_progress(fraction: float, phase: str) -> None:
    return None


def _parse(fileobj: IO[bytes], filename: str, ldx: bytes | None, report: Progress) -> ImportedSession:
    size = max(fileobj.seek(0, 2), 1)
    fileobj.seek(0)

    def tick() -> None:
        # The readers' position in the file (compressed bytes for gzip) stands for their progress.
        done = min(fileobj.tell() / size, 1.0)
        report(READ_FROM + (STORE_FROM - READ_FROM) * done, "reading the file")

    try:
        return import_session(fileobj, ldx=ldx, time_limit_s=settings.IMPORT_TIME_LIMIT_S, tick=tick)  # type: ignore[arg-type]
    except ImportFormatError as exc:
        raise ImportRejected(f"{filename}: {exc}") from None
    except (
        ValueError,
        IndexError,
        KeyError,
        ArithmeticError,  # OverflowError, ZeroDivisionError from values no sensor makes
        struct.error,
        csv.Error,
        EOFError,
        OSError,
        zlib.error,
    ) as exc:
        # A reader bug or a damage the readers did not foresee: still the user's file at fault.
        log.warning("import of %s failed unexpectedly", filename, exc_info=True)
        raise ImportRejected(f"{filename}: the file is damaged or not in a format we read ({exc})") from None


def _check_lap_numbers(parsed: ImportedSession, filename: str) -> None:
    """A lap number twice (a game's counter reset mid-file) cannot be stored: say so, plainly."""
    seen: set[int] = set()
    for lap in parsed.laps:
        number = max(lap.number, 0)  # as _lap_create stores it
        if number in seen:
            raise ImportRejected(
                f"{filename}: lap {number} appears twice (the game's lap counter went back, "
                "e.g. a session restart); split the file at the restart and import each part"
            )
        seen.add(number)


@dataclass(frozen=True)
class _Facts:
    game: str
    track: str
    car: str
    kind: str


def _facts(parsed: ImportedSession, filename: str, **given: str | None) -> tuple[_Facts, list[str]]:
    """Game, track, car and kind, and notes on what was assumed.

    What the user gives wins over the file (they know when a file's words are wrong or
    too vague); the file fills the rest. A kind is never worth refusing a file for: one
    neither says is practice, with a note.
    """
    values = {
        name: ((given.get(name) or "").strip() or (getattr(parsed, name) or "").strip())
        for name in ("game", "track", "car", "kind")
    }
    notes = []
    if not values["kind"]:
        values["kind"] = DEFAULT_KIND
        notes.append(f"the file does not say its session kind; imported as {DEFAULT_KIND}")
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ImportRejected(
            f"{filename}: the file does not say its {', '.join(missing)}; please give them", missing=missing
        )
    values["game"] = values["game"].lower()
    if not GAME_RE.fullmatch(values["game"]):
        raise ImportRejected(
            f"{filename}: game must be a short name like acc or iracing, not {values['game']!r}"
        )
    values["kind"] = values["kind"].lower()
    if values["kind"] not in KINDS:
        raise ImportRejected(f"{filename}: kind must be one of {', '.join(KINDS)}, not {values['kind']!r}")
    return _Facts(**values), notes


def _lap_notes(parsed: ImportedSession) -> list[str]:
    """What the user should know about the laps: none at all, or none the game timed."""
    if not parsed.laps:
        return ["no laps: the file holds no lap; the session keeps its trace"]
    if not any(lap.timing in TIMED and not lap.partial for lap in parsed.laps):
        return ["no timed lap: every lap is untimed or partial, so none can be a best or reference lap"]
    return []


# ---- storing


def _store(
    owner: User, parsed: ImportedSession, facts: _Facts, content_hash: str, rig_id: int | None
) -> Session:
    t = parsed.channels["t"]
    # Files without a date (Garage 61) are placed at import time; traces need epoch seconds.
    started_at = parsed.started_at or timezone.now()
    base = started_at.timestamp()
    with transaction.atomic():
        session = _session_create(owner, parsed, facts, content_hash, rig_id, started_at)
        laps = [_lap_create(session, lap, base, is_first=i == 0) for i, lap in enumerate(parsed.laps)]
        try:
            _trace_write(session, owner, _trace_columns(parsed), base)
        except Exception as exc:
            # The db store rolls back with the transaction; influx needs an explicit delete.
            _trace_forget(session.pk)
            raise ImportStoreFailed(
                f"storing the trace failed ({type(exc).__name__}: {exc}); nothing was imported"
            ) from exc
        for lap in laps:
            lap_stored.send(LapStored(lap_id=lap.pk, session_id=session.pk))
    log.info(
        "imported %s as session %s: %d laps, %d samples", parsed.source_format, session.pk, len(laps), len(t)
    )
    return session


def _session_create(
    owner: User,
    parsed: ImportedSession,
    facts: _Facts,
    content_hash: str,
    rig_id: int | None,
    started_at: dt.datetime,
) -> Session:
    t = parsed.channels["t"]
    duration = float(t[-1]) if len(t) else 0.0
    return Session.objects.create(
        owner_id=owner.pk,
        rig_id=rig_id,
        game=facts.game,
        track=track_get_or_create(game=facts.game, name=facts.track, length_m=parsed.track_length_m),
        car=car_get_or_create(game=facts.game, name=facts.car, car_class=""),
        kind=facts.kind,
        started_at=started_at,
        ended_at=started_at + dt.timedelta(seconds=duration),
        state=Session.State.ENDED,
        source=parsed.source_format[:16],
        content_hash=content_hash,
        last_seq=len(t) - 1,
        frame_count=len(t),
        last_frame_at=started_at + dt.timedelta(seconds=duration),
    )


def _lap_create(session: Session, lap: ImportedLap, base: float, *, is_first: bool) -> Lap:
    """One stored lap under the one lap rule, from the importer's verdict on it.

    Only a timed lap has a `time_ms`; an untimed or partial lap is never valid, so it is
    never a best, reference or statistic lap. Every lap keeps its measured duration.
    """
    t_start, t_end = base + lap.start_t, base + lap.end_t
    measured = lap.end_t - lap.start_t
    timed = lap.timing in TIMED
    return Lap.objects.create(
        session=session,
        number=max(lap.number, 0),
        time_ms=round(lap.time_s * 1000) if timed else None,
        sector_ms=[round(s * 1000) for s in lap.sectors_s or []],
        valid=lap.valid is not False and timed and not lap.partial,
        is_out_lap=not lap.complete and is_first,
        started_at=dt.datetime.fromtimestamp(t_start, tz=dt.UTC),
        ended_at=dt.datetime.fromtimestamp(t_end, tz=dt.UTC),
        t_start=t_start,
        t_end=t_end,
        stats={
            "timing": lap.timing,
            "partial": lap.partial,
            # line to line, or timed by the game from a standing or rolling start
            "complete": lap.complete,
            "duration_s": round(measured, 3),
            "valid_known": lap.valid is not None,
            "imported": True,
        },
    )


def _trace_columns(parsed: ImportedSession) -> Columns:
    cols = dict(parsed.channels)
    for name, values in parsed.extra.items():
        safe = safe_channel_name(name)
        if safe and safe not in cols:
            cols[safe] = values
    return cols


def safe_channel_name(name: str) -> str:
    """A name both stores accept: lower-case letters, digits and '_', starting with a letter.

    InfluxDB field keys need escaping for spaces, commas and '='; we avoid them instead, and
    keep the store's own names (t, lap, seq, ...) free by prefixing a clash with `x_`.
    """
    safe = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:60]
    if not safe:
        return ""
    if not safe[0].isalpha() or safe in RESERVED:
        safe = f"x_{safe}"
    return safe


def _trace_write(session: Session, owner: User, cols: Columns, base: float) -> None:
    for seq_start, chunk in _chunks(cols):
        chunk["t"] = chunk["t"] + base
        trace_write(session_id=session.pk, user_id=owner.pk, seq_start=seq_start, cols=chunk)


def _chunks(cols: Columns) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
    n = len(cols["t"])
    for start in range(0, n, TRACE_CHUNK):
        yield (
            start,
            {name: np.asarray(v[start : start + TRACE_CHUNK], dtype=np.float64) for name, v in cols.items()},
        )


def _trace_forget(session_id: int) -> None:
    try:
        trace_delete(session_id=session_id)
    except Exception:
        log.exception("could not delete the partial trace of session %s", session_id)
