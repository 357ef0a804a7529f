"""Imports off the request path: an upload arrives in chunks into a file of its own, a worker runs it.

`import_create` makes the Import (and takes the first chunk when the file came with the
request), `import_chunk_append` adds chunks at the offset the client says (resumable: a chunk
sent twice is taken once, a gap is refused), and once the last byte is in the import is queued:
`session_import_run_task` claims it (`import_run`), runs `session_import` on the stored file with
progress, records the outcome on the row and deletes the file whatever happened. Files of
abandoned uploads and of workers that died are removed by `imports_sweep`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from simcoach_agent.sizes import megabytes
from simcoach_site.jobs import enqueue

from .models import Import
from .services_import import ImportRejected, ImportStoreFailed, Progress, session_import

log = logging.getLogger(__name__)

COPY_BLOCK = 64 * 1024  # bytes moved from the request to the file at a time
PROGRESS_EVERY_S = 0.5  # a running import writes its progress at most this often
META_KEYS = ("game", "track", "car", "kind")
ORPHAN_STALE_S = 600.0  # a file whose row is not (yet) committed is left alone this long


class ImportRequestError(Exception):
    """A request about an upload that cannot be honoured; `status` is the HTTP answer (4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---- files


def import_upload_dir() -> Path:
    path = Path(settings.IMPORT_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_file_path(import_id: int) -> Path:
    return import_upload_dir() / f"import-{import_id}.upload"


def import_ldx_path(import_id: int) -> Path:
    return import_upload_dir() / f"import-{import_id}.ldx"


def _files_remove(import_id: int) -> None:
    for path in (import_file_path(import_id), import_ldx_path(import_id)):
        path.unlink(missing_ok=True)


# ---- receiving


def import_create(
    *,
    owner: User,
    filename: str,
    size: int,
    meta: dict[str, Any],
    ldx: bytes | None = None,
    rig_id: int | None = None,
    content: IO[bytes] | None = None,
) -> Import:
    """A new import of a `size`-byte file; `content` is its first chunk (or all of it) if it came along."""
    name = (filename or "upload").replace("/", "_").replace("\\", "_")[:255]
    if size <= 0:
        raise ImportRequestError(f"{name}: the file is empty")
    if size > settings.IMPORT_MAX_BYTES:
        limit = megabytes(settings.IMPORT_MAX_BYTES)
        raise ImportRequestError(
            f"{name}: the file is {megabytes(size)}; the limit is {limit} (IMPORT_MAX_BYTES)", 413
        )
    given = {k: str(meta.get(k) or "").strip()[:120] for k in META_KEYS if meta.get(k)}
    with transaction.atomic():
        imp = Import.objects.create(
            owner=owner, rig_id=rig_id, filename=name, size=size, meta=given, has_ldx=ldx is not None
        )
        import_file_path(imp.pk).touch()
        if ldx is not None:
            import_ldx_path(imp.pk).write_bytes(ldx)
        # If anything below fails the row rolls back; its files must not outlive it.
        try:
            if content is not None:
                imp = _append(imp, offset=0, stream=content, length=None)
        except BaseException:
            _files_remove(imp.pk)
            raise
    return imp


def import_chunk_append(*, imp: Import, offset: int, stream: IO[bytes], length: int) -> Import:
    """Write `length` bytes of `stream` at `offset` of the import's file (see the module docstring)."""
    with transaction.atomic():
        # The lock serialises two requests for the same import (a client retrying a slow chunk).
        locked = Import.objects.select_for_update().get(pk=imp.pk)
        return _append(locked, offset=offset, stream=stream, length=length)


def _append(imp: Import, *, offset: int, stream: IO[bytes], length: int | None) -> Import:
    limit = settings.IMPORT_CHUNK_BYTES
    if length is not None and length > limit:
        raise ImportRequestError(
            f"{imp.filename}: a chunk is at most {megabytes(limit)} (IMPORT_CHUNK_BYTES); this one is "
            f"{megabytes(length)}",
            413,
        )
    end = offset + (length or 0)
    if length is not None and end <= imp.received:
        return imp  # a chunk sent again (its answer was lost): already stored, take it once
    if imp.state != Import.State.UPLOADING:
        raise ImportRequestError(f"{imp.filename}: the upload is complete; the import is {imp.state}", 409)
    if offset != imp.received:
        raise ImportRequestError(
            f"{imp.filename}: a chunk at offset {offset} does not follow the {imp.received} bytes "
            f"received; send from offset {imp.received}",
            409,
        )
    if end > imp.size:
        raise ImportRequestError(f"{imp.filename}: the data runs past the announced size of {imp.size} bytes")
    written = _copy(imp, stream, offset, limit)
    if length is not None and written != length:
        raise ImportRequestError(f"{imp.filename}: the chunk was cut short ({written} of {length} bytes)")
    if offset + written > imp.size:  # a whole file in one request says its size after the fact
        raise ImportRequestError(f"{imp.filename}: the data runs past the announced size of {imp.size} bytes")
    imp.received = offset + written
    imp.updated_at = timezone.now()
    fields = ["received", "updated_at"]
    if imp.received == imp.size:
        imp.state, imp.phase = Import.State.QUEUED, "waiting for a worker"
        fields += ["state", "phase"]
        from .tasks import session_import_run_task

        enqueue(session_import_run_task, imp.pk)
    imp.save(update_fields=fields)
    return imp


def _copy(imp: Import, stream: IO[bytes], offset: int, limit: int) -> int:
    written = 0
    with import_file_path(imp.pk).open("r+b") as out:
        out.seek(offset)
        while block := stream.read(COPY_BLOCK):
            written += len(block)
            if written > limit:
                out.truncate(offset)
                raise ImportRequestError(
                    f"{imp.filename}: a chunk is at most {megabytes(limit)} (IMPORT_CHUNK_BYTES); send the "
                    "file in chunks",
                    413,
                )
            out.write(block)
        out.truncate(offset + written)
    return written


# ---- running


def import_run(*, import_id: int) -> bool:
    """Run a queued import once; False when there was nothing to do (claimed elsewhere, or done).

    The conditional update is the claim: of two workers given the same id, one moves the row
    from queued to running and the other finds nothing to update.
    """
    imports_sweep()
    claimed = Import.objects.filter(pk=import_id, state=Import.State.QUEUED).update(
        state=Import.State.RUNNING, started_at=timezone.now(), updated_at=timezone.now(), phase="starting"
    )
    if claimed != 1:
        log.info("import %s: already claimed or finished, nothing to do", import_id)
        return False
    imp = Import.objects.select_related("owner").get(pk=import_id)
    try:
        _run(imp)
    finally:
        _files_remove(imp.pk)
    return True


def _run(imp: Import) -> None:
    try:
        ldx = import_ldx_path(imp.pk).read_bytes() if imp.has_ldx else None
        with import_file_path(imp.pk).open("rb") as fileobj:
            outcome = session_import(
                owner=imp.owner,
                fileobj=fileobj,
                filename=imp.filename,
                ldx=ldx,
                rig_id=imp.rig_id,
                progress=_progress_writer(imp.pk),
                **{k: imp.meta.get(k) or None for k in META_KEYS},
            )
    except ImportRejected as exc:
        _finish(imp, error=str(exc), missing=exc.missing)
    except ImportStoreFailed as exc:
        _finish(imp, error=str(exc), retryable=True)
    except FileNotFoundError:
        _finish(imp, error=f"{imp.filename}: the uploaded file is gone from the server; upload it again")
    except Exception as exc:
        # Celery's SoftTimeLimitExceeded lands here too: the run ends with a sentence, not a traceback.
        log.exception("import %s of %s failed", imp.pk, imp.filename)
        _finish(imp, error=_server_error(imp, exc), retryable=True)
    else:
        _finish(
            imp,
            session_id=outcome.session.pk,
            created=outcome.created,
            laps=outcome.laps,
            warnings=outcome.warnings,
        )


def _server_error(imp: Import, exc: Exception) -> str:
    if type(exc).__name__ == "SoftTimeLimitExceeded":
        return (
            f"{imp.filename}: the import took longer than {settings.IMPORT_TASK_SOFT_TIME_LIMIT_S} s "
            "(IMPORT_TASK_SOFT_TIME_LIMIT_S); nothing was imported"
        )
    return f"{imp.filename}: the import failed on the server ({type(exc).__name__}); nothing was imported"


@dataclass
class _Written:
    at: float = 0.0
    phase: str = ""


def _progress_writer(import_id: int) -> Progress:
    """A Progress that writes to the row: each new phase at once, the same phase every PROGRESS_EVERY_S."""
    last = _Written()

    def write(fraction: float, phase: str) -> None:
        now = time.monotonic()
        if phase == last.phase and now - last.at < PROGRESS_EVERY_S:
            return
        last.at, last.phase = now, phase
        Import.objects.filter(pk=import_id, state=Import.State.RUNNING).update(
            progress=round(min(max(fraction, 0.0), 1.0), 3), phase=phase[:60], updated_at=timezone.now()
        )

    return write


def _finish(imp: Import, *, error: str = "", **outcome: Any) -> None:
    done = not error
    Import.objects.filter(pk=imp.pk).update(
        state=Import.State.DONE if done else Import.State.FAILED,
        progress=1.0 if done else imp.progress,
        phase="done" if done else "failed",
        error=error,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
        **outcome,
    )


# ---- sweeping


def imports_sweep(*, now: float | None = None) -> int:
    """Remove upload files no import will read again, and fail the imports they belonged to.

    A file goes when its import is finished or gone, or nobody has touched it for
    IMPORT_UPLOAD_STALE_S (an upload the client abandoned, a worker killed by its hard time
    limit). Returns how many files were removed.
    """
    now = time.time() if now is None else now
    cutoff = now - settings.IMPORT_UPLOAD_STALE_S
    # A file without a row: the row is not committed yet (give it a while) or was rolled back.
    orphan_cutoff = now - ORPHAN_STALE_S
    removed = 0
    # A run past its hard time limit was killed with its worker: its row would say running forever.
    killed_before = timezone.now() - dt.timedelta(seconds=settings.IMPORT_TASK_TIME_LIMIT_S + 60)
    for killed in Import.objects.filter(state=Import.State.RUNNING, started_at__lt=killed_before):
        _fail_abandoned(killed)
        _files_remove(killed.pk)
    for entry in os.scandir(import_upload_dir()):
        import_id = _import_id(entry.name)
        if import_id is None:
            continue
        try:
            mtime = entry.stat().st_mtime
        except FileNotFoundError:
            continue
        imp = Import.objects.filter(pk=import_id).only("state", "filename").first()
        if imp is None and mtime >= orphan_cutoff:
            continue
        if imp is not None and not imp.finished:
            if mtime >= cutoff:
                continue
            _fail_abandoned(imp)
        Path(entry.path).unlink(missing_ok=True)
        removed += 1
    if removed:
        log.info("removed %d stale import upload files", removed)
    return removed


def _fail_abandoned(imp: Import) -> None:
    why = "the upload stopped" if imp.state == Import.State.UPLOADING else "the worker stopped"
    Import.objects.filter(pk=imp.pk, state=imp.state).update(
        state=Import.State.FAILED,
        phase="failed",
        error=f"{imp.filename}: abandoned ({why}); upload the file again",
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _import_id(name: str) -> int | None:
    stem, _, ext = name.partition(".")
    if ext not in ("upload", "ldx") or not stem.startswith("import-"):
        return None
    digits = stem.removeprefix("import-")
    return int(digits) if digits.isdigit() else None
