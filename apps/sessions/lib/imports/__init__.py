"""Lap file importers: MoTeC .ld/.ldx, iRacing .ibt, Garage 61 CSV and Crew Chief (InfluxDB) CSV.

`import_session(f)` looks at the content (never the name), picks the reader and returns an
`ImportedSession`; every problem with the file is an `ImportFormatError` whose message
names it. Gzip is opened transparently. Format notes live in each reader's docstring.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO

from .crewchief import import_crewchief
from .detect import CREWCHIEF_CSV, GZIP_MAGIC, IRACING_IBT, MOTEC_LD, MOTEC_LDX, detect_format
from .garage61 import import_garage61
from .ibt import import_ibt
from .motec import import_ld, parse_ldx
from .result import ImportedLap, ImportedSession, ImportFormatError

__all__ = [
    "ImportFormatError",
    "ImportedLap",
    "ImportedSession",
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


def import_session(f: BinaryIO, *, ldx: bytes | str | None = None) -> ImportedSession:
    """Import one uploaded file (seekable binary); `ldx` is the .ld's sidecar if there is one."""
    head = f.read(HEAD_BYTES)
    f.seek(0)
    kind = detect_format(head)
    zipped = head.startswith(GZIP_MAGIC)
    if kind == MOTEC_LDX:
        raise ImportFormatError("MoTeC .ldx: this is a lap-marker sidecar; upload it together with its .ld")
    if kind == MOTEC_LD:
        return _import_ld(f, zipped, ldx)
    if kind == IRACING_IBT:
        return _import_seekable(f, zipped, import_ibt)
    lines = _text_lines(f, zipped)
    try:
        return import_crewchief(lines) if kind == CREWCHIEF_CSV else import_garage61(lines)
    except (EOFError, OSError, zlib.error) as exc:
        raise ImportFormatError(f"gzip: the compressed file is damaged or cut short ({exc})") from None


def _import_ld(f: BinaryIO, zipped: bool, ldx: bytes | str | None) -> ImportedSession:
    return _import_seekable(f, zipped, lambda plain: import_ld(plain, ldx=ldx))


def _import_seekable(
    f: BinaryIO, zipped: bool, reader: Callable[[BinaryIO], ImportedSession]
) -> ImportedSession:
    if not zipped:
        return reader(f)
    # .ld and .ibt need seeking; inflate into a spooled temp file chunk by chunk (bounded memory)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as plain:
        try:
            shutil.copyfileobj(gzip.GzipFile(fileobj=f), plain)
        except (EOFError, OSError, zlib.error) as exc:
            raise ImportFormatError(f"gzip: the compressed file is damaged or cut short ({exc})") from None
        return reader(plain)  # type: ignore[arg-type]


def _text_lines(f: BinaryIO, zipped: bool) -> Iterator[str]:
    raw: BinaryIO = gzip.GzipFile(fileobj=f) if zipped else f  # type: ignore[assignment]
    return iter(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""))
