"""A local OpenAI-compatible HTTP server, scripted per test, so the real openai/langchain client,
its timeouts and our retries are exercised on loopback only."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer."""

    content: str | None = None  # the assistant message content (JSON text for structured output)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    raw_body: str | None = None  # send this body instead of a chat completion


def completion(content: str, model: str = "fake-model") -> dict[str, Any]:
    """A chat-completion response body."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class FakeOpenAI:
    """Answers POST /v1/chat/completions from a script: a queue of replies, or a function of the
    request; every request body is kept for inspection. For load tests: ``latency_s`` delays every
    answer (a model's decode time), ``fault(n)`` may replace the n-th request's answer (1-based,
    in arrival order) with a scripted 429 or 5xx, and ``max_in_flight`` is the most requests it
    held at once; ``statuses`` lists what it answered."""

    def __init__(self) -> None:
        self.queue: list[Reply] = []
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.requests: list[dict[str, Any]] = []
        self.raw_requests: list[str] = []
        self.latency_s = 0.0
        self.fault: Callable[[int], Reply | None] | None = None
        self.statuses: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode("utf-8")
                with outer._count_lock:
                    outer.raw_requests.append(body)
                    req = json.loads(body)
                    outer.requests.append(req)
                    number = len(outer.requests)
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                try:
                    self._answer(req, number)
                finally:
                    with outer._count_lock:
                        outer.in_flight -= 1

            def _answer(self, req: dict[str, Any], number: int) -> None:
                fault = outer.fault(number) if outer.fault else None
                reply = fault or (
                    outer.queue.pop(0)
                    if outer.queue
                    else (outer.responder(req) if outer.responder else Reply(status=500))
                )
                if reply.delay_s or outer.latency_s:
                    time.sleep(reply.delay_s or outer.latency_s)
                with outer._count_lock:
                    outer.statuses.append(reply.status)
                payload = (
                    reply.raw_body
                    if reply.raw_body is not None
                    else json.dumps(
                        completion(reply.content or "")
                        if reply.status == 200
                        else {"error": {"message": "scripted", "type": "x"}}
                    )
                )
                data = payload.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
