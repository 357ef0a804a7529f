"""An OpenAI-compatible chat completions server on loopback, with scripted answers.

Each POST /v1/chat/completions takes the next reply from the script and records the request
(headers and JSON body), so tests use the real `openai` client end to end. A reply can also
misbehave the ways real servers and models do: plant a misquoted number in the report's
summary, answer 200 with a body that is not JSON, or trickle its body a byte at a time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_SNAPSHOT = "gpt-4o-mini-2024-07-18"
# Each kind of misquote a model makes, as a sentence added to the report's summary. The
# numbers are those of reportdata.FACTS (lap 2 is the best at 2:18.412, lap 3 did 2:18.655,
# 4 laps) and of PLANTED_LAPS below.
PLANTS: dict[str, str] = {
    "invented": "A tidy lap would gain you 0.73 s.",
    "in_words": "A tidy lap would gain you two seconds.",
    "tenths_in_words": "Braking later is worth five tenths.",
    "percent_of_a_lap_number": "You improved 4% over the session.",
    "percent_in_words": "You improved four percent over the session.",
    "percent_of_a_fact_id": "You improved {laps.total}% over the session.",
    "wrong_lap_time_as_best": "Your best was 2:18.655.",
    "wrong_fact_id_as_best": "Your best was {lap:3.time}.",
    "unknown_fact_id": "You lose {corner:Eau Rouge.time_lost_s} at Eau Rouge.",
}
# Honest numbers in other formats than the facts' own: none may be removed.
HONEST: dict[str, str] = {
    "minutes_and_seconds": "Lap 3 took 2 min 18.655 s.",
    "clock_rounded": "Your best was 2:18.41.",
    "seconds_only": "Your best sectors add up to 138.101 s.",
    "unit_in_words": "You use 3.59 litres a lap.",
}


@dataclass
class Reply:
    """One scripted answer: a report (dict), raw content (str), an HTTP error, or a stall."""

    content: Any = None
    status: int = 200
    stall: bool = False  # hold the answer until the test ends: the client times out
    tokens: tuple[int, int] = (1200, 300)
    plant: str = ""  # a key of PLANTS or HONEST: that sentence is added to content["summary"]
    raw: bytes | None = None  # sent as the whole body with status 200 (not a completion)
    raw_type: str = "text/html"
    trickle_s: float = 0.0  # send the body one byte every this many seconds


@dataclass
class FakeOpenAI:
    url: str = ""
    script: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    trickled: int = 0  # bytes a trickling reply has sent

    def answer(self, *replies: Reply | dict[str, Any] | str) -> None:
        self.script.extend(r if isinstance(r, Reply) else Reply(content=r) for r in replies)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        with self.lock:
            self.requests.append(request)
            return self.script.pop(0) if self.script else Reply(status=500, content="no scripted reply left")


def completion(reply: Reply, model: str) -> dict[str, Any]:
    content = reply.content if isinstance(reply.content, str) else json.dumps(_planted(reply))
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


def _planted(reply: Reply) -> Any:
    if not reply.plant:
        return reply.content
    sentence = PLANTS.get(reply.plant) or HONEST[reply.plant]
    return {**reply.content, "summary": f"{reply.content['summary']} {sentence}"}


def _handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            reply = fake.next_reply(
                {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
            )
            if reply.stall:
                fake.release.wait(30)
            if reply.raw is not None:
                return self._send_bytes(200, reply.raw, reply.raw_type)
            if reply.status != 200:
                error = {"error": {"message": str(reply.content), "type": "test", "code": None}}
                return self._send(reply.status, error)
            self._send(
                200,
                completion(reply, MODEL_SNAPSHOT if body.get("model") == "gpt-4o-mini" else body["model"]),
                trickle_s=reply.trickle_s,
            )

        def _send(self, status: int, payload: dict[str, Any], trickle_s: float = 0.0) -> None:
            self._send_bytes(status, json.dumps(payload).encode(), "application/json", trickle_s)

        def _send_bytes(self, status: int, data: bytes, content_type: str, trickle_s: float = 0.0) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if not trickle_s:
                    self.wfile.write(data)
                    return
                for i in range(len(data)):  # a byte now and then: every read succeeds in time
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
                    if fake.release.wait(trickle_s):
                        return
                    fake.trickled += 1
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout tests)

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
