"""Output folders that destroy no model: where ``ugst sft``/``ugst grpo``/``ugst export`` may write.

A training run writes checkpoints, weights and records into its ``--out``; an export replaces its ``--out``
as a whole. So, compared as resolved paths (symlinks followed):

- a training ``--out`` is new or empty, unless it holds a run of the same stage that is being resumed:
  ``ugst_run.json`` (written by :func:`claim_output_dir` when a run starts) or the ``ugst_training.json``
  of a finished run names the stage;
- no ``--out`` is, lies inside or contains a model folder the command reads: the base model
  (``embedded``: its folder in the model cache; a ``.gguf``: the file and its converted folder; a LoRA
  adapter: its base model too) or, for an export, the checkpoint and the training run folder holding it.

The checks touch nothing and raise a one-line :class:`UgstError`. This module stays light (no torch or
transformers), so the command line runs it before any model loads.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.engines.catalog import TRAIN_BASE_MODEL

RUN_FILE = "ugst_run.json"
RECORD_FILE = "ugst_training.json"
ADAPTER_CONFIG = "adapter_config.json"
_CHECKPOINT = re.compile(r"checkpoint-\d+")
_MAX_CHAIN = 16  # LoRA adapters stacked on adapters: a guard against cycles


# -- what a folder is --------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def run_stage(folder: str | Path) -> str | None:
    """The stage (``sft``, ``grpo``) of the training run in ``folder``, or ``None`` when it holds none."""
    folder = Path(folder)
    for name in (RUN_FILE, RECORD_FILE):
        stage = _read_json(folder / name).get("stage")
        if isinstance(stage, str) and stage:
            return stage
    return None


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _lora_bases(folder: Path) -> list[Path]:
    """The base model folders under a LoRA adapter folder, nearest first (none for full weights)."""
    bases: list[Path] = []
    while (folder / ADAPTER_CONFIG).is_file() and len(bases) < _MAX_CHAIN:
        record = _read_json(folder / RECORD_FILE) or _read_json(folder.parent / RECORD_FILE)
        base = record.get("base_model") if record.get("lora") else None
        base = base or _read_json(folder / ADAPTER_CONFIG).get("base_model_name_or_path")
        if not isinstance(base, str) or not base:
            break
        folder = _resolved(base)
        if folder in bases:
            break
        bases.append(folder)
    return bases


def model_paths(spec: str | Path | None) -> list[tuple[Path, str]]:
    """``[(resolved path, what it is)]`` of the files and folders a model spec reads, converting nothing.

    A served or API model has no local files (``[]``); a malformed spec raises :class:`UgstError`.
    """
    from ugst_dspy.engines.spec import ModelSpec

    text = str(spec or TRAIN_BASE_MODEL)
    where = Path(text).expanduser()
    if where.is_dir():
        folder = where.resolve()
    else:
        parsed = ModelSpec.parse(text)
        if parsed.kind == "embedded":
            from ugst_dspy.engines.embedded import embedded_checkpoint

            return [(_resolved(embedded_checkpoint(parsed.target or None, prepare=False)),
                     "the embedded model's folder")]
        if parsed.kind == "gguf":
            from ugst_dspy.engines.embedded import gguf_model_name, models_dir

            gguf = _resolved(parsed.target)
            return [(gguf, "the base model's GGUF file"),
                    (_resolved(models_dir() / gguf_model_name(gguf)), "the base model's converted folder")]
        if parsed.kind != "local":
            return []
        folder = _resolved(parsed.target)
    bases = [(base, "the LoRA base model's folder") for base in _lora_bases(folder)]
    return [(folder, "the base model's folder"), *bases]


def _overlap(out: Path, other: Path) -> str | None:
    if out == other:
        return "is"
    if other in out.parents:
        return "lies inside"
    if out in other.parents:
        return "contains"
    return None


def _refuse_overlaps(out: Path, given: str | Path, protected: list[tuple[Path, str]]) -> None:
    found = [(relation, what, path) for path, what in protected if (relation := _overlap(out, path))]
    found.sort(key=lambda item: item[0] != "is")  # the folder it is, before those it holds or lies in
    if found:
        relation, what, path = found[0]
        raise UgstError(f"--out {given}: {relation} {what} {path}; it must stay untouched, choose another --out")


# -- training outputs --------------------------------------------------------------------------------


def check_output_dir(out: str | Path, stage: str, base_model: str | Path | None, *, resume: bool) -> Path:
    """Check a training ``--out`` (see the module docstring) and return it resolved; touches nothing."""
    target = _resolved(out)
    _refuse_overlaps(target, out, model_paths(base_model))
    if not target.exists():
        return target
    if not target.is_dir():
        raise UgstError(f"--out {out}: is a file, not a folder")
    if not any(target.iterdir()):
        return target
    found = run_stage(target)
    if found is None:
        raise UgstError(f"--out {out}: already exists, is not empty and holds no `ugst {stage}` run "
                        "(choose a new or empty folder)")
    if found != stage:
        raise UgstError(f"--out {out}: holds an `ugst {found}` run, not an `ugst {stage}` one "
                        "(choose a new or empty folder)")
    if not resume:
        raise UgstError(f"--out {out}: holds an earlier `ugst {stage}` run; --resume continues it, "
                        "--restart needs a new or empty folder")
    return target


def claim_output_dir(out: str | Path, stage: str, base: str | Path) -> None:
    """Create ``out`` and mark it as a ``stage`` run (``ugst_run.json``) unless it is marked already."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / RUN_FILE
    if run_stage(folder) == stage and marker.is_file():
        return
    tmp = marker.with_name(f".{RUN_FILE}.{os.getpid()}.tmp")
    info = {"stage": stage, "base_model": str(base), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        tmp.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, marker)
    finally:
        tmp.unlink(missing_ok=True)


def check_inputs_outside(out: str | Path, flag: str, path: str | Path | None) -> None:
    """Refuse an input or side output ``path`` (named by ``flag``) that lies in the training ``--out``."""
    if path is None:
        return
    target, other = _resolved(out), _resolved(path)
    if _overlap(other, target) is not None:
        raise UgstError(f"{flag} {path}: lies inside --out {out}; keep it outside the training output folder")


# -- export ------------------------------------------------------------------------------------------


def run_folder(checkpoint: str | Path) -> Path | None:
    """The training run folder holding a ``checkpoint-N`` folder (``None`` for a run folder itself)."""
    folder = _resolved(checkpoint)
    parent = folder.parent
    if _CHECKPOINT.fullmatch(folder.name) or run_stage(parent) is not None:
        return parent
    return None


def check_export_dir(out: str | Path, checkpoint: str | Path, *, overwrite: bool) -> Path:
    """Check an export ``--out`` and return it resolved; touches nothing.

    Refused: a file; an existing non-empty folder unless ``overwrite``; and, even with ``overwrite``, the
    checkpoint, its training run folder, the model a LoRA checkpoint merges onto, or anything inside or
    around them.
    """
    target = _resolved(out)
    source = _resolved(checkpoint)
    protected = [(source, "the checkpoint")]
    holder = run_folder(source)
    if holder is not None:
        protected.append((holder, "the training run folder of the checkpoint"))
    protected += [(base, "the LoRA checkpoint's base model") for base in _lora_bases(source)]
    _refuse_overlaps(target, out, protected)
    if target.exists() and not target.is_dir():
        raise UgstError(f"--out {out}: is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise UgstError(f"{out}: already exists and is not empty (choose another --out, or --overwrite)")
    return target
