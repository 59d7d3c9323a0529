"""The benchmark data folder and the one way to read a file in it (gzip'ed or not, transparently).

The τ-bench and MultiWOZ data ship inside the package, in ``ugst_dspy/data/`` (see ``docs/data.md``); the
databases and the replay oracle are stored gzip'ed (``orders.json`` as ``orders.json.gz``), the files a
user reads or passes by path (task and goal files, policies, tool schemas, licences) as they are.
``--data-dir`` or ``$UGST_DATA_DIR`` name another folder of the same layout, compressed or not; one that
does not exist is a one-line error naming it, never silently replaced by the packaged copy.

Every reader of a data file goes through :func:`read_bytes` (or :func:`read_text`, :func:`read_json`,
:func:`read_json_lines`): a file is named by its plain path, and ``<path>.gz`` is read in its place when
only that exists.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError

ENV_VAR = "UGST_DATA_DIR"
GZIP_SUFFIX = ".gz"
PACKAGED_DATA = Path(__file__).resolve().parents[1] / "data"
"""The copy installed with the package: ``tau_bench/`` and ``multiwoz/``."""


def data_dir(explicit: str | Path | None = None) -> Path:
    """The benchmark data folder: ``explicit`` (``--data-dir``), else ``$UGST_DATA_DIR``, else the packaged
    copy. A folder named either way that does not exist is a one-line :class:`UgstError` naming it."""
    if explicit is not None and str(explicit) != "":
        return _existing(Path(explicit), "--data-dir")
    from_env = os.environ.get(ENV_VAR, "")
    if from_env:
        return _existing(Path(from_env), f"${ENV_VAR}")
    return PACKAGED_DATA


def _existing(folder: Path, source: str) -> Path:
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise UgstError(f"benchmark data folder {folder} (from {source}) {what}")
    return folder


def stored_path(path: str | Path) -> Path:
    """The file as stored: ``path`` itself, else ``path.gz``; a one-line error when neither exists."""
    path = Path(path)
    if path.is_file():
        return path
    packed = path.with_name(path.name + GZIP_SUFFIX)
    if packed.is_file():
        return packed
    raise UgstError(f"benchmark data file not found: {path}")


def exists(path: str | Path) -> bool:
    """Whether the data file ``path`` is there, plain or gzip'ed."""
    path = Path(path)
    return path.is_file() or path.with_name(path.name + GZIP_SUFFIX).is_file()


def logical_name(path: str | Path) -> str:
    """A stored file's name as readers know it (``orders.json.gz`` -> ``orders.json``)."""
    name = Path(path).name
    return name[: -len(GZIP_SUFFIX)] if name.endswith(GZIP_SUFFIX) else name


def read_bytes(path: str | Path) -> bytes:
    """The content of data file ``path`` (decompressed when it is stored as ``path.gz``)."""
    stored = stored_path(path)
    try:
        raw = stored.read_bytes()
        return gzip.decompress(raw) if stored.name.endswith(GZIP_SUFFIX) else raw
    except (OSError, EOFError) as err:
        raise UgstError(f"cannot read {stored}: {getattr(err, 'strerror', None) or err}") from None


def read_text(path: str | Path) -> str:
    """The UTF-8 text of data file ``path``."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UgstError(f"cannot read {path}: not UTF-8 ({err.reason} at byte {err.start})") from None


def read_json(path: str | Path) -> Any:
    """Data file ``path`` parsed as one JSON document."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise UgstError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from None


def read_json_lines(path: str | Path) -> list[Any]:
    """Data file ``path`` parsed as JSON Lines (blank lines skipped)."""
    out: list[Any] = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise UgstError(f"{path}: line {number}: invalid JSON: {err.msg}") from None
    return out


def data_files(root: str | Path) -> dict[str, Path]:
    """Every file under ``root`` by its logical path relative to ``root`` (``tau_bench/db/retail/orders.json``),
    mapped to the stored file. A file stored both plain and gzip'ed is a one-line error."""
    root = Path(root)
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        key = path.relative_to(root).with_name(logical_name(path)).as_posix()
        if key in out:
            raise UgstError(f"{root}: {key} is stored twice (plain and gzip'ed)")
        out[key] = path
    return out
