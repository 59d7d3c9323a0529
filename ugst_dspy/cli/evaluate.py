"""``ugst evaluate``: the per-category success table with failure diagnostics, and on request agreement,
decomposition quality, LM-rated conversation quality, lexical diversity and embedding similarity.

Every table comes in every format: text and Markdown print one section after another (the success table
first, untitled), CSV prints one block per table separated by an empty line (the success table first), JSON
is one document whose ``rows`` are the success table and whose other keys hold the other sections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ugst_dspy.cli.options import ConfigFile, RaterModel, Seed, Workers, resolve_config
from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.files.appender import refuse_input_as_output
from ugst_dspy.files.atomic import write_text_atomic
from ugst_dspy.files.conversations import ConversationSet, load_conversations
from ugst_dspy.metrics.diagnostics import DEFAULT_STUCK_TURNS, diagnose_all
from ugst_dspy.metrics.environments import environment_line, environments
from ugst_dspy.metrics.success import check_group_by, group_key, success_table
from ugst_dspy.metrics.tracker_modes import tracker_modes
from ugst_dspy.report.table import FORMATS, format_success_table
from ugst_dspy.rules import get_rules


def load_all(paths: list[Path], group_by: str | None = None) -> ConversationSet:
    """The results of several files (failures apart); ``meta.file`` is set to the file's name when absent.

    A ``group_by`` path that no conversation has is refused."""
    loaded = load_conversations(paths, tag=_tag_file)
    check_group_by(loaded.conversations, group_by)
    if loaded.failed:
        typer.echo(f"ugst: {loaded.failure_note()}", err=True)
    return loaded


def _tag_file(conversation: Conversation, path: Path) -> None:
    if conversation.meta.file is None:
        conversation.meta.file = path.name


def failures_json(loaded: ConversationSet) -> dict[str, Any]:
    """The failed conversations left out, per file, for JSON output."""
    return {"count": loaded.failed,
            "files": {str(path): [f.id for f in items] for path, items in loaded.failures.items() if items}}


def _unique(conversations: list[Conversation], what: str) -> None:
    seen: set[str] = set()
    for conversation in conversations:
        if conversation.key in seen:
            raise UgstError(f"{what}: conversation id {conversation.key!r} appears twice; --agreement pairs by id")
        seen.add(conversation.key)


def _identity(conversation: Conversation, group: str) -> dict[str, Any]:
    return {"file": conversation.meta.file, "id": conversation.key, "group": group}


def evaluate(
    conversations: list[Path] = typer.Argument(..., help="Conversation files (JSON Lines)."),
    group_by: str = typer.Option(
        None, "--group-by", "-g", help="Meta field to group by, as a dotted path (e.g. models.simulator, file)."
    ),
    fmt: str = typer.Option("text", "--format", "-f", help=f"Output format: {', '.join(FORMATS)}."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the tables here instead of standard output."),
    rules: str = typer.Option("default", help="Rule set that defines success."),
    diagnostics: bool = typer.Option(True, help="Count the state-based failure classes."),
    stuck_turns: int = typer.Option(
        DEFAULT_STUCK_TURNS, "--stuck-turns", min=1,
        help="Misprioritisation: turns with an ATTEMPTED objective and no other objective moving.",
    ),
    agreement_with: Path = typer.Option(
        None, "--agreement", metavar="FILE",
        help="Another tracked version of the same conversations: print the per-category agreement (Table 4).",
    ),
    final_only: bool = typer.Option(False, "--final-only", help="With --agreement: compare only the final states."),
    gold: Path = typer.Option(
        None, "--gold", metavar="FILE",
        help="Gold decompositions (JSON Lines): score each conversation's initial state (Table 5).",
    ),
    match_threshold: float = typer.Option(
        0.5, "--match-threshold", min=0.0, max=1.0, help="With --gold: least token-overlap F1 of a matched pair."
    ),
    quality: bool = typer.Option(False, "--quality", help="Rate naturalness and coherence with the rater model."),
    lm_failures: bool = typer.Option(
        True, "--lm-failures/--no-lm-failures", help="With --quality: also classify confusion and contradiction."
    ),
    diversity: bool = typer.Option(False, "--diversity", help="MTLD and HD-D of the user utterances per group."),
    similarity: bool = typer.Option(
        False, "--similarity", help="Embedding similarity of user utterances to their goal (a BERTScore stand-in)."
    ),
    reward: bool = typer.Option(
        False, "--reward", help="The conversation-level UGST reward per group (the multi-turn GRPO reward: per "
        "category, per-turn indicators and final success; termination), mean per tracked conversation.",
    ),
    alpha: float = typer.Option(0.5, "--alpha", help="With --reward: the weight of every category."),
    termination_weight: float = typer.Option(0.5, "--termination-weight", help="With --reward: the weight of termination."),
    outcomes: Optional[bool] = typer.Option(
        None, "--outcomes/--no-outcomes",
        help="The agent-side table (task success, agent failed vs goal not delivered, turns, tool errors); default: "
             "on when a conversation has a task outcome or behaviours.",
    ),
    config: ConfigFile = None,
    rater_model: RaterModel = None,
    seed: Seed = None,
    workers: Workers = 1,
) -> None:
    """Per-category success rates (Prof., Pol., T.O., Req., Pref., Avg) of tracked conversations, and the
    other evaluation tables on request (see docs/metrics.md for every definition)."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    if final_only and agreement_with is None:
        raise UgstError("--final-only only applies with --agreement FILE")
    if out is not None:
        refuse_input_as_output(out, [*conversations, *(p for p in (agreement_with, gold, config) if p is not None)])
    found = load_all(conversations, group_by)
    loaded = found.conversations
    rows = success_table(loaded, group_by, get_rules(rules))
    summary = diagnose_all(loaded, stuck_turns=stuck_turns) if diagnostics else None
    extra: dict[str, Any] = {}
    if found.failed:
        extra["failed"] = failures_json(found)
    if summary is not None:
        extra["diagnostics"] = {
            "counts": summary.counts(), "conversations": summary.by_class, "stuck_turns": stuck_turns,
        }
    sections: list[str] = []
    if agreement_with is not None:
        sections.append(_agreement(loaded, agreement_with, final_only, fmt, extra))
    if gold is not None:
        sections.append(_gold(loaded, gold, group_by, match_threshold, fmt, extra))
    if quality:
        settings = resolve_config(config, {"rater": rater_model}, seed=seed)
        sections.append(_quality(loaded, settings, group_by, lm_failures, workers, fmt, extra))
    if diversity:
        sections.append(_diversity(loaded, group_by, fmt, extra))
    if similarity:
        sections.append(_similarity(loaded, group_by, fmt, extra))
    sections += _behaviours_and_outcomes(loaded, group_by, get_rules(rules), outcomes, fmt, extra)
    if reward:
        sections.append(_reward(loaded, group_by, get_rules(rules), alpha, termination_weight, fmt, extra))

    envs = environments(loaded)
    extra["environments"] = dict(envs.most_common())
    text = format_success_table(rows, fmt, extra, trackers=tracker_modes(loaded, group_by))
    if fmt in ("text", "markdown"):
        text += f"\n{environment_line(envs)}"
    if summary is not None and fmt in ("text", "markdown"):
        counts = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in summary.counts().items())
        text += f"\n\nFailure diagnostics ({summary.total} conversations): {counts}"
    if found.failed and fmt in ("text", "markdown"):
        text += f"\n\nFailed (left out of every table): {found.failure_note()}"
    if fmt != "json":
        text = "\n\n".join([text, *sections])
    if out is None:
        typer.echo(text)
    else:
        write_text_atomic(out, text + "\n")
        typer.echo(f"wrote {out}", err=True)


def _behaviours_and_outcomes(
    loaded: list[Conversation], group_by: str | None, rules: Any, outcomes: bool | None, fmt: str,
    extra: dict[str, Any],
) -> list[str]:
    """The behaviour check (records made with behaviours) and the agent-side table (see ``--outcomes``)."""
    from ugst_dspy.metrics.agent_outcome import outcome_table, task_reward
    from ugst_dspy.metrics.behaviours import behaviour_table, plan_of
    from ugst_dspy.report.behaviour_table import behaviours_json, format_behaviours, format_outcomes, outcomes_json

    sections = []
    with_behaviours = any(plan_of(c) is not None for c in loaded)
    if with_behaviours:
        rows = behaviour_table(loaded, group_by)
        extra["behaviours"] = behaviours_json(rows)
        sections.append("" if fmt == "json" else format_behaviours(rows, fmt))
    if outcomes is None:
        outcomes = with_behaviours or any(task_reward(c) is not None for c in loaded)
    if outcomes:
        table = outcome_table(loaded, group_by, rules)
        extra["outcomes"] = outcomes_json(table)
        sections.append("" if fmt == "json" else format_outcomes(table, fmt))
    return sections


def _reward(loaded: list[Conversation], group_by: str | None, rules: Any, alpha: float, termination: float,
            fmt: str, extra: dict[str, Any]) -> str:
    """The mean conversation reward per group (:func:`ugst_dspy.reward.conversation_reward`)."""
    from ugst_dspy.reward import RewardConfig, TrajectoryConfig, conversation_reward
    from ugst_dspy.report.grid import number, raw, section
    from ugst_dspy.state import CATEGORIES

    config = TrajectoryConfig(RewardConfig(dict.fromkeys(CATEGORIES, alpha)), termination_weight=termination)
    key = group_key(group_by)
    groups: dict[str, list[Any]] = {}
    for conversation in loaded:
        scored = conversation_reward(conversation, config, rules)
        groups.setdefault(key(conversation), [])
        if scored is not None:
            groups[key(conversation)].append(scored)

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    rows = {name: {"conversations": len(items), "total": mean([r.total for r in items]),
                   **{c: mean([r.values[c] for r in items]) for c in config.names}} for name, items in groups.items()}
    extra["reward"] = {"config": config.to_json(), "rows": rows}
    if fmt == "json":
        return ""
    header = ["Group", "N", *config.names, "Total"]
    cells = [[name, str(row["conversations"]), *(number(row[c], 3) for c in config.names), number(row["total"], 3)]
             for name, row in rows.items()]
    csv_rows = [[name, row["conversations"], *(raw(row[c]) for c in config.names), raw(row["total"])]
                for name, row in rows.items()]
    title = (f"UGST conversation reward (mean per tracked conversation; alpha {alpha}, termination weight "
             f"{termination}, total out of {sum(config.weights):g})")
    return section(fmt, title, header, cells, ["group", "conversations", *config.names, "total"], csv_rows)


def _agreement(loaded: list[Conversation], other: Path, final_only: bool, fmt: str, extra: dict[str, Any]) -> str:
    from ugst_dspy.metrics.agreement import agreement
    from ugst_dspy.report.agreement_table import agreement_json, format_agreement

    theirs = load_all([other]).conversations
    _unique(loaded, "the conversation files")
    _unique(theirs, str(other))
    result = agreement(loaded, theirs, final_only=final_only)
    extra["agreement"] = agreement_json(result, str(other), final_only)
    return "" if fmt == "json" else format_agreement(result, fmt, other.name, final_only)


def _gold(
    loaded: list[Conversation], path: Path, group_by: str | None, threshold: float, fmt: str, extra: dict[str, Any]
) -> str:
    from ugst_dspy.files.decompositions import read_decompositions
    from ugst_dspy.metrics.decomposition import decomposition_table
    from ugst_dspy.report.decomposition_table import decomposition_json, format_decomposition

    reference = {goal_id: item.state for goal_id, item in read_decompositions(path).items()}
    table = decomposition_table(loaded, reference, group_by, threshold)
    extra["decomposition"] = decomposition_json(table, str(path), threshold)
    return "" if fmt == "json" else format_decomposition(table, fmt, path.name, threshold)


def _quality(
    loaded: list[Conversation],
    settings: Any,
    group_by: str | None,
    failures: bool,
    workers: int,
    fmt: str,
    extra: dict[str, Any],
) -> str:
    from ugst_dspy.cli.progress import ProgressReporter
    from ugst_dspy.engines.spec import ModelPool, configure_adapter
    from ugst_dspy.metrics.quality import quality_table, rubric_aspects
    from ugst_dspy.modules.rater import ConversationRater, rate_all
    from ugst_dspy.report.quality_table import format_quality, quality_json
    from ugst_dspy.usage import UsageRecorder

    pool = ModelPool(settings)
    rater_name = str(pool.spec("rater"))
    usage = UsageRecorder()
    ratings = rate_all(
        loaded, ConversationRater(failures=failures), pool.lm("rater"), configure_adapter(settings),
        workers=workers, progress=ProgressReporter("rating"), usage=usage,
    )
    table = quality_table(zip(loaded, ratings), group_by)
    key = group_key(group_by)
    per_conversation = [{**_identity(c, key(c)), **r.to_json()} for c, r in zip(loaded, ratings)]
    extra["quality"] = quality_json(table, rater_name, {
        "lm_failures": failures, "rubric": rubric_aspects(), "conversations": per_conversation,
        "usage": usage.to_json(),
    })
    return "" if fmt == "json" else format_quality(table, fmt, rater_name, failures)


def _diversity(loaded: list[Conversation], group_by: str | None, fmt: str, extra: dict[str, Any]) -> str:
    from ugst_dspy.metrics.diversity import diversity_table, library_version
    from ugst_dspy.report.quality_table import diversity_json, format_diversity

    library = library_version()
    table = diversity_table(loaded, group_by)
    extra["diversity"] = diversity_json(table, library)
    return "" if fmt == "json" else format_diversity(table, fmt, library)


def _similarity(loaded: list[Conversation], group_by: str | None, fmt: str, extra: dict[str, Any]) -> str:
    import time

    from ugst_dspy.cli.progress import ProgressReporter
    from ugst_dspy.engines.embedder import SentenceEmbedder, model_dir
    from ugst_dspy.metrics.similarity import similarity_table
    from ugst_dspy.report.quality_table import format_similarity, similarity_json

    folder = model_dir()
    embed = SentenceEmbedder(folder)
    key = group_key(group_by)
    progress = ProgressReporter("similarity")
    per_conversation: list[dict[str, Any]] = []
    clock = [time.perf_counter()]

    def seen(conversation: Conversation, values: list[float]) -> None:
        mean = sum(values) / len(values) if values else None
        per_conversation.append({**_identity(conversation, key(conversation)), "utterances": len(values), "mean": mean})
        now = time.perf_counter()
        progress.advance(conversation.key, True, now - clock[0])
        clock[0] = now

    progress.start(len(loaded), 0)
    try:
        table = similarity_table(loaded, embed, group_by, on_conversation=seen)
    finally:
        progress.finish()
    extra["similarity"] = similarity_json(table, {"model": str(folder), "conversations": per_conversation})
    return "" if fmt == "json" else format_similarity(table, fmt)
