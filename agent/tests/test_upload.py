"""The agent's streaming multipart upload, against a real stdlib HTTP server on loopback."""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from simcoach_agent.pairing import TokenRejected
from simcoach_agent.upload import Multipart, ProgressBar, UploadError, upload_file


class Receiver(BaseHTTPRequestHandler):
    """Keeps what it was sent; answers with the status and body the test set on the server."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.server.got.append((self.path, dict(self.headers), body))  # type: ignore[attr-defined]
        status, answer = self.server.answer  # type: ignore[attr-defined]
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    httpd.got = []  # type: ignore[attr-defined]
    httpd.answer = (201, {"session_id": 7, "created": True, "laps": 3, "warnings": []})  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    thread.join(10)
    httpd.server_close()


def _url(httpd: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/prefix"


def _parts(headers: dict[str, str], body: bytes) -> dict[str, tuple[str | None, bytes]]:
    head = f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    return {
        part.get_param("name", header="content-disposition"): (
            part.get_filename(),
            part.get_payload(decode=True),
        )
        for part in msg.iter_parts()
    }


def test_it_streams_the_file_and_fields_as_multipart(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    lap = tmp_path / "stint.ld"
    lap.write_bytes(bytes(range(256)) * 1000)  # binary, 256 kB: several chunks
    ldx = tmp_path / "stint.ldx"
    ldx.write_text("<LDXFile/>")
    seen: list[tuple[int, int]] = []
    answer = upload_file(
        _url(server),
        "sc_rig_abc",
        lap,
        ldx=ldx,
        meta={"kind": "race", "car": ""},
        progress=lambda s, t: seen.append((s, t)),
    )
    assert answer["session_id"] == 7
    path, headers, body = server.got[0]  # type: ignore[attr-defined]
    assert path == "/prefix/api/imports/" and headers["Authorization"] == "Bearer sc_rig_abc"
    assert int(headers["Content-Length"]) == len(body) == seen[-1][1] == seen[-1][0]
    parts = _parts(headers, body)
    assert parts["file"] == ("stint.ld", lap.read_bytes())
    assert parts["ldx"] == ("stint.ldx", b"<LDXFile/>")
    assert parts["kind"] == (None, b"race") and "car" not in parts  # empty fields are not sent
    assert len(seen) > 4 and all(a[0] < b[0] for a, b in zip(seen, seen[1:], strict=False))


def test_it_knows_the_body_length_before_reading_the_files(tmp_path: Path) -> None:
    f = tmp_path / 'we"ird\nname.csv'
    f.write_text("Speed,LapDistPct\n")
    body = Multipart.build({"game": "iracing", "track": "Road Atlanta"}, [("file", f)])
    assert body.length() == len(b"".join(body.chunks()))
    assert b'filename="we_ird_name.csv"' in b"".join(body.chunks())


@pytest.mark.parametrize(
    ("status", "answer", "error", "message"),
    [
        (
            400,
            {"error": "x.ld: MoTeC .ld: file is cut short"},
            UploadError,
            "x.ld: MoTeC .ld: file is cut short",
        ),
        (413, {"error": "the upload is 300.0 MB; the limit is 200 MB"}, UploadError, "limit is 200 MB"),
        (413, None, UploadError, "too large for the server"),
        (500, None, UploadError, "answered HTTP 500"),
        (401, {"detail": "unknown or revoked rig token"}, TokenRejected, "pair' again"),
    ],
)
def test_it_turns_server_answers_into_one_line_errors(
    server: ThreadingHTTPServer,
    tmp_path: Path,
    status: int,
    answer: Any,
    error: type[Exception],
    message: str,
) -> None:
    server.answer = (status, answer)  # type: ignore[attr-defined]
    f = tmp_path / "x.ld"
    f.write_bytes(b"\x40\0\0\0")
    with pytest.raises(error, match=message):
        upload_file(_url(server), "sc_rig_abc", f)


def test_it_says_when_the_server_cannot_be_reached(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a")
    with pytest.raises(UploadError, match="cannot reach http://127.0.0.1:9/api/imports/"):
        upload_file("http://127.0.0.1:9", "sc_rig_abc", f)
    with pytest.raises(UploadError, match="must start with http"):
        upload_file("ftp://example.org", "sc_rig_abc", f)


def test_it_draws_a_bar_on_a_terminal_and_quarter_lines_otherwise() -> None:
    tty, plain = io.StringIO(), io.StringIO()
    bar, lines = ProgressBar("a.ld", tty=True, out=tty), ProgressBar("a.ld", tty=False, out=plain)
    for sent in range(0, 2 * 2**20 + 1, 2**17):  # 2 MB (2**20 bytes each, as the server counts)
        bar(sent, 2 * 2**20)
        lines(sent, 2 * 2**20)
    bar.finish()
    assert tty.getvalue().endswith("\ra.ld [" + "#" * 28 + "] 100% 2.0/2.0 MB\n")
    assert plain.getvalue().splitlines() == [f"a.ld: uploaded {p}% of 2 MB" for p in (0, 25, 50, 75, 100)]
