"""A small headless-Chromium driver over the Chrome DevTools Protocol, with the standard library only.

Chromium is started with ``--remote-debugging-pipe``: it reads protocol messages on fd 3 and writes them on
fd 4, NUL-separated JSON. A shell maps those onto the child's stdin and stdout, so no port is opened and no
extra package is needed. One page target is created and attached with a flat session; console errors,
uncaught exceptions and error log entries are collected in :attr:`Chromium.errors`.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
    "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe",
)


class ProtocolError(RuntimeError):
    """A protocol command failed, the page threw, or the browser went away."""


class Chromium:
    """``with Chromium() as page: page.open(url); page.evaluate("1 + 1")``."""

    def __init__(self, executable: str = CHROMIUM, width: int = 1400, height: int = 1000, timeout: float = 60) -> None:
        self.executable, self.width, self.height, self.timeout = executable, width, height, timeout
        self.errors: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._profile = tempfile.mkdtemp(prefix="ugst-chromium-")
        self.session: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        command = " ".join([
            "exec", self.executable, *FLAGS, f"--user-data-dir={self._profile}",
            f"--window-size={self.width},{self.height}", "about:blank", "3<&0 4>&1 0</dev/null 1>&2",
        ])
        self.proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        attached = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)
        self.session = attached["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc.poll() is None:
                self.send("Browser.close", session=False, timeout=10)
        except ProtocolError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self._profile, ignore_errors=True)

    # -- the protocol --------------------------------------------------------------------------------
    def _read(self) -> None:
        buffer = b""
        assert self.proc.stdout is not None
        while True:
            chunk = self.proc.stdout.read1(1 << 20)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                self._dispatch(json.loads(raw))
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        with self._cond:
            if "id" in message:
                self._replies[message["id"]] = message
            else:
                self.events.append(message)
                self._note_error(message)
            self._cond.notify_all()

    def _note_error(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            args = params.get("args", [])
            self.errors.append("console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            described = details.get("exception", {}).get("description") or details.get("text")
            self.errors.append(f"exception: {described}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.errors.append(f"log: {entry.get('text')} ({entry.get('url', '')})")

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True,
             timeout: float | None = None) -> dict[str, Any]:
        """Run one protocol command and return its result (``ProtocolError`` on an error reply)."""
        with self._cond:
            self._next += 1
            number = self._next
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message).encode() + b"\0")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise ProtocolError(f"{method}: browser is gone ({err})") from None
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while number not in self._replies:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise ProtocolError(f"{method}: no reply ({'browser closed' if self._closed else 'timeout'})")
                self._cond.wait(left)
            reply = self._replies.pop(number)
        if "error" in reply:
            raise ProtocolError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    # -- page helpers --------------------------------------------------------------------------------
    def wait_for_event(self, method: str, since: int = 0, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                for event in self.events[since:]:
                    if event.get("method") == method:
                        return event
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise ProtocolError(f"no {method} event")
                self._cond.wait(left)

    def open(self, url: str, ready: str | None = None, timeout: float | None = None) -> float:
        """Navigate, wait for the load event (and for ``ready``, a JS expression, to be truthy); seconds taken."""
        started = time.perf_counter()
        mark = len(self.events)
        self.send("Page.navigate", {"url": url})
        self.wait_for_event("Page.loadEventFired", since=mark, timeout=timeout)
        if ready:
            self.wait_until(ready, timeout)
        return time.perf_counter() - started

    def wait_until(self, expression: str, timeout: float | None = None) -> Any:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise ProtocolError(f"timed out waiting for {expression!r}")
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression in the page (promises awaited); a thrown error is a ProtocolError."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise ProtocolError(str(details.get("exception", {}).get("description") or details.get("text")))
        return result.get("result", {}).get("value")

    def screenshot(self, path: str | Path, full_page: bool = False) -> Path:
        """Save a PNG of the viewport (or of the whole page)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": min(size["height"], 6000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.write_bytes(base64.b64decode(data))
        return path
