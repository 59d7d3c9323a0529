"""``ugst export``: a training checkpoint -> a self-contained Hugging Face folder plus the simulator program.

The folder holds full safetensors weights (a LoRA checkpoint is merged into its base first), the tokenizer
with its chat template, ``generation_config.json`` (stop at the end-of-turn token, sample at the
simulator's default temperature), a model card ``README.md`` (stages, data, steps, rewards per category
and evaluation, from the run records and TRL's logs), the run record ``ugst_training.json`` and the
program ``ugst_program.json``: the student program the model was trained on, which
``ugst simulate --simulator-model DIR`` loads by itself. The folder loads with the local engine
(:class:`~ugst_dspy.engines.local.TransformersEngine`) and with vLLM (``ugst serve``, ``vllm serve DIR``).

The folder is written beside ``out`` and moved into place when complete; a failed export leaves nothing
behind (nor the folders made for ``out``) and an existing ``out`` as it was. ``out`` may not be, contain or
lie inside the checkpoint, its training run folder or a LoRA checkpoint's base model (see
:mod:`~ugst_dspy.optimizers.outdir`), not even with ``overwrite``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require

PROGRAM_FILE = "ugst_program.json"
RECORD_FILE = "ugst_training.json"
CARD_FILE = "README.md"
SIMULATOR_TEMPERATURE = 0.7  # the simulator role's default sampling temperature (UGSTConfig)


def checkpoint_kind(checkpoint: Path) -> str:
    """``full`` or ``lora``; a one-line error for anything else."""
    from ugst_dspy.engines.embedded import is_model_dir

    if not checkpoint.exists():
        raise UgstError(f"{checkpoint}: no such checkpoint folder")
    if not checkpoint.is_dir():
        raise UgstError(f"{checkpoint}: a checkpoint is a folder (an `ugst sft`/`ugst grpo` output or its "
                         "checkpoint-N)")
    if (checkpoint / "adapter_config.json").is_file():
        return "lora"
    if is_model_dir(checkpoint):
        return "full"
    raise UgstError(f"{checkpoint}: not a checkpoint (no model weights and no LoRA adapter)")


def export_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    *,
    program: str | Path | None = None,
    evaluation: Sequence[str | Path] = (),
    overwrite: bool = False,
) -> Path:
    """Export ``checkpoint`` into the folder ``out`` (see the module docstring); returns ``out``.

    ``program`` is a program file to pack instead of the one the checkpoint was trained with;
    ``evaluation`` are conversation files simulated with the model, summed up in the model card.
    ``out`` must be empty or absent unless ``overwrite``.
    """
    from ugst_dspy.optimizers.outdir import check_export_dir
    from ugst_dspy.optimizers.training import (
        load_model,
        load_student_program,
        read_log_history,
        read_record,
        write_json,
    )
    from ugst_dspy.programs.io import save_program

    checkpoint = Path(checkpoint).expanduser()
    out = Path(out).expanduser()
    kind = checkpoint_kind(checkpoint)
    target = check_export_dir(out, checkpoint, overwrite=overwrite)  # resolved: a symlinked --out is followed
    student = load_student_program(program, checkpoint)
    table = evaluation_table(evaluation)
    model, tokenizer = load_model(checkpoint)
    record = read_record(checkpoint) or {}
    history = read_log_history(checkpoint)
    created = [p for p in (target.parent, *target.parent.parents) if not p.exists()]  # innermost first
    work: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{target.name}-export-", dir=target.parent))
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        generation_config(model, tokenizer).save_pretrained(work)
        save_program(student, work / PROGRAM_FILE)
        export = {"checkpoint": str(checkpoint.resolve()), "kind": kind,
                  "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        write_json(work / RECORD_FILE, {**record, "export": export})
        (work / CARD_FILE).write_text(model_card(out.name, record, history, export, table), encoding="utf-8")
        _replace(work, target)
    except BaseException:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        for folder in created:  # the folders made for --out, innermost first, if nothing else came into them
            try:
                folder.rmdir()
            except OSError:
                break  # not made here after all, or not empty
        raise
    return out


def generation_config(model: Any, tokenizer: Any) -> Any:
    """Stop at the tokenizer's end-of-turn token; sample like the simulator role does by default."""
    transformers = require("transformers", "local", "exporting a model")

    eos = [tokenizer.eos_token_id]
    configured = model.generation_config.eos_token_id
    for extra in configured if isinstance(configured, list) else [configured]:
        if extra is not None and extra not in eos:
            eos.append(extra)
    return transformers.GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=eos if len(eos) > 1 else eos[0],
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
        do_sample=True,
        temperature=SIMULATOR_TEMPERATURE,
    )


def _replace(work: Path, out: Path) -> None:
    """Move the finished folder ``work`` to ``out``; an existing ``out`` is set aside first, put back if
    the move fails, and deleted once the new folder is in place."""
    import os

    work.chmod(0o755)
    if not out.exists():
        os.replace(work, out)
        return
    old = out.with_name(f".{out.name}-old-{os.getpid()}-{work.name.rsplit('-', 1)[-1]}")
    os.replace(out, old)
    try:
        os.replace(work, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# -- the model card --------------------------------------------------------------------------------


def evaluation_table(paths: Sequence[str | Path]) -> str | None:
    """The per-category success table (markdown) of conversation files, or ``None``."""
    if not paths:
        return None
    from ugst_dspy.metrics.success import success_table
    from ugst_dspy.metrics.tracker_modes import tracker_modes
    from ugst_dspy.optimizers.sft_data import read_sources
    from ugst_dspy.report.table import format_success_table

    conversations = read_sources(list(paths))
    if not conversations:
        raise UgstError(f"no conversations in {', '.join(str(p) for p in paths)}")
    return format_success_table(success_table(conversations), "markdown", trackers=tracker_modes(conversations))


def _stages(record: dict[str, Any]) -> list[dict[str, Any]]:
    stages = []
    while record:
        stages.append(record)
        record = record.get("previous") or {}
    return list(reversed(stages))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _stage_lines(stage: dict[str, Any]) -> list[str]:
    options = stage.get("options") or {}
    name = str(stage.get("stage", "?")).upper()
    data = ", ".join(f"`{p}`" for p in stage.get("data") or []) or "(in memory)"
    size = f"{stage['examples']} examples" if "examples" in stage else f"{stage.get('prompts', '?')} prompts"
    lines = [f"### {name}", "", f"- base model: `{stage.get('base_spec') or stage.get('base_model')}`"
             f"{' (LoRA, merged on export)' if stage.get('lora') else ''}",
             f"- data: {data} ({size})", f"- steps: {stage.get('global_step')}"]
    keys = ("learning_rate", "batch_size", "grad_accum", "epochs", "rollouts", "max_completion_length",
            "token_budget", "temperature", "beta")
    lines.append("- settings: " + ", ".join(f"{k} {_fmt(options[k])}" for k in keys if options.get(k) is not None))
    reward = stage.get("reward")
    if reward:
        weights = ", ".join(f"{k} {_fmt(v)}" for k, v in reward.get("weights", {}).items())
        lines.append(f"- reward: UGST composite, mode {reward.get('mode')}, alphas {weights}; malformed "
                     f"completions: {reward.get('on_malformed')}")
    if stage.get("seconds") is not None:
        lines.append(f"- time: {_fmt(stage['seconds'])} s, peak memory {_fmt(stage.get('peak_rss_mb'))} MB")
    summary = stage.get("log_summary") or {}
    if summary:
        lines += ["", "| metric | first | last | min | max |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {key} | {_fmt(v['first'])} | {_fmt(v['last'])} | {_fmt(v['min'])} | {_fmt(v['max'])} |"
                  for key, v in summary.items()]
    return lines + [""]


def _reward_rows(history: list[dict[str, Any]], limit: int = 12) -> list[str]:
    rows = [entry for entry in history if "reward" in entry]
    if not rows:
        return []
    if len(rows) > limit:
        stride = (len(rows) - 1) / (limit - 1)
        rows = [rows[round(i * stride)] for i in range(limit)]
    categories = [k for k in rows[-1] if k.startswith("rewards/") and k.endswith("/mean")]
    header = ["step", "reward", *(k.split("/")[1] for k in categories)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for entry in rows:
        cells = [_fmt(entry.get("step")), _fmt(entry.get("reward")), *(_fmt(entry.get(k)) for k in categories)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def model_card(name: str, record: dict[str, Any], history: list[dict[str, Any]], export: dict[str, Any],
               evaluation: str | None) -> str:
    """The README.md of an exported folder."""
    stages = _stages(record)
    tags = ["ugst", "user-simulator", "dspy", *(s.get("stage", "") for s in stages)]
    lines = ["---", "library_name: transformers", "pipeline_tag: text-generation",
             "tags:", *(f"- {tag}" for tag in tags if tag), "---", "",
             f"# {name}", "",
             "A goal-aligned user simulator trained with User Goal State Tracking (UGST): it plays a user who "
             "works toward a goal, reasoning each turn about progress, what remains and alignment with the "
             "user's profile, policy and preferences, then writing its reply.", "",
             "## Use", "",
             "```bash",
             f"ugst simulate --simulator-model {name}        # loads {PROGRAM_FILE} from the folder",
             f"ugst serve {name}                            # or any vLLM: vllm serve {name}",
             "```", "",
             f"`{PROGRAM_FILE}` is the DSPy program (a `ReasoningSimulator`) whose prompts the model was "
             "trained on: with the JSON adapter, each turn is one JSON object "
             "`{\"progress\", \"remaining\", \"alignment\", \"reply\", \"stop\"}` "
             f"(layout `{record.get('layout', 'dspy-json-v1')}`). The goal state is not an input.", "",
             "## Training", ""]
    if not stages:
        lines += ["No training record was found beside the checkpoint.", ""]
    for stage in stages:
        lines += _stage_lines(stage)
    rewards = _reward_rows(history)
    if rewards:
        lines += ["## Rewards", "", "Mean reward per logged step (the weighted sum TRL optimised) and the "
                  "mean indicator of each UGST category:", "", *rewards, ""]
    evals = [entry for entry in history if any(k.startswith("eval_") for k in entry)]
    if evals or evaluation:
        lines += ["## Evaluation", ""]
        for entry in evals:
            lines.append("- step " + _fmt(entry.get("step")) + ": " + ", ".join(
                f"{k} {_fmt(v)}" for k, v in entry.items() if k.startswith("eval_")))
        if evaluation:
            lines += ["", "Success rate per UGST category of conversations simulated with this model:", "", evaluation]
        lines.append("")
    versions = ", ".join(f"{k} {v}" for k, v in (record.get("versions") or {}).items())
    lines += ["## Provenance", "",
              f"- exported from `{export['checkpoint']}` ({export['kind']}) at {export['exported_at']}"]
    if versions:
        lines.append(f"- trained with {versions}")
    return "\n".join(lines) + "\n"


def exported_program(model_dir: str | Path) -> Path | None:
    """The program file packed in an exported folder, if any."""
    path = Path(model_dir) / PROGRAM_FILE
    return path if path.is_file() else None


def read_card_record(model_dir: str | Path) -> dict[str, Any]:
    """The run record packed in an exported folder (``{}`` when there is none)."""
    path = Path(model_dir) / RECORD_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
