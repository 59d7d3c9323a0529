"""A fake OpenAI-compatible server that fails on purpose: ``/v1/chat/completions`` and ``/v1/models`` on
127.0.0.1 (an ephemeral port unless one is given), in a thread (:class:`FakeOpenAI`, a context manager) or
as a process that a test can kill (:class:`FakeProcess`, or ``python -m tests.faults.fake_openai --port 0
--mode hang`` from the repository root, which prints ``READY <base url>`` once it listens).

Modes (they apply to chat completions; ``/v1/models`` always answers, so a vLLM spec's model check passes
and the fault hits the call itself):

| mode | behaviour |
| --- | --- |
| ``good`` | answers, with the scripted responder of the test world (``scripted_world:respond``) |
| ``hang`` | reads the request and never answers (until the server closes) |
| ``error500`` | HTTP 500 with an OpenAI-style error body |
| ``slow`` | answers as ``good`` after ``delay`` seconds |
| ``drop`` | sends the headers and half the body, then closes the connection |
| ``malformed`` | HTTP 200 whose body is not JSON |
| ``wrongshape`` | HTTP 200 with JSON that is not a completion (no ``choices``) |
| ``flaky`` | the first ``fail_first`` requests get HTTP 500, the later ones a good answer |

A good answer: a request with ``tools`` (an ``endpoint:`` agent) gets :data:`AGENT_REPLY` as plain text;
any other is turned into a :class:`~ugst_dspy.engines.scripted.ScriptedCall` (the JSON schema from
``response_format``, vLLM's ``structured_outputs``/``guided_json``, or else the output fields that DSPy's
adapter lists in the system message) and answered by the responder, a dict as JSON.

Every chat request is counted under the mode that served it (``counts["error500"] == 3`` after a call
with two retries); ``GET /_fake/stats`` returns the counts of a server in another process.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import selectors
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
MODES = ("good", "hang", "error500", "slow", "drop", "malformed", "wrongshape", "flaky")
AGENT_REPLY = "Sure, I can help with that."
DEFAULT_RESPONDER = "scripted_world:respond"
TESTS_DIR = Path(__file__).resolve().parents[1]
REPO = TESTS_DIR.parent
MALFORMED_BODY = b'{"id": "chatcmpl-fake", "choices": [ this is not JSON'
_OUTPUT_FIELDS = re.compile(r"Your output fields are:\n(?P<block>.*?)(?:\n\n|\nAll interactions|$)", re.S)
_FIELD = re.compile(r"^\d+\. `(?P<name>\w+)`", re.M)

Responder = Callable[[Any], "str | dict[str, Any]"]


def pong(call: Any) -> str:
    """A responder for plain calls: always ``pong`` (``faults.fake_openai:pong`` in another process)."""
    return "pong"


def _text(content: Any) -> str:
    """A message's content as text (a string, or a list of ``{"type": "text", "text": ...}`` parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def request_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a chat request asks the answer to follow, if it names one."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        inner = response_format.get("json_schema") or {}
        return inner.get("schema") or response_format.get("schema")
    structured = body.get("structured_outputs") or {}
    if isinstance(structured, dict) and isinstance(structured.get("json"), dict):
        return structured["json"]
    if isinstance(body.get("guided_json"), dict):
        return body["guided_json"]
    return None


def scripted_call(body: dict[str, Any]) -> Any:
    """The :class:`ScriptedCall` of a chat request (what the scripted responders of the tests take)."""
    from ugst_dspy.engines.scripted import ScriptedCall

    messages = body.get("messages") or []
    system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    chat = tuple({"role": str(m.get("role")), "content": _text(m.get("content"))}
                 for m in messages if m.get("role") not in ("system", "developer"))
    schema = request_schema(body)
    if schema is None:  # plain JSON mode: the adapter's system message still lists the output fields
        match = _OUTPUT_FIELDS.search(system)
        names = _FIELD.findall(match.group("block")) if match else []
        schema = {"type": "object", "properties": {name: {} for name in names}} if names else None
    return ScriptedCall(system, chat, schema, {"temperature": body.get("temperature")})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung handler must not keep the process (or server_close) waiting
    allow_reuse_address = True
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up (timed out) is expected
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def _path(self) -> str:
        return self.path.split("?", 1)[0].rstrip("/")

    def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def _error(self, status: int, message: str, kind: str) -> None:
        self._json(status, {"error": {"message": message, "type": kind, "param": None, "code": str(status)}})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        fake = self.server.fake
        path = self._path()
        if path in ("/v1/models", "/models"):
            fake._count("models")
            self._json(200, {"object": "list", "data": [{"id": fake.model, "object": "model", "owned_by": "fake"}]})
        elif path == "/_fake/stats":
            self._json(200, fake.stats())
        else:
            self._error(404, f"no route {path}", "not_found")

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self._path()
        if path not in ("/v1/chat/completions", "/chat/completions"):
            self._error(404, f"no route {path}", "not_found")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._error(400, "request body is not JSON", "invalid_request_error")
            return
        mode, number = fake._record(body)
        if mode == "hang":
            fake._stopped.wait()
            self.close_connection = True
        elif mode == "error500" or (mode == "flaky" and number <= fake.fail_first):
            self._error(500, f"fake {mode} failure #{number}", "server_error")
        elif mode == "malformed":
            self._send(200, MALFORMED_BODY)
        elif mode == "wrongshape":
            self._json(200, {"object": "chat.completion", "result": "no choices here"})
        elif mode == "drop":
            payload = json.dumps(fake.completion(body, text="never seen whole")).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif mode == "slow" and fake._stopped.wait(fake.delay):
            self.close_connection = True  # closing down while waiting
        else:  # good, flaky after its failures, slow after its delay
            if body.get("stream"):
                self._error(400, "the fake server does not stream", "invalid_request_error")
                return
            try:
                answer = fake.completion(body)
            except Exception as err:  # the responder did not know the call: a bug of the test, said loudly
                self._error(400, f"fake responder failed: {type(err).__name__}: {err}", "invalid_request_error")
                return
            self._json(200, answer)


class FakeOpenAI:
    """The fake server in a thread of this process (see the module docstring for the modes)."""

    def __init__(self, mode: str = "good", *, delay: float = 2.0, fail_first: int = 2, model: str = "fake",
                 responder: Responder | str = DEFAULT_RESPONDER, port: int = 0) -> None:
        self.mode = mode
        self.delay, self.fail_first, self.model = delay, fail_first, model
        self.responder = responder
        self.counts: Counter[str] = Counter()
        self.bodies: list[dict[str, Any]] = []
        self._port = port
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, value: str) -> None:
        if value not in MODES:
            raise ValueError(f"unknown fault mode {value!r} (modes: {', '.join(MODES)})")
        self._mode = value

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._load_responder()  # imports now, so that the first answer is as quick as the others
        self._httpd = _Server((HOST, self._port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-openai-{self.port}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopped.set()  # releases hung and slow handlers
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"mode": self.mode, "counts": dict(self.counts)}

    def _count(self, key: str) -> int:
        with self._lock:
            self.counts[key] += 1
            return self.counts[key]

    def _record(self, body: dict[str, Any]) -> tuple[str, int]:
        with self._lock:
            mode = self.mode
            self.counts[mode] += 1
            self.bodies.append(body)
            return mode, self.counts[mode]

    def _load_responder(self) -> Responder:
        from ugst_dspy.engines.scripted import load_responder

        if isinstance(self.responder, str):
            self.responder = load_responder(self.responder)
        return self.responder

    def _respond(self, call: Any) -> str | dict[str, Any]:
        return self._load_responder()(call)

    def answer(self, body: dict[str, Any]) -> str:
        """The text of a good answer to a chat request."""
        if body.get("tools"):
            return AGENT_REPLY
        answer = self._respond(scripted_call(body))
        return answer if isinstance(answer, str) else json.dumps(answer)

    def completion(self, body: dict[str, Any], text: str | None = None) -> dict[str, Any]:
        """A good ``chat.completion`` object answering ``body`` (with ``text``, else :meth:`answer`)."""
        text = self.answer(body) if text is None else text
        prompt_words = sum(len(_text(m.get("content")).split()) for m in body.get("messages") or [])
        output_words = len(text.split())
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": prompt_words, "completion_tokens": output_words,
                      "total_tokens": prompt_words + output_words},
        }


class FakeProcess:
    """The fake server as a child process (for tests that kill it); a context manager like :class:`FakeOpenAI`."""

    def __init__(self, mode: str = "good", *, delay: float = 2.0, fail_first: int = 2, model: str = "fake",
                 responder: str = DEFAULT_RESPONDER, ready_timeout: float = 20.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r} (modes: {', '.join(MODES)})")
        self.command = [sys.executable, "-m", "tests.faults.fake_openai", "--port", "0", "--mode", mode,
                        "--delay", str(delay), "--fail-first", str(fail_first), "--model", model,
                        "--responder", responder]
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> FakeProcess:
        self.process = subprocess.Popen(self.command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            ready = selector.select(self.ready_timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            self.kill()
            _, err = self.process.communicate(timeout=5)
            raise RuntimeError(f"the fake server did not start: {line!r} {err[-2000:]}")
        self.url = line.split()[1]
        return self

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/_fake/stats", timeout=5) as answer:
            return json.loads(answer.read())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        if self.process is not None:
            for stream in (self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> FakeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.fake_openai", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--mode", choices=MODES, default="good")
    parser.add_argument("--delay", type=float, default=2.0, help="slow: seconds before the answer")
    parser.add_argument("--fail-first", type=int, default=2, help="flaky: requests that fail before good ones")
    parser.add_argument("--model", default="fake", help="the model name /v1/models lists")
    parser.add_argument("--responder", default=DEFAULT_RESPONDER, help="module:function answering good calls")
    args = parser.parse_args(argv)
    if str(TESTS_DIR) not in sys.path:
        sys.path.insert(0, str(TESTS_DIR))  # the test world's responders live beside this package
    server = FakeOpenAI(args.mode, delay=args.delay, fail_first=args.fail_first, model=args.model,
                        responder=args.responder, port=args.port).start()
    print(f"READY {server.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
