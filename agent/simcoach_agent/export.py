"""``simcoach-agent export ID --format ld|csv|parquet -o FILE``: download a session's (or a lap's) export.

The server builds the file (``GET /api/sessions/<id>/export.<fmt>``, or ``/api/laps/...``
with ``--lap``); the agent only saves bytes, so it needs neither Django nor pyarrow. ``ld``
saves the MoTeC log and its ``.ldx`` lap markers side by side (FILE and FILE with the
``.ldx`` suffix), as i2 opens them. Each body is streamed to ``FILE.part`` and renamed when
complete, so an interrupted download never leaves a truncated file under the real name.
It authenticates like ``import``: the paired rig token, or ``--token`` (a rig token, or an
API token from the site's account page).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final

from .pairing import TokenRejected
from .upload import Reporter, UploadError, _credentials

CHUNK: Final = 64 * 1024  # bytes read from the socket and written per step
DOWNLOAD_TIMEOUT: Final = 600.0  # seconds: the server builds a long session's file before it answers
FORMATS: Final = ("ld", "csv", "parquet")
RIG_TOKEN_PREFIX: Final = "sc_rig_"  # noqa: S105 - a public prefix: rig tokens go as Bearer, others as DRF tokens
EXIT_OK: Final = 0


class ExportError(UploadError):
    """A download failed; the text is one line meant for the user."""


def export_url(server: str, object_id: int, fmt: str, *, lap: bool = False) -> str:
    if not server.startswith(("http://", "https://")):
        raise ExportError(f"server URL must start with http:// or https://, got {server!r}")
    kind = "laps" if lap else "sessions"
    return f"{server.rstrip('/')}/api/{kind}/{object_id}/export.{fmt}"


def authorization(token: str) -> str:
    return f"Bearer {token}" if token.startswith(RIG_TOKEN_PREFIX) else f"Token {token}"


def download(url: str, token: str, dest: Path) -> int:
    """Save the body of GET `url` as `dest`; return its size in bytes.

    Raises ExportError (the server's message, or why it could not be reached) or
    TokenRejected (the token is unknown or revoked).
    """
    req = urllib.request.Request(url, headers={"Authorization": authorization(token)})  # noqa: S310 - scheme checked in export_url
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(req, timeout=DOWNLOAD_TIMEOUT) as resp, part.open("wb") as out:  # noqa: S310
            size = 0
            while block := resp.read(CHUNK):
                out.write(block)
                size += len(block)
    except urllib.error.HTTPError as exc:
        part.unlink(missing_ok=True)
        raise _refusal(url, exc.code, exc.read()) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        part.unlink(missing_ok=True)
        raise ExportError(f"cannot download {url}: {getattr(exc, 'reason', exc)}") from None
    part.replace(dest)
    return size


def _refusal(url: str, status: int, body: bytes) -> Exception:
    if status in (401, 403):
        return TokenRejected(
            "the server does not accept this token (revoked?): run 'simcoach-agent pair' again"
        )
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    if status == 404:
        return ExportError(f"{url}: not found ({detail or 'no such id, or not yours'})")
    return ExportError(f"{url}: the server answered HTTP {status}{': ' + detail if detail else ''}")


def _targets(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(format to ask for, file to write): the .ld brings its .ldx along."""
    kind = "lap" if args.lap else "session"
    dest = Path(args.output or f"{kind}-{args.id}.{args.format}")
    if args.format == "ld":
        return [("ld", dest), ("ldx", dest.with_suffix(".ldx"))]
    return [(args.format, dest)]


def cmd_export(args: argparse.Namespace, reporter: Reporter) -> int:
    """Download the export(s) of one session or lap."""
    server, token = _credentials(args)
    for fmt, dest in _targets(args):
        if not dest.parent.is_dir():
            raise ExportError(f"no such directory: {dest.parent}")
        size = download(export_url(server, args.id, fmt, lap=args.lap), token, dest)
        fields: dict[str, Any] = {"event": "exported", "format": fmt, "file": str(dest), "bytes": size}
        if reporter.as_json:
            reporter.emit({"id": args.id, **fields})
        else:
            reporter.info(f"saved {dest} ({size / 1e6:.1f} MB)")
    return EXIT_OK


def _object_id(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(
            f"a session id is a positive number (see the site's URL), not {text!r}"
        )
    return int(text)


def add_export_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The `export` subcommand's arguments (kept here so cli.py only wires it in)."""
    p = sub.add_parser(
        "export", parents=[common], help="download a session's laps as MoTeC .ld+.ldx, CSV or Parquet"
    )
    p.add_argument("id", type=_object_id, metavar="SESSION_ID", help="the session's id (in its page's URL)")
    p.add_argument("--format", "-f", choices=FORMATS, default="ld", help="file format (ld: .ld and its .ldx)")
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="file to write (default: session-ID.FORMAT); ld writes the .ldx beside it, same name",
    )
    p.add_argument("--lap", action="store_true", help="the id is a lap's, not a session's")
    p.add_argument("--server", help="override the paired server URL")
    p.add_argument("--token", help="a rig token or an API token instead of the paired one")
    p.set_defaults(fn=cmd_export)
