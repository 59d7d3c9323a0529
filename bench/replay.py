"""Record the requests a client sends to a vLLM server, then replay the same work to the server as one batch.

:class:`RecordingProxy` listens on a local port and forwards every request to the server unchanged but for
one field: chat completions ask for ``return_token_ids``, so the server's answer carries the exact prompt
token ids it computed; the proxy keeps those and the number of generated tokens and strips the ids from the
answer the client sees. :func:`replay` then sends every recorded prompt to ``/v1/completions`` at once,
each generating exactly its recorded number of tokens (``ignore_eos``, greedy, no schema): the raw engine
doing the client's work with no dependencies between requests.

    with RecordingProxy(server.url) as proxy:
        run_client(f"{proxy.url}/v1")
    seconds = replay(server.base_url, server.model, proxy.records)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Record:
    """One answered chat completion: the prompt's token ids, how many tokens the server generated, and
    when the proxy sent it on and had the answer (``time.perf_counter`` seconds)."""

    prompt_token_ids: tuple[int, ...]
    completion_tokens: int
    sent: float
    answered: float


class RecordingProxy:
    """A local HTTP proxy in front of ``target`` (a server's root URL) that records chat completions."""

    def __init__(self, target: str, host: str = "127.0.0.1") -> None:
        self.target = target.rstrip("/")
        self.records: list[Record] = []
        self.unrecorded = 0  # streamed or failed chat completions
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forward(self, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes, str]:
        """Send one request on to the target; chat completions are recorded. Returns status, body, type."""
        chat = method == "POST" and path.split("?")[0] == CHAT_PATH
        request_json = json.loads(body) if chat and body else None
        recording = request_json is not None and not request_json.get("stream")
        if recording:
            body = json.dumps({**request_json, "return_token_ids": True}).encode()
        request = urllib.request.Request(f"{self.target}{path}", data=body, method=method, headers=headers)
        sent = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=3600) as answer:
                status, payload, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as err:
            status, payload, kind = err.code, err.read(), err.headers.get("Content-Type", "")
        if chat and not (recording and status == 200):
            with self._lock:
                self.unrecorded += 1
        elif chat:
            answer_json = json.loads(payload)
            record = Record(tuple(answer_json.pop("prompt_token_ids")), int(answer_json["usage"]["completion_tokens"]),
                            sent, time.perf_counter())
            for choice in answer_json.get("choices", []):
                choice.pop("token_ids", None)
            payload = json.dumps(answer_json).encode()
            with self._lock:
                self.records.append(record)
        return status, payload, kind


def _handler(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {key: value for key, value in self.headers.items()
                       if key.lower() in ("content-type", "authorization", "accept")}
            status, payload, kind = proxy.forward(self.command, self.path, body, headers)
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _relay

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

    return Handler


def busy_seconds(records: list[Record]) -> float:
    """Seconds during which at least one recorded request was in flight (the union of their spans)."""
    total, reach = 0.0, float("-inf")
    for record in sorted(records, key=lambda r: r.sent):
        if record.answered > reach:
            total += record.answered - max(record.sent, reach)
            reach = record.answered
    return total


def replay(base_url: str, model: str, records: list[Record]) -> float:
    """Seconds for the server to compute every recorded prompt and generate its recorded number of tokens,
    all requests sent at once (greedy, ``ignore_eos``, unconstrained)."""
    if not records:
        raise ValueError("nothing to replay: no chat completion was recorded")

    def one(record: Record) -> int:
        body = {"model": model, "prompt": list(record.prompt_token_ids), "max_tokens": record.completion_tokens,
                "min_tokens": record.completion_tokens, "ignore_eos": True, "temperature": 0.0}
        request = urllib.request.Request(f"{base_url}/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=3600) as answer:
            return int(json.loads(answer.read())["usage"]["completion_tokens"])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(records)) as pool:
        generated = list(pool.map(one, records))
    seconds = time.perf_counter() - started
    expected = [record.completion_tokens for record in records]
    if generated != expected:
        raise RuntimeError(f"replay generated {sum(generated)} tokens, not the recorded {sum(expected)}")
    return seconds
