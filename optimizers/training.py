"""What SFT, GRPO and export share: model folders (full or LoRA), device flags, progress, run records.

Every training output folder holds, beside TRL's ``checkpoint-N`` folders and the final weights:

- ``ugst_program.json``: the student program whose prompts the model was trained on (``save_program``);
- ``ugst_training.json``: what was trained how -- stage, base model, data, options, steps, timings, and
  the record of the stage before (SFT under GRPO), which ``ugst export`` turns into the model card;
- ``trainer_state.json``: TRL's state with the whole log history (losses, rewards per category).

This module imports transformers at the top: import it lazily (the command line never loads it for
``--help``).
"""

from __future__ import annotations

import functools
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.engines.catalog import TRAIN_BASE_MODEL
from ugst_dspy.extras import check as check_extra
from ugst_dspy.extras import require

PROGRAM_FILE = "ugst_program.json"
RECORD_FILE = "ugst_training.json"
STATE_FILE = "trainer_state.json"
ADAPTER_CONFIG = "adapter_config.json"
TRAINING = "training (SFT, GRPO)"
LOADING = "loading a trained model"
TRAIN_MODULES: tuple[str, ...] = ("torch", "transformers", "trl", "datasets", "peft")
"""What the training commands import: the ``train`` extra."""


def check_training(command: str) -> None:
    """Refuse, in one line and before any work, a training command on an install without the ``train`` extra."""
    check_extra(TRAIN_MODULES, "train", command)


# -- model folders ---------------------------------------------------------------------------------


def is_lora_dir(path: str | Path) -> bool:
    """Whether ``path`` holds a LoRA adapter (PEFT) rather than full weights."""
    return (Path(path) / ADAPTER_CONFIG).is_file()


def resolve_model_dir(spec: str | Path | None) -> Path:
    """The folder of a trainable model: ``embedded``, a model folder, a LoRA adapter folder or a .gguf.

    Served and API models (``vllm:``, ``provider/model``, ``scripted:``) have no local weights: refused.
    """
    from ugst_dspy.engines.spec import ModelSpec

    text = str(spec or TRAIN_BASE_MODEL)
    where = Path(text).expanduser()
    if where.is_dir() and is_lora_dir(where):
        return where.resolve()
    parsed = ModelSpec.parse(text)
    if parsed.kind == "embedded":
        from ugst_dspy.engines.embedded import embedded_checkpoint

        return embedded_checkpoint(parsed.target or None)
    if parsed.kind == "gguf":
        from ugst_dspy.engines.embedded import prepare_gguf_model

        return prepare_gguf_model(Path(parsed.target))
    if parsed.kind == "local":
        from ugst_dspy.engines.embedded import is_model_dir

        folder = Path(parsed.target)
        if not is_model_dir(folder):
            raise UgstError(f"{folder}: not a model checkpoint (no weights beside config.json)")
        return folder
    raise UgstError(f"cannot train {text!r}: training needs local weights (embedded, a model folder or a .gguf)")


def lora_base(adapter_dir: Path) -> Path:
    """The base model folder a LoRA adapter was trained on: the run record's ``base_model`` (right for the
    ``checkpoint-N`` folders too), else ``base_model_name_or_path`` of its ``adapter_config.json``."""
    record = read_record(adapter_dir) or {}
    config = json.loads((Path(adapter_dir) / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    base = record.get("base_model") if record.get("lora") else None
    base = base or config.get("base_model_name_or_path")
    if not base or not ((Path(base) / "config.json").is_file() or is_lora_dir(base)):
        raise UgstError(f"{adapter_dir}: the LoRA adapter's base model {base!r} is not a local model folder")
    return Path(base)


def load_model(folder: str | Path, dtype: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a model folder; a LoRA adapter is merged into its base model first."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch = require("torch", "local", LOADING)
    transformers = require("transformers", "local", LOADING)
    AutoModelForCausalLM, AutoTokenizer = transformers.AutoModelForCausalLM, transformers.AutoTokenizer

    folder = Path(folder)
    dtype = dtype or torch.float32
    if is_lora_dir(folder):
        peft = require("peft", "train", "a LoRA adapter")

        base = lora_base(folder)
        model, tokenizer = load_model(base, dtype)  # a chain of adapters merges from the bottom up
        model = peft.PeftModel.from_pretrained(model, folder).merge_and_unload()
        model.requires_grad_(True)  # PEFT froze the base weights when it wrapped them; the merged model trains
        if (folder / "tokenizer_config.json").is_file():
            tokenizer = AutoTokenizer.from_pretrained(folder)
        tokenizer_dir = folder
    else:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        tokenizer_dir = folder
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    if tokenizer.chat_template is None:
        raise UgstError(f"{tokenizer_dir}: the tokenizer has no chat template; a simulator model needs one")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def prompt_tokens(
    tokenizer: Any, messages: list[dict[str, str]], completion: list[dict[str, str]] | None = None
) -> int:
    """Tokens of a chat prompt (with the generation prompt), or of prompt and completion together."""
    if completion is None:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    else:
        ids = tokenizer.apply_chat_template([*messages, *completion], tokenize=True, return_dict=True)
    return len(ids["input_ids"])


def lora_config(r: int, alpha: int) -> Any:
    peft = require("peft", "train", "LoRA training")

    return peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")


# -- trainer settings ------------------------------------------------------------------------------


def device_flags() -> dict[str, Any]:
    """TrainingArguments flags for this machine: CPU float32, or CUDA with bf16 where supported
    (``ACCELERATE_USE_CPU=1``, which the trainer obeys anyway, keeps a CUDA machine on CPU float32 too)."""
    torch = require("torch", "train", TRAINING)

    from ugst_dspy.optimizers.launch import env_flag

    if torch.cuda.is_available() and not env_flag("ACCELERATE_USE_CPU"):
        return {"use_cpu": False, "bf16": torch.cuda.is_bf16_supported(), "gradient_checkpointing": False}
    return {"use_cpu": True, "bf16": False, "gradient_checkpointing": False}


@contextmanager
def compact_cpu_logprobs() -> Iterator[None]:
    """Meanwhile, let TRL's fused log-prob head score only the completion tokens on CPU too.

    TRL 1.16 scores *every* position (prompt included) over the whole vocabulary on devices without
    Triton, to keep tile shapes fixed for compilers; on CPU nothing is compiled and the waste is the prompt
    length over the completion length (a 700-token prompt: GRPO steps ~15x slower, ~4x the memory). The
    compact path it uses on GPUs is plain torch indexing, so it is switched on for CPU tensors here.
    Results are the same (only masked-out positions are skipped).
    """
    try:
        import trl.trainer.utils as trl_utils
    except ImportError:  # pragma: no cover - another TRL layout: nothing to patch
        yield
        return
    original = getattr(trl_utils, "_use_triton", None)
    if original is None:
        yield
        return
    trl_utils._use_triton = lambda device: device.type == "cpu" or original(device)
    try:
        yield
    finally:
        trl_utils._use_triton = original


def micro_batch(batch: int, grad_accum: int, what: str = "--batch-size") -> int:
    """Per-device batch of ``batch`` split into ``grad_accum`` accumulation steps; refuses uneven splits."""
    if batch < 1 or grad_accum < 1:
        raise UgstError(f"{what} and --grad-accum must be at least 1 (got {batch} and {grad_accum})")
    if batch % grad_accum:
        raise UgstError(f"{what} {batch} is not a multiple of --grad-accum {grad_accum}")
    return batch // grad_accum


def split_batch(batch: int, grad_accum: int, processes: int = 1, what: str = "--batch-size") -> tuple[int, int]:
    """``(per-device batch, accumulation steps)`` of ``batch`` examples per optimizer step, split into
    ``grad_accum`` micro-batches over ``processes`` processes; refuses uneven splits.

    ``batch`` is the batch of one optimizer step over *all* processes, so a command trains the same way on
    any number of them: the micro-batches are shared out (at least ``ceil(grad_accum / processes)`` per
    process, more where that does not divide ``batch``), so a process's micro-batch is never larger than
    ``batch / grad_accum``. One process: ``(batch / grad_accum, grad_accum)``.
    """
    micro = micro_batch(batch, grad_accum, what)
    if processes <= 1:
        return micro, grad_accum
    if batch % processes:
        raise UgstError(f"{what} {batch} cannot be shared out evenly over {processes} processes: "
                        f"use a multiple of {processes}")
    steps = -(-grad_accum // processes)
    while batch % (processes * steps):
        steps += 1
    return batch // (processes * steps), steps


def last_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest ``checkpoint-N`` folder in ``output_dir`` (what ``resume_from_checkpoint`` takes)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    trainer_utils = require("transformers.trainer_utils", "train", TRAINING)

    found = trainer_utils.get_last_checkpoint(str(folder))
    return Path(found) if found else None


def peak_rss_mb(pid: int | str = "self") -> float:
    """The peak resident memory so far, in MB, of this process or of the running process ``pid``
    (0.0 once that one is gone).

    On Linux from ``VmHWM`` in ``/proc/PID/status``: ``ru_maxrss`` keeps the high-water mark of the
    process image before ``exec``, so a child started by a large parent would report the parent's size."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid != "self":
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def progress_callback(label: str, stream: Any = None) -> Any:
    """A ``transformers.TrainerCallback`` printing one line per logging step (see :class:`ProgressLines`);
    the class is made on first use, so importing this module needs no training library."""
    return _progress_class()(label, stream)


@functools.cache
def _progress_class() -> type:
    transformers = require("transformers", "train", TRAINING)
    return type("ProgressCallback", (ProgressLines, transformers.TrainerCallback), {})


class ProgressLines:
    """One line on stderr per logging step: ``ugst sft: step 3/40 loss 2.31 (0.8 s/step, ETA 30 s)``.

    It also times the steps (``step_seconds``) for the run record. The trainer's callback is this and
    ``transformers.TrainerCallback`` together (:func:`progress_callback`).
    """

    KEYS = ("loss", "reward", "reward_std", "learning_rate")

    def __init__(self, label: str, stream: Any = None) -> None:
        self.label = label
        self.stream = stream
        self.step_seconds: list[float] = []
        self._started = 0.0
        self._step_started = 0.0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()
        if not getattr(state, "is_world_process_zero", True):  # several processes: the main one prints
            return
        print(f"ugst {self.label}: training to step {state.max_steps} (from step {state.global_step})",
              file=self.stream or sys.stderr, flush=True)

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._step_started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.step_seconds.append(time.perf_counter() - self._step_started)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or "train_runtime" in logs or not getattr(state, "is_world_process_zero", True):
            return
        parts = [f"{key} {logs[key]:.4g}" for key in self.KEYS if isinstance(logs.get(key), (int, float))]
        recent = self.step_seconds[-10:]
        per_step = sum(recent) / len(recent) if recent else 0.0
        eta = per_step * max(0, state.max_steps - state.global_step)
        print(f"ugst {self.label}: step {state.global_step}/{state.max_steps} {' '.join(parts)} "
              f"({per_step:.2f} s/step, ETA {eta:.0f} s)", file=self.stream or sys.stderr, flush=True)


# -- run records -----------------------------------------------------------------------------------


@dataclass
class TrainingResult:
    """What a training run produced: the folder, the steps done, timings and the final metrics."""

    output_dir: Path
    global_step: int
    seconds: float
    step_seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    log_history: list[dict[str, Any]] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_step_seconds(self) -> float:
        return sum(self.step_seconds) / len(self.step_seconds) if self.step_seconds else 0.0


def read_record(folder: str | Path) -> dict[str, Any] | None:
    """The ``ugst_training.json`` of a training output (or of the output a checkpoint-N folder is in)."""
    folder = Path(folder)
    for candidate in (folder / RECORD_FILE, folder.parent / RECORD_FILE):
        if candidate.is_file():
            return json.loads(candidate.read_text(encoding="utf-8"))
    return None


def read_log_history(folder: str | Path) -> list[dict[str, Any]]:
    """TRL's log history of a training output or checkpoint (``trainer_state.json``), else ``[]``."""
    folder = Path(folder)
    for candidate in (folder / STATE_FILE, folder.parent / STATE_FILE):
        if candidate.is_file():
            return list(json.loads(candidate.read_text(encoding="utf-8")).get("log_history") or [])
    return []


SUMMARY_KEYS = ("loss", "reward", "reward_std", "ugst/malformed", "entropy", "completions/mean_length")


def log_summary(log_history: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """First, last, min and max of the logged training metrics (loss, rewards per category, ...)."""
    summary: dict[str, dict[str, float]] = {}
    for entry in log_history:
        for key, value in entry.items():
            wanted = key in SUMMARY_KEYS or (key.startswith("rewards/") and key.endswith("/mean"))
            if not wanted or not isinstance(value, (int, float)):
                continue
            item = summary.setdefault(key, {"first": value, "last": value, "min": value, "max": value, "step": 0})
            item.update(last=value, min=min(item["min"], value), max=max(item["max"], value),
                        step=entry.get("step", item["step"]))
    return summary


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("ugst-dspy", "torch", "transformers", "trl", "peft", "datasets", "dspy"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def load_student_program(path: str | Path | None, model_dir: Path | None = None) -> Any:
    """The student program: a program file, else the one saved beside ``model_dir``, else a fresh
    ``ReasoningSimulator()``. Refuses programs that are not stateless reasoning simulators."""
    from ugst_dspy.optimizers.layout import student_program
    from ugst_dspy.programs.io import load_program

    if path is not None:
        return student_program(load_program(path))
    for folder in ([model_dir, model_dir.parent] if model_dir is not None else []):
        if (folder / PROGRAM_FILE).is_file():
            return student_program(load_program(folder / PROGRAM_FILE))
    return student_program(None)


def train_with_resume(trainer: Any, output_dir: Path, resume: bool) -> tuple[Path | None, float]:
    """Train (from the last checkpoint in ``output_dir`` when ``resume`` and one exists) with TRL's compact
    CPU log-probs and without its printer callback; returns ``(checkpoint resumed from, seconds)``."""
    transformers = require("transformers", "train", TRAINING)

    from ugst_dspy.optimizers.launch import on_main

    trainer.remove_callback(transformers.PrinterCallback)
    # several processes: the main one chooses, so that all resume from the same checkpoint
    checkpoint = on_main(lambda: last_checkpoint(output_dir), "finding the last checkpoint") if resume else None
    started = time.perf_counter()
    with compact_cpu_logprobs():
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    return checkpoint, time.perf_counter() - started


def complete_run(
    trainer: Any,
    tokenizer: Any,
    output_dir: Path,
    program: Any,
    record: dict[str, Any],
    *,
    options: Any,
    resume: Any,
    base: Any,
    seconds: float,
    step_seconds: list[float],
) -> TrainingResult:
    """Add what every stage records (options, steps, timing, versions, logs, the processes, the previous
    stage's record), write the outputs with :func:`finish_output` and return the result. Every process calls
    it (the weights of a sharded model are gathered from all); only the main process writes."""
    from dataclasses import asdict

    record = {
        **record,
        "options": asdict(options),
        "world_size": trainer.args.world_size,
        "distributed": distributed_info(trainer),
        "global_step": trainer.state.global_step,
        "resumed_from": str(resume) if resume else None,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "versions": versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "log_summary": log_summary(trainer.state.log_history),
        "previous": read_record(base),
    }
    finish_output(trainer, tokenizer, output_dir, program, record)
    return TrainingResult(output_dir=output_dir, global_step=trainer.state.global_step, seconds=seconds,
                          step_seconds=step_seconds, peak_rss_mb=peak_rss_mb(),
                          log_history=list(trainer.state.log_history), record=record)


def distributed_info(trainer: Any) -> dict[str, Any]:
    """How the run was spread: accelerate's distributed type, the processes (and machines) and the batch
    split: per-device batch x accumulation steps x processes = the batch of one optimizer step."""
    args = trainer.args
    kind = getattr(trainer.accelerator, "distributed_type", None)
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE") or args.world_size) if args.world_size > 1 else 1
    return {
        "type": str(getattr(kind, "value", kind or "NO")),
        "processes": args.world_size,
        "machines": max(1, args.world_size // max(1, per_node)),
        "per_device_train_batch_size": args.per_device_train_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
    }


def finish_output(trainer: Any, tokenizer: Any, output_dir: Path, program: Any, record: dict[str, Any]) -> None:
    """Write the final weights, tokenizer, trainer state, student program (unless ``None``) and run record.

    Every process calls it: ``save_model`` gathers the weights of a sharded model (FSDP, ZeRO-3) from all of
    them and writes on the main process; the rest is written by the main process alone, and every process
    returns once it is all written."""
    trainer.save_model(str(output_dir))
    if trainer.is_world_process_zero():
        write_outputs(trainer, tokenizer, output_dir, program, record)
    trainer.accelerator.wait_for_everyone()


def write_outputs(trainer: Any, tokenizer: Any, output_dir: Path, program: Any, record: dict[str, Any]) -> None:
    """The main process's part of :func:`finish_output` (after the weights)."""
    from ugst_dspy.programs.io import save_program

    if is_lora_dir(output_dir):  # name the folder the adapter really sits on (PEFT writes the model's own name)
        adapter = json.loads((output_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        adapter["base_model_name_or_path"] = str(record["base_model"])
        write_json(output_dir / ADAPTER_CONFIG, adapter)
    tokenizer.save_pretrained(str(output_dir))
    trainer.state.save_to_json(str(output_dir / STATE_FILE))
    if program is not None:
        save_program(program, output_dir / PROGRAM_FILE)
    write_json(output_dir / RECORD_FILE, record)
