"""``simcoach-agent import FILE...``: upload lap files (MoTeC .ld/.ldx, iRacing .ibt, Garage 61, Crew Chief CSV).

Each file is announced to the server (``POST /api/imports/``, multipart: name, size, the
fields and the .ldx sidecar), sent in chunks of at most 4 MB (``PUT <chunk_url>?offset=N``,
each streamed from disk so memory stays flat and the progress bar counts real bytes), then
followed on the server's status URL while a worker imports it. A chunk whose answer is lost is
sent again from where the server says it is (resumable). Only the stdlib (urllib) is used,
as for pairing.
"""

from __future__ import annotations

import argparse
import mimetypes
import secrets
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from . import config
from .http import send
from .pairing import TokenRejected
from .sizes import MB, megabytes

CHUNK: Final = 64 * 1024  # bytes read from disk and sent per step
UPLOAD_CHUNK: Final = 4 * 1024 * 1024  # bytes per request, unless the server asks for less
CHUNK_TIMEOUT: Final = 120.0  # seconds for one chunk's request
CHUNK_RETRIES: Final = 3  # a chunk whose request failed is tried again this often
WAIT_FOR_IMPORT_S: Final = 900.0  # the server's worker has a time limit well below this
POLL_S: Final = 0.5
EXIT_OK, EXIT_ERROR, EXIT_PAIR = 0, 1, 3
META_FIELDS: Final = ("game", "track", "car", "kind")

Progress = Callable[[int, int], None]  # (bytes sent, bytes in total)
Status = Callable[[dict[str, Any]], None]  # the import's status while the server works on it


class UploadError(RuntimeError):
    """An upload failed; the text is one line meant for the user."""


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body that is read from disk only while it is being sent."""

    boundary: str
    fields: dict[str, str]
    files: list[tuple[str, Path]]  # (form field, file on disk)

    @classmethod
    def build(cls, fields: dict[str, str], files: list[tuple[str, Path]]) -> Multipart:
        return cls("simcoach-" + secrets.token_hex(16), fields, files)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _field_head(self, name: str) -> bytes:
        return f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()

    def _file_head(self, name: str, path: Path) -> bytes:
        # Quotes and line breaks would end the header early; file names never need them.
        filename = path.name.replace('"', "_").replace("\r", "_").replace("\n", "_")
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return (
            f"--{self.boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'
        ).encode()

    def _tail(self) -> bytes:
        return f"--{self.boundary}--\r\n".encode()

    def length(self) -> int:
        """The exact body size in bytes, for Content-Length (files are measured, not read)."""
        size = sum(len(self._field_head(k)) + len(v.encode()) + 2 for k, v in self.fields.items())
        size += sum(len(self._file_head(k, p)) + p.stat().st_size + 2 for k, p in self.files)
        return size + len(self._tail())

    def chunks(self) -> Iterator[bytes]:
        for name, value in self.fields.items():
            yield self._field_head(name) + value.encode() + b"\r\n"
        for name, path in self.files:
            yield self._file_head(name, path)
            with path.open("rb") as fh:
                while block := fh.read(CHUNK):
                    yield block
            yield b"\r\n"
        yield self._tail()


def _counted(body: Iterator[bytes], done: int, total: int, progress: Progress | None) -> Iterator[bytes]:
    sent = done
    for block in body:
        yield block
        sent += len(block)
        if progress is not None:
            progress(sent, total)


def _blocks(path: Path, offset: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        fh.seek(offset)
        left = length
        while left > 0 and (block := fh.read(min(CHUNK, left))):
            left -= len(block)
            yield block


def upload_file(
    server: str,
    token: str,
    path: Path,
    *,
    ldx: Path | None = None,
    meta: dict[str, str] | None = None,
    progress: Progress | None = None,
    status: Status | None = None,
    wait_s: float = WAIT_FOR_IMPORT_S,
) -> dict[str, Any]:
    """Upload one lap file and wait for its import; return {session_id, created, laps, warnings, url}.

    Raises UploadError (the server's message, or why it could not be reached) or
    TokenRejected (the rig token is unknown or revoked).
    """
    base = server.rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UploadError(f"server URL must start with http:// or https://, got {server!r}")
    client = _Client(base, token, path)
    fields = {k: v for k, v in (meta or {}).items() if v}
    fields.update(filename=path.name, size=str(path.stat().st_size))
    answer = client.announce(fields, ldx)
    if answer.get("state") == "uploading":
        answer = client.send_chunks(answer, progress)
    return client.follow(answer["status_url"], status, wait_s)


@dataclass(frozen=True)
class _Client:
    base: str  # the server's URL, without a trailing slash
    token: str
    path: Path

    def _request(self, url: str, *, method: str = "GET", data: Any = None) -> urllib.request.Request:
        # status_url and chunk_url are paths on the server (with its URL prefix): join to the host.
        full = url if url.startswith(("http://", "https://")) else _origin(self.base) + url
        req = urllib.request.Request(full, data=data, method=method)  # noqa: S310 (scheme checked)
        req.add_header("Accept", "application/json")
        req.add_header("Authorization", f"Bearer {self.token}")
        return req

    def _send(self, req: urllib.request.Request, timeout: float = CHUNK_TIMEOUT) -> tuple[int, Any]:
        status, body = send(req, UploadError, timeout)
        if status in (401, 403):
            raise TokenRejected(
                "the server does not accept this rig's token (revoked?): run 'simcoach-agent pair' again"
            )
        return status, body

    def announce(self, fields: dict[str, str], ldx: Path | None) -> dict[str, Any]:
        body = Multipart.build(fields, [("ldx", ldx)] if ldx else [])
        req = self._request(self.base + "/api/imports/", method="POST", data=b"".join(body.chunks()))
        req.add_header("Content-Type", body.content_type)
        status, answer = self._send(req)
        if status == 202 and isinstance(answer, dict) and "status_url" in answer:
            return answer
        raise self._error(status, answer)

    def send_chunks(self, answer: dict[str, Any], progress: Progress | None) -> dict[str, Any]:
        total = self.path.stat().st_size
        step = min(UPLOAD_CHUNK, int(answer.get("chunk_bytes") or UPLOAD_CHUNK))
        offset, failures = int(answer.get("received") or 0), 0
        while offset < total:
            length = min(step, total - offset)
            req = self._request(
                f"{answer['chunk_url']}?offset={offset}",
                method="PUT",
                data=_counted(_blocks(self.path, offset, length), offset, total, progress),
            )
            req.add_header("Content-Type", "application/octet-stream")
            req.add_header("Content-Length", str(length))
            try:
                status, body = self._send(req)
            except UploadError:
                failures += 1
                if failures > CHUNK_RETRIES:
                    raise
                offset = self._received(answer["status_url"])  # resume where the server is
                continue
            if status == 200 and isinstance(body, dict):
                answer, offset, failures = body, int(body["received"]), 0
            elif status == 409 and isinstance(body, dict) and body.get("state") == "uploading":
                offset = int(body["received"])  # the server says where to go on from
            else:
                raise self._error(status, body)
        return answer

    def _received(self, status_url: str) -> int:
        status, body = self._send(self._request(status_url))
        if status != 200 or not isinstance(body, dict):
            raise self._error(status, body)
        return int(body["received"])

    def follow(self, status_url: str, on_status: Status | None, wait_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + wait_s
        while True:
            status, body = self._send(self._request(status_url))
            if status != 200 or not isinstance(body, dict):
                raise self._error(status, body)
            if body.get("state") == "done":
                return body
            if body.get("state") == "failed":
                raise UploadError(str(body.get("error") or f"{self.path.name}: the import failed"))
            if on_status is not None:
                on_status(body)
            if time.monotonic() > deadline:
                raise UploadError(
                    f"{self.path.name}: the server is still importing it after {wait_s:.0f} s; "
                    "see the import page for the result"
                )
            time.sleep(POLL_S)

    def _error(self, status: int, body: Any) -> UploadError:
        if isinstance(body, dict) and body.get("error"):
            return UploadError(str(body["error"]))
        if status == 413:
            return UploadError(f"{self.path.name}: too large for the server")
        return UploadError(f"{self.path.name}: the server answered HTTP {status}")


def _origin(base: str) -> str:
    """scheme://host[:port] of a server URL (status URLs already carry any path prefix)."""
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


# ---- the command


class Reporter(Protocol):
    """The part of cli.Reporter the import command uses."""

    as_json: bool
    quiet: bool
    tty: bool

    def info(self, text: str, **fields: Any) -> None: ...
    def error(self, text: str, code: int = ...) -> None: ...
    def emit(self, obj: dict[str, Any]) -> None: ...


class ProgressBar:
    """`name [#####-----] 45% 1.2/2.6 MB` redrawn in place on a terminal; quarter steps otherwise."""

    WIDTH: Final = 28

    def __init__(self, name: str, *, tty: bool, out: Any = None) -> None:
        self.name, self.tty, self.out = name, tty, out or sys.stdout
        self.shown = -1  # last percentage printed
        self.finished = False

    def __call__(self, sent: int, total: int) -> None:
        pct = 100 * sent // max(total, 1)
        if self.tty:
            if pct != self.shown:
                filled = self.WIDTH * pct // 100
                bar = "#" * filled + "-" * (self.WIDTH - filled)
                self.out.write(f"\r{self.name} [{bar}] {pct:3d}% {sent / MB:.1f}/{total / MB:.1f} MB")
                self.out.flush()
        elif pct // 25 > self.shown // 25 or (pct == 100 and self.shown != 100):
            print(f"{self.name}: uploaded {pct}% of {megabytes(total)}", file=self.out, flush=True)
        self.shown = pct

    def finish(self) -> None:
        """End the bar's line (once, however often it is called)."""
        if self.tty and self.shown >= 0 and not self.finished:
            self.out.write("\n")
            self.out.flush()
        self.finished = True


class ImportStatus:
    """What the server is doing with the file: `name: reading the file 45%` redrawn on a
    terminal; one line per new phase otherwise."""

    def __init__(self, name: str, *, tty: bool, out: Any = None) -> None:
        self.name, self.tty, self.out = name, tty, out or sys.stdout
        self.phase = ""
        self.drawn = False

    def __call__(self, status: dict[str, Any]) -> None:
        phase = "waiting for a worker" if status.get("state") == "queued" else str(status.get("phase") or "")
        pct = round(100 * float(status.get("progress") or 0))
        if self.tty:
            self.out.write(f"\r{self.name}: {phase} {pct:3d}%\x1b[K")
            self.out.flush()
            self.drawn = True
        elif phase and phase != self.phase:
            print(f"{self.name}: {phase}", file=self.out, flush=True)
        self.phase = phase

    def finish(self) -> None:
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
            self.drawn = False


def cmd_import(args: argparse.Namespace, reporter: Reporter) -> int:
    """Upload every FILE; go on after a failed one, and exit 1 if any failed."""
    server, token = _credentials(args)
    ldx = _existing(args.ldx) if args.ldx else None
    meta = {k: getattr(args, k) or "" for k in META_FIELDS}
    failed = 0
    for name in args.files:
        try:
            _import_one(server, token, _existing(name), ldx, meta, reporter)
        except UploadError as exc:
            failed += 1
            reporter.error(str(exc))
    return EXIT_ERROR if failed else EXIT_OK


def _import_one(
    server: str, token: str, path: Path, ldx: Path | None, meta: dict[str, str], reporter: Reporter
) -> None:
    show = not reporter.quiet and not reporter.as_json
    bar = ProgressBar(path.name, tty=reporter.tty) if show else None
    server_side = ImportStatus(path.name, tty=reporter.tty) if show else None

    def on_status(status: dict[str, Any]) -> None:
        if bar is not None:
            bar.finish()  # the upload's bar ends where the server's work begins
        if server_side is not None:
            server_side(status)

    try:
        answer = upload_file(server, token, path, ldx=ldx, meta=meta, progress=bar, status=on_status)
    finally:
        if bar is not None:
            bar.finish()
        if server_side is not None:
            server_side.finish()
    if reporter.as_json:
        reporter.emit({"event": "imported", "file": str(path), **answer})
        return
    laps = answer.get("laps", 0)
    what = "imported as" if answer.get("created") else "already imported as"
    url = server.rstrip("/") + "/sessions/" + str(answer["session_id"]) + "/"
    plural = "" if laps == 1 else "s"
    reporter.info(f"{path.name}: {what} session {answer['session_id']} ({laps} lap{plural}) {url}")
    for warning in answer.get("warnings") or []:
        reporter.info(f"  note: {warning}")


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    cfg = config.load()
    server = getattr(args, "server", None) or cfg.server
    token = getattr(args, "token", None) or cfg.token
    if not server or not token:
        raise TokenRejected("this rig is not paired: run 'simcoach-agent pair --server URL' first")
    return server, token


def _existing(name: str) -> Path:
    path = Path(name)
    if not path.is_file():
        raise UploadError(f"no such file: {path}")
    return path


def add_import_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `import` subcommand's arguments (kept here so cli.py only wires it in)."""
    p = sub.add_parser(
        "import", parents=[common], help="upload lap files (.ld, .ibt, Garage 61 or Crew Chief CSV)"
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="lap files; gzip is fine")
    p.add_argument("--ldx", help="MoTeC .ldx sidecar with the lap markers of an .ld")
    p.add_argument(
        "--game",
        help="game (acc, iracing, ams2, ...): needed when the file does not say, overrides it when it does",
    )
    p.add_argument("--track", help="track: needed when the file does not say, overrides it when it does")
    p.add_argument("--car", help="car: needed when the file does not say, overrides it when it does")
    p.add_argument(
        "--kind",
        choices=["practice", "qualifying", "race", "hotlap"],
        help="session kind (overrides the file's; practice when neither says)",
    )
    p.add_argument("--server", help="override the paired server URL")
    p.add_argument("--token", help="override the paired rig token")
    p.set_defaults(fn=cmd_import)
