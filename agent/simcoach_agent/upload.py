"""``simcoach-agent import FILE...``: upload lap files (MoTeC .ld/.ldx, iRacing .ibt, Garage 61, Crew Chief CSV).

Each file goes to the server's ``POST /api/imports/`` as multipart/form-data with the rig
token. The body is streamed from disk in chunks (a one-hour .ld is tens of MB) with a known
Content-Length, so memory stays flat and the progress bar counts real bytes sent. Only the
stdlib (urllib) is used, as for pairing.
"""

from __future__ import annotations

import argparse
import mimetypes
import secrets
import sys
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
UPLOAD_TIMEOUT: Final = 600.0  # seconds: the server parses the whole file before it answers
EXIT_OK, EXIT_ERROR, EXIT_PAIR = 0, 1, 3
META_FIELDS: Final = ("game", "track", "car", "kind")

Progress = Callable[[int, int], None]  # (bytes sent, bytes in total)


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


def _counted(body: Iterator[bytes], total: int, progress: Progress | None) -> Iterator[bytes]:
    sent = 0
    for block in body:
        yield block
        sent += len(block)
        if progress is not None:
            progress(sent, total)


def upload_file(
    server: str,
    token: str,
    path: Path,
    *,
    ldx: Path | None = None,
    meta: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Upload one lap file; return the server's answer {session_id, created, laps, warnings, url}.

    Raises UploadError (the server's message, or why it could not be reached) or
    TokenRejected (the rig token is unknown or revoked).
    """
    url = server.rstrip("/") + "/api/imports/"
    if not url.startswith(("http://", "https://")):
        raise UploadError(f"server URL must start with http:// or https://, got {server!r}")
    files = [("file", path)] + ([("ldx", ldx)] if ldx else [])
    body = Multipart.build({k: v for k, v in (meta or {}).items() if v}, files)
    total = body.length()
    req = urllib.request.Request(url, data=_counted(body.chunks(), total, progress), method="POST")  # noqa: S310 (scheme checked above)
    req.add_header("Content-Type", body.content_type)
    req.add_header("Content-Length", str(total))
    req.add_header("Accept", "application/json")
    req.add_header("Authorization", f"Bearer {token}")
    return _answer(path, *send(req, UploadError, UPLOAD_TIMEOUT))


def _answer(path: Path, status: int, body: Any) -> dict[str, Any]:
    if status in (401, 403):
        raise TokenRejected(
            "the server does not accept this rig's token (revoked?): run 'simcoach-agent pair' again"
        )
    if status in (200, 201) and isinstance(body, dict) and "session_id" in body:
        return body
    if isinstance(body, dict) and body.get("error"):
        raise UploadError(str(body["error"]))
    if status == 413:
        raise UploadError(f"{path.name}: too large for the server")
    raise UploadError(f"{path.name}: the server answered HTTP {status}")


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
        if self.tty and self.shown >= 0:
            self.out.write("\n")
            self.out.flush()


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
    try:
        answer = upload_file(server, token, path, ldx=ldx, meta=meta, progress=bar)
    finally:
        if bar is not None:
            bar.finish()
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
