"""Upload temp files that a killed process cannot leave behind, and a sweep for those it did.

Django's TemporaryFileUploadHandler streams a large upload into a *named* temp file
(`tmpXXXX.upload.ld`) and deletes it when the request closes it; a worker killed with
SIGKILL (OOM killer, a deploy) never gets there, and the files pile up in the temp dir.
Ours is anonymous instead: `tempfile.TemporaryFile` has no name on disk (O_TMPFILE, or
unlinked at once), so the kernel frees it with the last descriptor, whatever kills the
process. Nothing in the import path needs a name: the importer reads the open file.

`upload_temp_sweep` removes the named leftovers of earlier runs (Django's handler before
this one was installed, or other processes using its defaults); the app calls it at start.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

log = logging.getLogger(__name__)

# A named upload file untouched for this long belongs to no live request: Django writes every
# chunk as it arrives, and a request reads its upload within seconds of the last chunk.
UPLOAD_STALE_S = 3600.0


class AnonymousTemporaryUploadedFile(UploadedFile):
    """An upload streamed to disk into a file with no name (see the module docstring)."""

    def __init__(
        self, name: str, content_type: str | None, size: int, charset: str | None, **extra: Any
    ) -> None:
        file = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 - the upload owns it
        super().__init__(file, name, content_type, size, charset, extra.get("content_type_extra"))


class AnonymousTemporaryFileUploadHandler(FileUploadHandler):
    """Django's stream-to-disk handler (TemporaryFileUploadHandler), into an anonymous temp file."""

    file: AnonymousTemporaryUploadedFile

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file = AnonymousTemporaryUploadedFile(
            self.file_name or "upload",
            self.content_type,
            0,
            self.charset,
            content_type_extra=self.content_type_extra,
        )

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.file.write(raw_data)

    def file_complete(self, file_size: int) -> UploadedFile:
        self.file.seek(0)
        self.file.size = file_size
        return self.file

    def upload_interrupted(self) -> None:
        # Django's version deletes the file by name; ours has none: closing it frees it.
        if hasattr(self, "file"):
            self.file.close()


def upload_temp_dir() -> Path:
    return Path(settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir())


def upload_temp_sweep(*, older_than_s: float = UPLOAD_STALE_S, now: float | None = None) -> int:
    """Remove named upload temp files (`*.upload`, `*.upload.*`) left by killed processes.

    Only files untouched for `older_than_s` go: another process of this server may be
    receiving an upload into one right now. Returns how many were removed.
    """
    cutoff = (time.time() if now is None else now) - older_than_s
    removed = 0
    try:
        entries = list(os.scandir(upload_temp_dir()))
    except OSError as exc:
        log.warning("cannot list the upload temp dir: %s", exc)
        return 0
    for entry in entries:
        if not _is_upload_temp(entry.name):
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove
    if removed:
        log.info("removed %d stale upload temp files from %s", removed, upload_temp_dir())
    return removed


def _is_upload_temp(name: str) -> bool:
    # Django's names: tmp<random>.upload<.ext>
    return name.startswith("tmp") and (name.endswith(".upload") or ".upload." in name)
