"""Cold-start SFT (paper stage 2) with TRL's SFTTrainer: full fine-tuning, or LoRA through peft.

The data are :mod:`~ugst_dspy.optimizers.sft_data` records (conversational prompt/completion, so the loss
falls on the completion only). Paper defaults: effective batch 32, learning rate 1e-6, 4 epochs; the
effective batch is split into ``grad_accum`` micro-batches of ``batch_size / grad_accum`` examples. Records
longer than ``max_length`` tokens are left out (counted), never cut: a cut completion would teach the
model to stop mid-JSON. A rerun with the same ``output_dir`` resumes from its last ``checkpoint-N``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import require
from ugst_dspy.optimizers.options import TrainingOptions


@dataclass(kw_only=True)
class SFTOptions(TrainingOptions):
    """How ``ugst sft`` trains (TRL-style: every field has its help text; the shared ones in ``TrainingOptions``)."""

    grad_accum: int = field(default=8, metadata={"help": "Micro-batches per optimizer step; the batch size must be a multiple.", "min": 1})
    epochs: float = field(default=4.0, metadata={"help": "Passes over the data (paper: 4).", "min": 0.0})
    max_length: int = field(default=4096, metadata={"help": "Longest record in tokens; longer ones are left out.", "min": 16})


def sft_config(options: SFTOptions, **overrides: Any) -> Any:
    """The ``trl.SFTConfig`` of ``options`` (CPU: float32, no bf16, no reporting). Under ``accelerate launch``
    ``batch_size`` stays the batch of one optimizer step over all processes (see ``training.split_batch``)."""
    trl = require("trl", "train", "SFT training")

    from ugst_dspy.optimizers.launch import processes
    from ugst_dspy.optimizers.training import device_flags, split_batch

    per_device, accumulation = split_batch(options.batch_size, options.grad_accum, processes().count)
    values: dict[str, Any] = {
        "output_dir": options.output_dir,
        "per_device_train_batch_size": per_device,
        "gradient_accumulation_steps": accumulation,
        "learning_rate": options.learning_rate,
        "num_train_epochs": options.epochs,
        "max_steps": options.max_steps,
        "max_length": None,  # records are filtered by length beforehand, never truncated
        "save_strategy": "steps",
        "save_steps": options.save_steps,
        "save_total_limit": options.save_total_limit,
        "logging_steps": options.logging_steps,
        "seed": options.seed,
        "report_to": "none",
        "disable_tqdm": True,
        "dataset_num_proc": None,
        "ddp_find_unused_parameters": False,  # DDP (accelerate launch): every weight of a causal LM is used
        **device_flags(),
    }
    values.update(overrides)
    return trl.SFTConfig(**values)


def keep_fitting(dataset: Any, tokenizer: Any, max_length: int) -> tuple[Any, int]:
    """``(dataset without records longer than max_length tokens, how many were left out)``."""
    from ugst_dspy.optimizers.training import prompt_tokens

    keep = [i for i, row in enumerate(dataset)
            if prompt_tokens(tokenizer, row["prompt"], row["completion"]) <= max_length]
    return dataset.select(keep), len(dataset) - len(keep)


def train_sft(
    data: Any,
    options: SFTOptions,
    program: Any = None,
    *,
    sources: Sequence[str] = (),
    callbacks: Sequence[Any] = (),
    config_overrides: dict[str, Any] | None = None,
    layout: str | None = None,
    eval_overlap: int = 0,
) -> Any:
    """Fine-tune ``options.base_model`` on ``data`` (a ``datasets.Dataset`` of prompt/completion records).

    ``program`` is the student program the prompts were made with (saved beside the weights; default
    ``ReasoningSimulator()``); ``sources`` names the data files for the run record, ``eval_overlap`` how many of
    their goals are evaluation goals (trained on with ``--allow-eval-overlap``). ``layout`` names
    another data layout than the student's (e.g. DSPy finetuning data): then no program is saved.
    Returns a :class:`~ugst_dspy.optimizers.training.TrainingResult`.

    Under ``accelerate launch`` every process calls it with the same data; the main process alone checks and
    claims ``output_dir`` and writes the outputs (:mod:`~ugst_dspy.optimizers.launch`).
    """
    trl = require("trl", "train", "SFT training")

    from ugst_dspy.optimizers.launch import local_main_first, on_main
    from ugst_dspy.optimizers.layout import LAYOUT, student_program
    from ugst_dspy.optimizers.outdir import check_output_dir, claim_output_dir
    from ugst_dspy.optimizers.training import (
        complete_run,
        load_model,
        lora_config,
        progress_callback,
        resolve_model_dir,
        train_with_resume,
    )

    program = student_program(program) if layout is None else None
    if data is None or len(data) == 0:
        raise UgstError("no SFT data: the data set is empty")
    output_dir = Path(options.output_dir)
    on_main(lambda: check_output_dir(output_dir, "sft", options.base_model, resume=options.resume))
    base = local_main_first(lambda: resolve_model_dir(options.base_model))  # a conversion once per node
    model, tokenizer = load_model(base)
    data, too_long = keep_fitting(data, tokenizer, options.max_length)
    if len(data) == 0:
        raise UgstError(f"no SFT data: all {too_long} records are longer than --max-length {options.max_length} tokens")
    args = sft_config(options, **(config_overrides or {}))
    progress = progress_callback("sft")
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=data.select_columns(["prompt", "completion"]),
        processing_class=tokenizer,
        peft_config=lora_config(options.lora_r, options.lora_alpha) if options.lora else None,
        callbacks=[progress, *callbacks],
    )
    on_main(lambda: claim_output_dir(output_dir, "sft", base))
    resume, seconds = train_with_resume(trainer, output_dir, options.resume)
    record = {
        "stage": "sft",
        "layout": layout or LAYOUT,
        "base_model": str(base),
        "base_spec": options.base_model,
        "lora": options.lora,
        "data": list(sources),
        "eval_overlap": eval_overlap,
        "examples": len(data),
        "left_out_too_long": too_long,
        "epochs_done": trainer.state.epoch,
    }
    return complete_run(trainer, tokenizer, output_dir, program, record, options=options, resume=resume,
                        base=base, seconds=seconds, step_seconds=progress.step_seconds)
