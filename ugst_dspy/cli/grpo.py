"""``ugst grpo``: GRPO of a student simulator with the composite UGST reward (paper stage 3)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from ugst_dspy.cli.dataclass_options import dataclass_options
from ugst_dspy.cli.options import (
    AgentModel,
    AllowEvalOverlap,
    ConfigFile,
    EvalGoals,
    RewardMode,
    Seed,
    TrackerModel,
    resolve_config,
)
from ugst_dspy.errors import UgstError
from ugst_dspy.optimizers.grpo import GRPOOptions


@dataclass_options
def grpo(
    data: Annotated[list[Path], typer.Argument(help="Tracked conversation files: every user turn becomes a prompt.", show_default=False)],
    *,
    options: GRPOOptions,
    program: Annotated[Optional[Path], typer.Option("--program", help="Student program whose prompts to use (default: the one saved with --base-model, else ReasoningSimulator()).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="Weight alpha_j of every UGST category in the reward.")] = 0.5,
    reward_mode: Annotated[str, typer.Option("--reward-mode", help="Indicator mode: progress (task categories count forward moves) or success.")] = "progress",
    on_malformed: Annotated[str, typer.Option("--on-malformed", help="A completion that breaks the layout: zero (reward 0) or score_text (score its text as the reply).")] = "zero",
    reward_workers: Annotated[int, typer.Option("--reward-workers", min=1, help="Tracker calls in flight at once (useful with a served tracker).")] = 1,
    rollout: Annotated[str, typer.Option("--rollout", help="single-turn (the paper's: each reply scored on its prefix) or multi-turn (each roll-out talks to the agent for up to --turns user turns, rewarded by the goal state over them; docs/training.md).")] = "single-turn",
    turns: Annotated[int, typer.Option("--turns", min=1, help="Multi-turn: most user turns of one roll-out.")] = 3,
    agent: Annotated[str, typer.Option("--agent", help="Multi-turn: the agent under test, dspy (tool-calling agent on --agent-model) or endpoint:MODEL@URL.")] = "dspy",
    agent_steps: Annotated[int, typer.Option("--agent-steps", min=1, help="Multi-turn: most tool calls of the agent per turn.")] = 5,
    env: Annotated[Optional[str], typer.Option("--env", "-e", help="Multi-turn: the environment of the roll-outs (default: each conversation's meta.env).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Multi-turn: benchmark data folder (default $UGST_DATA_DIR, else the packaged copy).")] = None,
    termination_weight: Annotated[float, typer.Option("--termination-weight", min=0.0, help="Multi-turn: weight of the termination reward beside the --alpha of each category.")] = 0.5,
    mode: RewardMode = None,
    config: ConfigFile = None,
    tracker_model: TrackerModel = None,
    agent_model: AgentModel = None,
    seed: Seed = None,
    allow_eval_overlap: AllowEvalOverlap = False,
    eval_goals: EvalGoals = None,
) -> None:
    """Train a student simulator with GRPO: for every conversation prefix ending where the user must reply,
    sample --rollouts completions, score each reply with the UGST tracker (one reward per category, weighted
    by --alpha) and update the policy. Resumable: a rerun continues from the last checkpoint in --out."""
    from ugst_dspy.optimizers.grpo import check_processes, check_vllm
    from ugst_dspy.optimizers.launch import local_main_first, main_output, on_main
    from ugst_dspy.optimizers.outdir import check_output_dir
    from ugst_dspy.optimizers.training import check_training

    check_training("ugst grpo")
    for path in data:
        if not path.is_file():
            raise UgstError(f"{path}: no such conversation file")
    check_vllm(options.use_vllm, options.vllm_server_url)  # before any model loads
    check_processes(rollout == "multi-turn", options.use_vllm)
    from ugst_dspy.envs.holdout import check_training_goals, goals_of_conversations

    with main_output() as is_main:  # several processes: the main one warns and reports
        overlap = check_training_goals(goals_of_conversations(data), "ugst grpo", allow=allow_eval_overlap,
                                       eval_goals=eval_goals or ())
    if reward_mode not in ("progress", "success"):
        raise UgstError(f"unknown --reward-mode {reward_mode!r} (use progress or success)")
    if rollout not in ("single-turn", "multi-turn"):
        raise UgstError(f"unknown --rollout {rollout!r} (use single-turn or multi-turn)")
    if on_malformed not in ("zero", "score_text"):
        raise UgstError(f"unknown --on-malformed {on_malformed!r} (use zero or score_text)")
    completions = options.batch_size * options.rollouts
    if completions % options.micro_batches:
        raise UgstError(f"--batch-size x --rollouts ({completions}) is not a multiple of --grad-accum {options.grad_accum}")
    out = Path(options.output_dir)
    # before any model converts, loads or trains; under accelerate launch the main process checks for all
    on_main(lambda: check_output_dir(out, "grpo", options.base_model, resume=options.resume))
    settings = resolve_config(config, {"tracker": tracker_model, "agent": agent_model}, seed=seed,
                              steering_tracker_mode=mode)
    options = replace(options, seed=settings.seed)

    from ugst_dspy.engines.spec import ModelPool, configure_adapter
    from ugst_dspy.modules.tracker import GoalStateTracker
    from ugst_dspy.optimizers.grpo import build_grpo_dataset, check_sources, train_grpo
    from ugst_dspy.optimizers.quiet import quiet_training
    from ugst_dspy.optimizers.rewards import UGSTRewardFunctions
    from ugst_dspy.optimizers.sft_data import read_sources
    from ugst_dspy.optimizers.training import load_model, load_student_program, resolve_model_dir
    from ugst_dspy.reward import RewardConfig
    from ugst_dspy.rules import get_rules
    from ugst_dspy.modules.scoring import ResponseScorer
    from ugst_dspy.state import CATEGORIES

    pool = ModelPool(settings)
    pool.spec("tracker")  # a bad tracker (or agent) spec fails here, before the policy loads
    if rollout == "multi-turn":
        pool.spec("agent")
    conversations = read_sources(data)
    check_sources(conversations, ", ".join(str(p) for p in data))
    rules = get_rules(settings.rules)
    base_dir = local_main_first(lambda: resolve_model_dir(options.base_model))  # a conversion once per node
    student = load_student_program(program, base_dir)
    with quiet_training():
        policy, tokenizer = load_model(base_dir)
        dataset, counts = build_grpo_dataset(conversations, tokenizer, student, options.token_budget)  # the same everywhere
        if is_main:
            typer.echo(f"ugst grpo: {counts['prompts']} prompts ({counts['too_long']} over {options.token_budget} tokens, "
                       f"{counts['duplicates']} duplicates, {counts['untracked']} untracked conversations left out)",
                       err=True)
        tracker = GoalStateTracker(mode=settings.steering_tracker_mode, rules=rules)
        tracker.set_lm(pool.lm("tracker"))
        reward_config = RewardConfig(dict.fromkeys(CATEGORIES, alpha), reward_mode)  # type: ignore[arg-type]
        multi_turn = None
        if rollout == "multi-turn":
            from ugst_dspy.optimizers.rollouts import (
                MultiTurnRollouts,
                RolloutOptions,
                RolloutRewardFunctions,
                rollout_rows,
            )
            from ugst_dspy.reward import TrajectoryConfig
            from ugst_dspy.runner.simulate import make_agent

            trajectory = TrajectoryConfig(reward_config, termination_weight=termination_weight)
            rewards = RolloutRewardFunctions(trajectory)
            multi_turn = MultiTurnRollouts(
                rollout_rows(list(dataset), conversations, env), agent=make_agent(agent, pool, agent_steps),
                tracker=tracker, program=student, config=trajectory, rules=rules,
                options=RolloutOptions(turns=turns, agent_steps=agent_steps, workers=reward_workers,
                                       on_malformed=on_malformed),
                data_dir=data_dir, adapter=configure_adapter(settings),
                greedy_agent=settings.role("agent").temperature == 0)
        else:
            scorer = ResponseScorer(tracker, reward_config, rules)
            rewards = UGSTRewardFunctions(scorer, on_malformed=on_malformed, workers=reward_workers,  # type: ignore[arg-type]
                                          adapter=configure_adapter(settings))
        result = train_grpo(dataset, rewards, options, student, sources=[str(p) for p in data],
                            model=(policy, tokenizer), eval_overlap=len(overlap), rollouts=multi_turn)
    # the run record's count: every process's calls
    calls = result.record["rollouts" if multi_turn is not None else "reward"]["tracker_calls"]
    if is_main:
        typer.echo(f"{out}: {result.global_step} steps in {result.seconds:.1f} s ({result.mean_step_seconds:.2f} "
                   f"s/step, peak memory {result.peak_rss_mb:.0f} MB, {calls} tracker calls); "
                   f"export with: ugst export {out} --out DIR", err=True)
