"""``ugst simulate``: user simulator against an agent for each goal, UGST tracked every turn."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ugst_dspy.cli.options import (
    AgentModel,
    AllModels,
    Behaviours,
    ConfigFile,
    DecomposerModel,
    ExecutorName,
    Limit,
    Mix,
    Mode,
    RayAddress,
    RetryFailed,
    Seed,
    SimulatorModel,
    SteeringMode,
    TrackerModel,
    Workers,
    resolve_config,
)
from ugst_dspy.cli.batch import check_executor, make_executor
from ugst_dspy.envs.registry import ENVIRONMENTS

if TYPE_CHECKING:
    from ugst_dspy.config import UGSTConfig
    from ugst_dspy.runner.simulate import ConversationRunner

PACKED_PROGRAM = "ugst_program.json"  # what `ugst export` packs beside the weights


def packed_program(spec: str | None) -> Path | None:
    """The program an exported model folder carries (``DIR/ugst_program.json``), if the spec is such a folder."""
    text = (spec or "").strip()
    if not text or text.startswith(("vllm:", "scripted:", "gguf:")):
        return None
    candidate = Path(text.removeprefix("local:")).expanduser() / PACKED_PROGRAM
    return candidate if candidate.is_file() else None


@dataclass(frozen=True)
class SimulationRecipe:
    """What ``ugst simulate`` builds its :class:`ConversationRunner` from: picklable, so the workers of
    ``--executor ray`` build the very runner the driver builds (models, simulator or program, behaviours,
    agent), each in its own process."""

    config: UGSTConfig
    env: str
    simulator: str
    program: Path | None
    countdown: bool | None
    behaviours: bool  # whether the config's behaviours replace the program's own
    agent: str
    agent_steps: int
    track: bool
    data_dir: Path | None
    engine_options: dict[str, Any] | None = None  # for every local engine (ModelPool's); the command sets none

    def user(self) -> Any:
        """The user simulator: the saved program, else the named simulator; then countdown and behaviours."""
        from ugst_dspy.modules.simulators import make_simulator
        from ugst_dspy.programs.io import load_program

        user = load_program(self.program) if self.program else make_simulator(self.simulator, self.config.max_turns)
        if self.countdown is not None:
            user.countdown = self.countdown
        if self.behaviours:
            user.set_behaviours(self.config.behaviour_specs())
        return user

    def runner(self, user: Any) -> ConversationRunner:
        from ugst_dspy.engines.spec import ModelPool
        from ugst_dspy.runner.simulate import ConversationRunner, make_agent

        pool = ModelPool(self.config, self.engine_options)
        return ConversationRunner(self.config, self.env, user, make_agent(self.agent, pool, self.agent_steps), pool,
                                  track=self.track, data_dir=self.data_dir,
                                  program=str(self.program) if self.program else None)

    def build(self) -> ConversationRunner:
        return self.runner(self.user())


def simulate(
    env: Annotated[str, typer.Option("--env", "-e", help=f"Environment: {', '.join(ENVIRONMENTS)}.")] = "tau-retail",
    goals: Annotated[Optional[Path], typer.Option("--goals", "-g", help="Goals file (default: the env's --split goals).")] = None,
    split: Annotated[str, typer.Option("--split", help="Without --goals: test (the env's evaluation goals) or train (its training goals, e.g. for teacher runs to optimise or train on).")] = "test",
    simulator: Annotated[str, typer.Option("--simulator", "-s", help="prompt, goal-reminder, state-steered or reasoning.")] = "state-steered",
    program: Annotated[Optional[Path], typer.Option("--program", help="A saved (compiled) simulator program (JSON); default: the ugst_program.json of an exported --simulator-model folder, else --simulator.")] = None,
    agent: Annotated[str, typer.Option("--agent", help="dspy (tool-calling agent), endpoint:MODEL@URL or human.")] = "dspy",
    turns: Annotated[Optional[int], typer.Option("--turns", "-t", min=1, help="Most user-agent turns (default 10).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Conversations (JSON Lines, appended; default runs/ENV-SIMULATOR.jsonl).")] = None,
    track: Annotated[bool, typer.Option(help="Track UGST after every turn (else run `ugst track` later).")] = True,
    agent_steps: Annotated[int, typer.Option(min=1, help="Most tool calls of the agent per turn.")] = 5,
    data_dir: Annotated[Optional[Path], typer.Option(help="Benchmark data folder (default $UGST_DATA_DIR, else the copy installed with the package).")] = None,
    limit: Limit = None,
    workers: Workers = 1,
    mode: Mode = None,
    steering_mode: SteeringMode = None,
    countdown: Annotated[Optional[bool], typer.Option("--countdown/--no-countdown", help="Tell the simulator before each message which turn it is and how many are left (default: the program's own setting, off for the paper's configurations, which state the limit once).")] = None,
    behaviour: Behaviours = None,
    config: ConfigFile = None,
    model: AllModels = None,
    decomposer_model: DecomposerModel = None,
    tracker_model: TrackerModel = None,
    simulator_model: SimulatorModel = None,
    agent_model: AgentModel = None,
    seed: Seed = None,
    mix: Mix = False,
    retry_failed: RetryFailed = True,
    executor: ExecutorName = "thread",
    ray_address: RayAddress = None,
) -> None:
    """Simulate conversations and print the per-category table. Resumable: goals already in OUT are skipped,
    goals that failed (OUT.failed) are retried. Exit code 1 when a conversation failed, 2 on bad input."""
    if split not in ("test", "train"):
        from ugst_dspy.errors import UgstError

        raise UgstError(f"unknown --split {split!r} (use test or train)")
    from ugst_dspy.engines.spec import ModelPool
    from ugst_dspy.envs.goal_checks import check_goals
    from ugst_dspy.envs.registry import default_goals_path, environment_class, training_goals_path
    from ugst_dspy.cli.progress import ProgressReporter
    from ugst_dspy.files.conversations import load_conversations
    from ugst_dspy.files.failures import failures_path
    from ugst_dspy.files.goals import read_goals
    from ugst_dspy.metrics.diagnostics import diagnose_all
    from ugst_dspy.metrics.success import success_table
    from ugst_dspy.metrics.environments import environment_line, environments
    from ugst_dspy.metrics.tracker_modes import tracker_modes
    from ugst_dspy.report.table import format_success_table
    from ugst_dspy.runner.goals import simulate_goals

    environment_class(env)  # an unknown name fails here, before any model loads
    check_executor(executor, ray_address)
    if executor == "ray" and agent == "human":
        from ugst_dspy.errors import UgstError

        raise UgstError("--agent human needs a terminal: use it with --executor thread")
    settings = resolve_config(
        config,
        {"all": model, "decomposer": decomposer_model, "tracker": tracker_model, "simulator": simulator_model,
         "agent": agent_model},
        seed=seed, tracker_mode=mode, steering_tracker_mode=steering_mode, max_turns=turns, behaviours=behaviour,
    )
    ModelPool(settings).check()
    if program is None:
        program = packed_program(settings.role("simulator").model)
        if program is not None:
            typer.echo(f"ugst: simulating with the program packed beside the model: {program}", err=True)
    recipe = SimulationRecipe(settings, env, simulator, program, countdown,
                              # flags, then the config; else the program's own
                              behaviours=bool(settings.behaviours or behaviour is not None), agent=agent,
                              agent_steps=agent_steps, track=track, data_dir=data_dir)
    user = recipe.user()
    goal_file = goals or (training_goals_path if split == "train" else default_goals_path)(env, data_dir)
    items = read_goals(goal_file, limit=limit)
    check_goals(env, items, goal_file, data_dir)  # goals of another environment: one line, before any run
    out = out or Path("runs") / f"{env}-{getattr(user, 'name', simulator)}.jsonl"
    runner = recipe.runner(user)
    inputs = [goal_file, *([program] if program else []), *([config] if config else [])]
    report, failed = simulate_goals(runner, items, out, inputs=inputs, mix=mix, workers=workers,
                                    progress=ProgressReporter(f"simulating {env}"), retry_failed=retry_failed,
                                    executor=make_executor(executor, ray_address, recipe))
    typer.echo(report.summary(out, "conversations"), err=True)
    wanted = {goal.id for goal in items}
    done = [c for c in load_conversations([out], allow_empty=True).conversations if c.goal_id in wanted]
    typer.echo(format_success_table(success_table(done, "simulator"), trackers=tracker_modes(done, "simulator")))
    typer.echo(environment_line(environments(done)))
    counts = diagnose_all(done).counts()
    typer.echo("Failure diagnostics: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))
    if failed:
        typer.echo(f"Failed (left out of the table): {len(failed)} of {len(items)} conversations, listed in "
                   f"{failures_path(out)}; rerun the same command to retry them")
        raise typer.Exit(1)
