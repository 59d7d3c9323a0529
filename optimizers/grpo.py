"""GRPO (paper stage 3) with TRL's GRPOTrainer and the composite UGST reward.

Prompts are conversation prefixes ending where the simulator must reply: for every tracked conversation
and every user turn ``i``, the student prompt after turns ``1..i-1`` (no state; see
:mod:`~ugst_dspy.optimizers.layout`) with the columns the rewards need -- the goal, the state ``S_{i-1}``
before the reply and the turns so far (JSON). Prefixes whose prompt is longer than ``token_budget`` tokens
are left out (counted); identical prefixes are kept once.

Paper defaults: learning rate 5e-6, 16 prompts a step, 8 rollouts each, 350 steps. One optimizer step
takes ``batch_size * rollouts`` completions in ``grad_accum`` micro-batches (default: one prompt's rollouts
per micro-batch). The five per-category reward functions of :mod:`~ugst_dspy.optimizers.rewards` are
weighted by the alphas, so TRL logs each indicator and their weighted sum, the UGST reward. vLLM
generation (``use_vllm="colocate"`` or ``"server"``) is for GPU machines; with ``"off"`` vllm is never
imported. A rerun with the same ``output_dir`` resumes from its last ``checkpoint-N``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.extras import check as check_extra
from ugst_dspy.extras import require
from ugst_dspy.optimizers.options import TrainingOptions, redeclare

VLLMMode = Literal["off", "colocate", "server"]
VLLM_MODES: tuple[str, ...] = ("off", "colocate", "server")
COUNTS: tuple[str, ...] = ("tracker_calls", "malformed")
"""What the single-turn rewards count (summed over the processes of a launch in the run record)."""


@dataclass(kw_only=True)
class GRPOOptions(TrainingOptions):
    """How ``ugst grpo`` trains (TRL-style: every field has its help text; the shared ones in ``TrainingOptions``)."""

    batch_size: int = redeclare("batch_size", 16, help="Prompts per optimizer step (paper: 16).")
    learning_rate: float = redeclare("learning_rate", 5e-6, help="Peak learning rate (paper: 5e-6).")
    max_steps: int = redeclare("max_steps", 350, help="Optimizer steps (paper: 350).", min=1)
    save_steps: int = redeclare("save_steps", 50)
    rollouts: int = field(default=8, metadata={"help": "Completions sampled per prompt, the GRPO group (paper: 8).", "min": 2})
    grad_accum: int | None = field(default=None, metadata={"help": "Micro-batches per optimizer step (default: the batch size, one prompt's rollouts each).", "min": 1})
    max_completion_length: int = field(default=512, metadata={"help": "Most tokens of one sampled completion.", "min": 8})
    token_budget: int = field(default=2048, metadata={"help": "Longest prompt in tokens; longer conversation prefixes are left out.", "min": 64})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature of the rollouts.", "min": 0.0})
    beta: float = field(default=0.0, metadata={"help": "KL coefficient (0: no reference model).", "min": 0.0})
    use_vllm: str = field(default="off", metadata={"help": "Generate the rollouts with vLLM: off, colocate or server (GPU machines)."})
    vllm_server_url: str | None = field(default=None, metadata={"help": "Base URL of the `trl vllm-serve` server, for vLLM as a server."})
    log_completions: bool = field(default=False, metadata={"help": "Keep each step's completions and rewards in the output folder's completions/ (parquet)."})

    @property
    def micro_batches(self) -> int:
        return self.grad_accum or self.batch_size


def conversation_prefixes(conversation: Conversation) -> Iterable[tuple[int, Any]]:
    """``(i, S_i)`` for each user turn ``i + 1`` of a tracked conversation (the state before that reply)."""
    states = conversation.states
    for index in range(len(conversation.turns)):
        state = states[index]
        if state is not None:
            yield index, state


def grpo_records(
    conversations: Iterable[Conversation],
    tokenizer: Any,
    program: Any = None,
    token_budget: int = 2048,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The GRPO prompt records and counts: ``prompts``, ``too_long``, ``duplicates``, ``untracked``."""
    from ugst_dspy.behaviours.record import recorded_behaviour
    from ugst_dspy.optimizers.layout import recorded_student, student_messages
    from ugst_dspy.optimizers.training import prompt_tokens

    records: list[dict[str, Any]] = []
    counts = {"prompts": 0, "too_long": 0, "duplicates": 0, "untracked": 0}
    seen: set[tuple[str, str, int, str]] = set()
    for conversation in conversations:
        if conversation.initial_state is None:
            counts["untracked"] += 1
            continue
        max_turns = conversation.turn_limit()
        student, plan = recorded_student(conversation, program)
        for index, state in conversation_prefixes(conversation):
            prefix = conversation.turns[:index]
            turns_json = json.dumps([turn.model_dump(mode="json") for turn in prefix], sort_keys=True,
                                    ensure_ascii=False)
            behaviour = recorded_behaviour(conversation, index, plan=plan) if plan is not None else None
            key = (conversation.instruction, turns_json, max_turns, str(behaviour))
            if key in seen:
                counts["duplicates"] += 1
                continue
            seen.add(key)
            prompt = student_messages(conversation.instruction, prefix, max_turns, student, behaviour=behaviour)
            if prompt_tokens(tokenizer, prompt) > token_budget:
                counts["too_long"] += 1
                continue
            records.append({
                "prompt": prompt,
                "goal": conversation.instruction,
                "state": json.dumps(state.to_json(), sort_keys=True, ensure_ascii=False),
                "turns": turns_json,
                "conversation_id": conversation.key,
                "turn_index": index,
            })
    counts["prompts"] = len(records)
    return records, counts


def check_sources(conversations: Sequence[Conversation], where: str) -> None:
    """Refuse, in one line, conversations of which none is tracked with a turn (cheap; before models load)."""
    if not any(c.initial_state is not None and c.turns for c in conversations):
        raise UgstError(f"no GRPO prompts in {where}: need tracked conversations with at least one turn "
                        "(run `ugst simulate` or `ugst track` first)")


def build_grpo_dataset(
    sources: Sequence[str | Path] | Sequence[Conversation],
    tokenizer: Any,
    program: Any = None,
    token_budget: int = 2048,
) -> tuple[Any, dict[str, int]]:
    """``(datasets.Dataset of GRPO prompts, counts)`` from conversation files (or conversations)."""
    datasets = require("datasets", "train", "GRPO training")

    from ugst_dspy.optimizers.sft_data import read_sources

    conversations = [c for c in sources if isinstance(c, Conversation)]
    paths = [p for p in sources if not isinstance(p, Conversation)]
    conversations += read_sources(paths)
    records, counts = grpo_records(conversations, tokenizer, program, token_budget)
    if not records:
        where = ", ".join(str(p) for p in paths) or f"{len(conversations)} conversations"
        why = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items() if v and k != "prompts")
        raise UgstError(f"no GRPO prompts in {where}: need tracked conversations with prompts of at most "
                        f"{token_budget} tokens ({why or 'no turns'})")
    return datasets.Dataset.from_list(records), counts


def check_vllm(mode: str, server_url: str | None) -> None:
    """Refuse a vLLM mode this machine cannot run, in one line (vllm itself is not imported here)."""
    if mode not in VLLM_MODES:
        raise UgstError(f"unknown --use-vllm {mode!r} (use {', '.join(VLLM_MODES)})")
    if mode == "off":
        return
    check_extra("vllm", "gpu", f"--use-vllm {mode} (CUDA machines only)")
    if mode == "server" and not server_url:
        raise UgstError("--use-vllm server needs --vllm-server-url (a `trl vllm-serve` endpoint)")


def server_base_url(url: str) -> str:
    """The base URL TRL's vLLM client takes: the server's root (it adds ``/v1/...``, ``/health`` and its
    weight-sync routes itself), so an OpenAI-style ``.../v1`` ending is dropped."""
    base = url.strip().rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def check_processes(multi_turn: bool, use_vllm: str) -> None:
    """Refuse, in one line, what cannot run on the processes of this launch: multi-turn roll-outs on several
    processes generate a different number of later turns on each, so they need a policy each process runs
    alone (not a shared vLLM server, nor parameters sharded by FSDP or ZeRO-3, whose every forward pass is
    collective). Nothing is imported on a plain run."""
    from ugst_dspy.optimizers.launch import launched_processes, sharded_parameters

    if not multi_turn or launched_processes() == 1:
        return
    if use_vllm == "server":
        raise UgstError("--rollout multi-turn with --use-vllm server runs on one training process only (each "
                        "process would ask the shared server for a different number of turns); use --use-vllm "
                        "colocate or off, or launch one process")
    sharding = sharded_parameters()
    if sharding is not None:
        raise UgstError(f"--rollout multi-turn does not run under {sharding} (the later turns of a roll-out are "
                        "generated a different number of times on each process); use DDP or DeepSpeed ZeRO-2")


def grpo_config(options: GRPOOptions, reward_weights: Sequence[float], **overrides: Any) -> Any:
    """The ``trl.GRPOConfig`` of ``options``. Under ``accelerate launch`` ``batch_size`` stays the number of
    prompts of one optimizer step over all processes (see ``training.split_batch``)."""
    trl = require("trl", "train", "GRPO training")

    from ugst_dspy.optimizers.launch import processes
    from ugst_dspy.optimizers.training import device_flags, split_batch

    if options.rollouts < 2:
        raise UgstError(f"--rollouts must be at least 2 (GRPO compares completions of one prompt), "
                        f"got {options.rollouts}")
    check_vllm(options.use_vllm, options.vllm_server_url)
    completions = options.batch_size * options.rollouts
    per_device, accumulation = split_batch(completions, options.micro_batches, processes().count,
                                           "--batch-size x --rollouts")
    values: dict[str, Any] = {
        "output_dir": options.output_dir,
        "per_device_train_batch_size": per_device,
        "gradient_accumulation_steps": accumulation,
        "num_generations": options.rollouts,
        "learning_rate": options.learning_rate,
        "max_steps": options.max_steps,
        "max_completion_length": options.max_completion_length,
        "temperature": options.temperature,
        "beta": options.beta,
        "reward_weights": list(reward_weights),
        "save_strategy": "steps",
        "save_steps": options.save_steps,
        "save_total_limit": options.save_total_limit,
        "logging_steps": options.logging_steps,
        "log_completions": options.log_completions,
        "num_completions_to_print": 0,
        "ddp_find_unused_parameters": False,  # DDP (accelerate launch): every weight of a causal LM is used
        "seed": options.seed,
        "report_to": "none",
        "disable_tqdm": True,
        **device_flags(),
    }
    if options.use_vllm != "off":
        values.update(use_vllm=True, vllm_mode=options.use_vllm,  # the length is colocate's; a server has its own
                      vllm_max_model_length=options.token_budget + options.max_completion_length)
        if options.vllm_server_url:
            values["vllm_server_base_url"] = server_base_url(options.vllm_server_url)
    values.update(overrides)
    return trl.GRPOConfig(**values)


def train_grpo(
    data: Any,
    rewards: Any,
    options: GRPOOptions,
    program: Any = None,
    *,
    sources: Sequence[str] = (),
    callbacks: Sequence[Any] = (),
    config_overrides: dict[str, Any] | None = None,
    model: tuple[Any, Any] | None = None,
    eval_overlap: int = 0,
    rollouts: Any = None,
) -> Any:
    """Train ``options.base_model`` with GRPO on ``data`` (from :func:`build_grpo_dataset`).

    ``rewards`` is a :class:`~ugst_dspy.optimizers.rewards.UGSTRewardFunctions` (single-turn) or, with
    ``rollouts`` (a :class:`~ugst_dspy.optimizers.rollouts.MultiTurnRollouts`, TRL's ``rollout_func``), a
    :class:`~ugst_dspy.optimizers.rollouts.RolloutRewardFunctions`; ``program`` the student program the prompts
    were made with (saved beside the weights). ``model`` is an already loaded ``(model, tokenizer)`` of
    ``options.base_model`` (else loaded here). Returns a :class:`~ugst_dspy.optimizers.training.TrainingResult`.
    """
    trl = require("trl", "train", "GRPO training")

    from ugst_dspy.optimizers.launch import local_main_first, on_main, sum_over_processes
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

    program = student_program(program)
    if data is None or len(data) == 0:
        raise UgstError("no GRPO prompts: the data set is empty")
    output_dir = Path(options.output_dir)
    check_processes(rollouts is not None, options.use_vllm)
    on_main(lambda: check_output_dir(output_dir, "grpo", options.base_model, resume=options.resume))
    base = local_main_first(lambda: resolve_model_dir(options.base_model))  # a conversion once per node
    args = grpo_config(options, rewards.weights, **(config_overrides or {}))
    policy, tokenizer = model if model is not None else load_model(base)
    progress = progress_callback("grpo")
    with warnings.catch_warnings():  # TRL calls rollout_func experimental; multi-turn GRPO relies on it knowingly
        warnings.filterwarnings("ignore", message="You are using 'rollout_func'")
        trainer = trl.GRPOTrainer(
            model=policy,
            reward_funcs=rewards.functions,
            args=args,
            train_dataset=data,
            processing_class=tokenizer,
            peft_config=lora_config(options.lora_r, options.lora_alpha) if options.lora else None,
            callbacks=[progress, *callbacks],
            rollout_func=rollouts,
        )
    on_main(lambda: claim_output_dir(output_dir, "grpo", base))
    resume, seconds = train_with_resume(trainer, output_dir, options.resume)
    reward = rewards.describe()  # several processes: each scored its share; the record counts them all
    reward.update(sum_over_processes({k: reward[k] for k in COUNTS if isinstance(reward.get(k), (int, float))}))
    record = {
        "stage": "grpo",
        "layout": LAYOUT,
        "base_model": str(base),
        "base_spec": options.base_model,
        "lora": options.lora,
        "data": list(sources),
        "eval_overlap": eval_overlap,
        "prompts": len(data),
        "reward": reward,
        "rollout": "multi-turn" if rollouts is not None else "single-turn",
    }
    if rollouts is not None:
        record["rollouts"] = {**rollouts.describe(), **sum_over_processes(dict(rollouts.stats))}
    return complete_run(trainer, tokenizer, output_dir, program, record, options=options, resume=resume,
                        base=base, seconds=seconds, step_seconds=progress.step_seconds)
