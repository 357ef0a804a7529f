"""An OpenAI-compatible chat completions server on loopback, with scripted answers.

Each POST /v1/chat/completions takes the next reply from the script and records the request
(headers and JSON body), so tests use the real `openai` client end to end.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_SNAPSHOT = "gpt-4o-mini-2024-07-18"


@dataclass
class Reply:
    """One scripted answer: a report (dict), raw content (str), an HTTP error, or a stall."""

    content: Any = None
    status: int = 200
    stall: bool = False  # hold the answer until the test ends: the client times out
    tokens: tuple[int, int] = (1200, 300)


@dataclass
class FakeOpenAI:
    url: str = ""
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *replies: Reply | dict[str, Any] | str) -> None:
        self.script.extend(r if isinstance(r, Reply) else Reply(content=r) for r in replies)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        with self.lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else Reply(status=500, content="no scripted reply left")


def completion(reply: Reply, model: str) -> dict[str, Any]:
    content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
    prompt, answer = reply.tokens
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": prompt, "completion_tokens": answer, "total_tokens": prompt + answer},
    }


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            reply = fake.next_reply(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            if reply.stall:
                fake.release.wait(30)
            if reply.status != 200:
                error = {"error": {"message": str(reply.content), "type": "test", "code": None}}
                return self._send(reply.status, error)
            self._send(
                200,
                completion(reply, MODEL_SNAPSHOT if body.get("model") == "gpt-4o-mini" else body["model"]),
            )

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def start(fake: FakeOpenAI) -> _Server:
    server = _Server(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
