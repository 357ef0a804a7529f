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

from simcoach_agent import upload
from simcoach_agent.pairing import TokenRejected
from simcoach_agent.upload import ImportStatus, Multipart, ProgressBar, UploadError, upload_file


class ImportApi(BaseHTTPRequestHandler):
    """A stand-in for the server's import API: announce (POST), chunks (PUT), status (GET).

    It keeps every request and the bytes the chunks add up to; `server.create` sets what the
    announce answers with, `server.final` the status once the file is complete, and
    `server.drop_answer_once` drops the answer of the first chunk request (after storing it)
    as a flaky network would.
    """

    def _reply(self, status: int, answer: Any) -> None:
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _status(self, poll: bool = False) -> dict[str, Any]:
        srv: Any = self.server
        base = {"id": 1, "status_url": "/prefix/api/imports/1/", "received": len(srv.data), "size": srv.size}
        if len(srv.data) < srv.size:
            return {
                **base,
                "state": "uploading",
                "chunk_url": "/prefix/api/imports/1/chunk",
                "chunk_bytes": srv.chunk,
            }
        srv.polls += poll
        if srv.polls < 3:
            return {**base, "state": "running", "progress": 0.3 * srv.polls, "phase": "reading the file"}
        return {**base, **srv.final}

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        srv: Any = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv.got.append(("POST", self.path, dict(self.headers), body))
        status, answer = srv.create
        if status == 202:
            srv.size = int(_parts(dict(self.headers), body)["size"][1])
            answer = self._status()
        self._reply(status, answer)

    def do_PUT(self) -> None:  # noqa: N802
        srv: Any = self.server
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv.got.append(("PUT", self.path, dict(self.headers), body))
        offset = int(self.path.rsplit("offset=", 1)[1])
        if offset > len(srv.data):
            return self._reply(409, {"error": "gap", **self._status()})
        if offset + len(body) > len(srv.data):
            srv.data[offset:] = body
        if srv.drop_answer_once:
            srv.drop_answer_once = False
            self.connection.close()  # stored, but the client never hears so
            return None
        return self._reply(200, self._status())

    def do_GET(self) -> None:  # noqa: N802
        srv: Any = self.server
        srv.got.append(("GET", self.path, dict(self.headers), b""))
        self._reply(200, self._status(poll=True))

    def log_message(self, *args: Any) -> None:
        pass


DONE = {"state": "done", "session_id": 7, "created": True, "laps": 3, "warnings": [], "url": "/sessions/7/"}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadingHTTPServer]:
    monkeypatch.setattr(upload, "POLL_S", 0.01)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ImportApi)
    httpd.got, httpd.data, httpd.size, httpd.polls = [], bytearray(), 0, 0  # type: ignore[attr-defined]
    httpd.chunk = 100_000  # type: ignore[attr-defined]
    httpd.create = (202, None)  # type: ignore[attr-defined]
    httpd.final = DONE  # type: ignore[attr-defined]
    httpd.drop_answer_once = False  # type: ignore[attr-defined]
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


def test_it_announces_the_file_sends_it_in_chunks_and_follows_the_import(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    lap = tmp_path / "stint.ld"
    lap.write_bytes(bytes(range(256)) * 1000)  # binary, 256 kB: three chunks of the server's 100 kB
    ldx = tmp_path / "stint.ldx"
    ldx.write_text("<LDXFile/>")
    seen: list[tuple[int, int]] = []
    statuses: list[dict[str, Any]] = []
    answer = upload_file(
        _url(server),
        "sc_rig_abc",
        lap,
        ldx=ldx,
        meta={"kind": "race", "car": ""},
        progress=lambda s, t: seen.append((s, t)),
        status=statuses.append,
    )
    assert answer["session_id"] == 7 and answer["laps"] == 3
    got = server.got  # type: ignore[attr-defined]
    method, path, headers, body = got[0]
    assert (method, path) == ("POST", "/prefix/api/imports/") and headers[
        "Authorization"
    ] == "Bearer sc_rig_abc"
    parts = _parts(headers, body)
    assert parts["filename"] == (None, b"stint.ld") and parts["size"] == (None, b"256000")
    assert parts["ldx"] == ("stint.ldx", b"<LDXFile/>")
    assert parts["kind"] == (None, b"race") and "car" not in parts and "file" not in parts
    puts = [(p, len(b)) for m, p, _, b in got if m == "PUT"]
    assert puts == [
        (f"/prefix/api/imports/1/chunk?offset={o}", n)
        for o, n in ((0, 100_000), (100_000, 100_000), (200_000, 56_000))
    ]
    assert bytes(server.data) == lap.read_bytes()  # type: ignore[attr-defined]
    assert seen[-1] == (256_000, 256_000) and all(a[0] < b[0] for a, b in zip(seen, seen[1:], strict=False))
    assert [s["phase"] for s in statuses] == ["reading the file"] * 2


def test_a_chunk_whose_answer_is_lost_is_resumed_from_where_the_server_is(
    server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    lap = tmp_path / "a.csv"
    lap.write_bytes(b"x" * 250_000)
    server.drop_answer_once = True  # type: ignore[attr-defined]
    assert upload_file(_url(server), "sc_rig_abc", lap)["session_id"] == 7
    got = server.got  # type: ignore[attr-defined]
    asked = [p for m, p, _, _ in got if m == "GET"]
    assert asked[0] == "/prefix/api/imports/1/"  # after the lost answer: how much do you have?
    offsets = [p.rsplit("=", 1)[1] for m, p, _, _ in got if m == "PUT"]
    assert offsets == ["0", "100000", "200000"]  # the first chunk was stored, so never sent again
    assert bytes(server.data) == lap.read_bytes()  # type: ignore[attr-defined]


def test_a_failed_import_is_the_servers_sentence(server: ThreadingHTTPServer, tmp_path: Path) -> None:
    server.final = {"state": "failed", "error": "x.ld: MoTeC .ld: file is cut short", "missing": []}  # type: ignore[attr-defined]
    f = tmp_path / "x.ld"
    f.write_bytes(b"\x40\0\0\0")
    with pytest.raises(UploadError, match=r"^x.ld: MoTeC .ld: file is cut short$"):
        upload_file(_url(server), "sc_rig_abc", f)


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
        (413, {"error": "x.ld: the file is 300 MB; the limit is 200 MB"}, UploadError, "limit is 200 MB"),
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
    server.create = (status, answer)  # type: ignore[attr-defined]
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


def test_it_shows_the_servers_phases_one_line_each_when_piped() -> None:
    out = io.StringIO()
    show = ImportStatus("a.ld", tty=False, out=out)
    for status in (
        {"state": "queued", "progress": 0},
        {"state": "running", "phase": "reading the file", "progress": 0.2},
        {"state": "running", "phase": "reading the file", "progress": 0.6},
        {"state": "running", "phase": "storing 3 laps and the trace", "progress": 0.8},
    ):
        show(status)
    show.finish()
    assert out.getvalue().splitlines() == [
        "a.ld: waiting for a worker",
        "a.ld: reading the file",
        "a.ld: storing 3 laps and the trace",
    ]
