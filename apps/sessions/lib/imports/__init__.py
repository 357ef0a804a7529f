"""Lap file importers: MoTeC .ld/.ldx, iRacing .ibt, Garage 61 CSV and Crew Chief (InfluxDB) CSV.

`import_session(f)` looks at the content (never the name), picks the reader and returns an
`ImportedSession`; every problem with the file is an `ImportFormatError` whose message
names it. Gzip is opened transparently. Format notes live in each reader's docstring.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from .crewchief import import_crewchief
from .detect import CREWCHIEF_CSV, GZIP_MAGIC, IRACING_IBT, MOTEC_LD, MOTEC_LDX, detect_format
from .garage61 import import_garage61
from .ibt import import_ibt
from .limits import MAX_LAPS, bounded_lines, check_session, gzip_limit, inflate, time_limit
from .motec import import_ld, parse_ldx
from .result import ImportedLap, ImportedSession, ImportFormatError

__all__ = [
    "ImportFormatError",
    "ImportedLap",
    "ImportedSession",
    "MAX_LAPS",
    "detect_format",
    "import_crewchief",
    "import_garage61",
    "import_ibt",
    "import_ld",
    "import_session",
    "parse_ldx",
]

HEAD_BYTES = 8192
SPOOL_BYTES = 32 * 1024 * 1024  # an inflated .ld bigger than this goes to a temp file


def import_session(
    f: BinaryIO,
    *,
    ldx: bytes | str | None = None,
    time_limit_s: float | None = None,
    tick: Callable[[], None] | None = None,
) -> ImportedSession:
    """Import one uploaded file (seekable binary); `ldx` is the .ld's sidecar if there is one.

    Reading gives up with ImportFormatError after `time_limit_s` seconds (None: no limit).
    `tick` is called as the readers go (see limits.time_limit), e.g. to report progress.
    """
    with time_limit(time_limit_s, tick):
        return _import_session(f, ldx)


def _import_session(f: BinaryIO, ldx: bytes | str | None) -> ImportedSession:
    head = f.read(HEAD_BYTES)
    f.seek(0)
    kind = detect_format(head)
    zipped = head.startswith(GZIP_MAGIC)
    if kind == MOTEC_LDX:
        raise ImportFormatError("MoTeC .ldx: this is a lap-marker sidecar; upload it together with its .ld")
    if kind == MOTEC_LD:
        found = _import_ld(f, zipped, ldx)
    elif kind == IRACING_IBT:
        found = _import_seekable(f, zipped, import_ibt)
    else:
        found = _import_csv(f, zipped, kind)
    check_session(found)
    return found


def _import_ld(f: BinaryIO, zipped: bool, ldx: bytes | str | None) -> ImportedSession:
    return _import_seekable(f, zipped, lambda plain: import_ld(plain, ldx=ldx))


def _import_seekable(
    f: BinaryIO, zipped: bool, reader: Callable[[BinaryIO], ImportedSession]
) -> ImportedSession:
    if not zipped:
        return reader(f)
    # .ld and .ibt need seeking; inflate into a spooled temp file chunk by chunk (bounded memory).
    # The temp file has no name on disk, so a killed process leaves nothing behind.
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as plain:
        shutil.copyfileobj(inflate(f, gzip_limit(_size(f))), plain)
        plain.seek(0)
        return reader(plain)  # type: ignore[arg-type]


def _import_csv(f: BinaryIO, zipped: bool, kind: str) -> ImportedSession:
    lines = _text_lines(f, zipped)
    try:
        return import_crewchief(lines) if kind == CREWCHIEF_CSV else import_garage61(lines)
    except csv.Error as exc:
        raise ImportFormatError(_csv_error(str(exc))) from None


def _csv_error(message: str) -> str:
    if "field larger than field limit" in message:
        limit = csv.field_size_limit() // 1024
        return f"CSV: a cell is longer than {limit} KB (an unclosed quote?): not a telemetry export"
    return f"CSV: the file is not valid CSV ({message})"


def _size(f: BinaryIO) -> int:
    here = f.tell()
    size = f.seek(0, io.SEEK_END)
    f.seek(here)
    return size


def _text_lines(f: BinaryIO, zipped: bool) -> Iterator[str]:
    raw: BinaryIO = inflate(f, gzip_limit(_size(f))) if zipped else f  # type: ignore[assignment]
    return bounded_lines(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""))
