"""``ugst sft``: cold-start SFT of a reasoning student on the state-steered teacher's conversations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer

from ugst_dspy.cli.dataclass_options import dataclass_options
from ugst_dspy.cli.options import (
    AgentModel,
    AllModels,
    AllowEvalOverlap,
    Behaviours,
    ConfigFile,
    DecomposerModel,
    EvalGoals,
    Limit,
    Mode,
    Seed,
    SimulatorModel,
    TrackerModel,
    Workers,
    resolve_config,
)
from ugst_dspy.errors import UgstError
from ugst_dspy.optimizers.sft import SFTOptions


@dataclass_options
def sft(
    data: Annotated[Optional[list[Path]], typer.Argument(help="Conversation files of the reasoning teacher (turns that carry reasoning).", show_default=False)] = None,
    *,
    options: SFTOptions,
    teacher_runs: Annotated[Optional[Path], typer.Option("--teacher-runs", help="First run the state-steered reasoning teacher into this conversation file (resumable; --env, --goals, --limit and the role models apply), then train on it too.")] = None,
    env: Annotated[str, typer.Option("--env", "-e", help="Environment of the teacher runs.")] = "tau-retail",
    goals: Annotated[Optional[Path], typer.Option("--goals", "-g", help="Goals of the teacher runs (default: the env's train goals; never its evaluation goals).")] = None,
    turns: Annotated[Optional[int], typer.Option("--turns", "-t", min=1, help="Most turns of a teacher conversation (default 10).")] = None,
    agent: Annotated[str, typer.Option("--agent", help="Agent of the teacher runs: dspy, endpoint:MODEL@URL or human.")] = "dspy",
    data_dir: Annotated[Optional[Path], typer.Option(help="Benchmark data folder (default $UGST_DATA_DIR, else the copy installed with the package).")] = None,
    program: Annotated[Optional[Path], typer.Option("--program", help="Student program (a saved reasoning simulator) whose prompts to train on; default ReasoningSimulator().")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Build the data, report its size and stop.")] = False,
    limit: Limit = None,
    workers: Workers = 1,
    mode: Mode = None,
    behaviour: Behaviours = None,
    config: ConfigFile = None,
    model: AllModels = None,
    decomposer_model: DecomposerModel = None,
    tracker_model: TrackerModel = None,
    simulator_model: SimulatorModel = None,
    agent_model: AgentModel = None,
    seed: Seed = None,
    allow_eval_overlap: AllowEvalOverlap = False,
    eval_goals: EvalGoals = None,
) -> None:
    """Fine-tune a student simulator on reasoning-annotated turns (paper stage 2): the prompt holds the goal,
    the conversation as the user saw it and the turn budget (no goal state); the completion is the teacher's
    reasoning in three parts, the reply and the stop flag. Resumable: a rerun continues from --out."""
    files = list(data or [])
    if not files and teacher_runs is None:
        raise UgstError("no SFT data: give teacher conversation files, or --teacher-runs FILE to generate them")
    for path in files:
        if not path.is_file():
            raise UgstError(f"{path}: no such conversation file")
    if options.batch_size % options.grad_accum:
        raise UgstError(f"--batch-size {options.batch_size} is not a multiple of --grad-accum {options.grad_accum}")
    options, out = replace(options, seed=seed or 0), Path(options.output_dir)
    from ugst_dspy.optimizers.launch import local_main_first, main_output, on_main
    from ugst_dspy.optimizers.outdir import check_inputs_outside, check_output_dir
    from ugst_dspy.optimizers.training import check_training

    check_training("ugst sft")
    # before any model converts, loads or trains; under accelerate launch the main process checks for all
    on_main(lambda: check_output_dir(out, "sft", options.base_model, resume=options.resume))
    check_inputs_outside(out, "--teacher-runs", teacher_runs)
    from ugst_dspy.cli.progress import ProgressReporter
    from ugst_dspy.optimizers.quiet import quiet_training
    from ugst_dspy.optimizers.sft import train_sft
    from ugst_dspy.optimizers.sft_data import build_sft_dataset, generate_teacher_conversations
    from ugst_dspy.optimizers.training import load_student_program, resolve_model_dir

    from ugst_dspy.envs.holdout import check_training_goals, goals_of_conversations, goals_of_file
    from ugst_dspy.envs.registry import training_goals_path

    training = goals_of_conversations(files)
    if teacher_runs is not None:
        goals = goals if goals is not None else training_goals_path(env, data_dir)
        training += goals_of_file(goals, limit)
    with main_output() as is_main:  # several processes: the main one warns and reports
        overlap = check_training_goals(training, "ugst sft", allow=allow_eval_overlap, data_dir=data_dir,
                                       eval_goals=eval_goals or ())
    base_dir = local_main_first(lambda: resolve_model_dir(options.base_model))  # a bad spec fails before any teacher run
    student = load_student_program(program, base_dir)
    if teacher_runs is not None:
        settings = resolve_config(
            config,
            {"all": model, "decomposer": decomposer_model, "tracker": tracker_model, "simulator": simulator_model,
             "agent": agent_model},
            seed=seed, tracker_mode=mode, max_turns=turns, behaviours=behaviour,
        )

        def run_teacher() -> str:  # the main process runs the teacher; the others wait, then read its file
            report = generate_teacher_conversations(
                teacher_runs, settings, env, goals, limit=limit, agent=agent, workers=workers, data_dir=data_dir,
                progress=ProgressReporter(f"teacher runs ({env})"),
            )
            return (f"{teacher_runs}: {report.written} teacher conversations, {report.skipped} already there, "
                    f"{len(report.failed)} failed")

        summary = on_main(run_teacher, "the teacher runs")
        if is_main:
            typer.echo(summary, err=True)
        files = [*files, teacher_runs]
    with quiet_training():
        dataset = build_sft_dataset(files, program=student)  # the same on every process: the same files
        if is_main:
            typer.echo(f"ugst sft: {len(dataset)} records from {len(set(dataset['conversation_id']))} conversations",
                       err=True)
        if dry_run:
            return
        result = train_sft(dataset, options, student, sources=[str(f) for f in files], eval_overlap=len(overlap))
    if is_main:
        typer.echo(f"{out}: {result.global_step} steps in {result.seconds:.1f} s ({result.mean_step_seconds:.2f} s/step, "
                   f"peak memory {result.peak_rss_mb:.0f} MB); export with: ugst export {out} --out DIR", err=True)
