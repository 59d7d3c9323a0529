"""Compile a simulator program with a DSPy optimiser and the UGST metric, and score programs on prefixes.

| optimiser | DSPy class | what it changes | extra needs |
| --- | --- | --- | --- |
| ``bootstrap`` | ``BootstrapFewShot`` | demos: the program's own traces whose reward reaches ``metric_threshold`` | -- |
| ``random-search`` | ``BootstrapFewShotWithRandomSearch`` | demos, the best of ``trials`` bootstrapped sets on val | -- |
| ``mipro`` | ``MIPROv2`` | instruction and demos, searched with Optuna | ``optuna`` (the ``optimize`` extra), a proposer LM |
| ``gepa`` | ``GEPA`` | instruction, rewritten from the metric's textual feedback | a reflection LM |

Labelled demos are off (``max_labeled_demos=0``): a train example holds the module's inputs (goal, turns,
state), not the predictor's rendered fields, so it cannot stand as a demo by itself. Everything runs
offline: the simulator LM is passed as ``lm`` (it is put in the DSPy context, since the optimisers copy
and reset the program), the metric carries its own tracker LM, and the proposer/reflection LM is
``reflection_lm``. The compiled program carries no LM of its own, so it saves cleanly and runs under
whatever LM the caller binds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import dspy

from ugst_dspy.errors import UgstError
from ugst_dspy.extras import check as check_extra
from ugst_dspy.optimizers.optimize_config import OptimizeConfig

Metric = Callable[..., Any]


class Progress(Protocol):
    """The runner's progress protocol (:class:`ugst_dspy.cli.progress.ProgressReporter` implements it)."""

    def start(self, total: int, skipped: int) -> None: ...

    def advance(self, key: str, ok: bool, seconds: float, note: str = "") -> None: ...

    def finish(self) -> None: ...


@dataclass(frozen=True)
class ProgramScore:
    """The mean normalised reward of a program over a set of prefixes (a failed call scores 0)."""

    mean: float
    examples: int
    failed: int = 0

    def __str__(self) -> str:
        if not self.examples:
            return "n/a"
        note = f" ({self.failed} failed)" if self.failed else ""
        return f"{self.mean:.3f}{note}"

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean if self.examples else None, "examples": self.examples, "failed": self.failed}


def require_optimizer(name: str, reflection_lm: Any = None) -> None:
    """Refuse, with one line, an optimiser whose dependency or LM is missing (before any work starts)."""
    OptimizeConfig(optimizer=name)  # an unknown name fails here
    if name == "mipro":
        check_extra("optuna", "optimize", "the mipro optimizer")
    if name == "gepa" and reflection_lm is None:
        raise UgstError("the gepa optimizer needs a reflection LM (--reflection-model, or the rater's model)")


@contextlib.contextmanager
def _lm_context(lm: Any = None, adapter: Any = None) -> Iterator[None]:
    settings = {key: value for key, value in (("lm", lm), ("adapter", adapter)) if value is not None}
    with dspy.context(**settings):
        yield


def clear_lms(program: dspy.Module) -> dspy.Module:
    """Unbind every predictor's LM (a saved program must not carry one); returns ``program``."""
    for predictor in program.predictors():
        predictor.lm = None
    return program


def optimize_program(
    program: dspy.Module,
    trainset: Sequence[dspy.Example],
    valset: Sequence[dspy.Example] | None,
    metric: Metric,
    config: OptimizeConfig | None = None,
    *,
    lm: Any = None,
    reflection_lm: Any = None,
    adapter: Any = None,
    **overrides: Any,
) -> dspy.Module:
    """The compiled program (a new object; ``program`` is left as it was).

    ``config`` (default :class:`OptimizeConfig`) with ``overrides`` of its fields (``optimizer="gepa"``,
    ``trials=2``, ``seed=1``...). ``lm`` plays the simulator (default: the current DSPy LM), ``adapter``
    formats its prompts, ``reflection_lm`` proposes instructions (MIPROv2, default ``lm``; GEPA, required).
    """
    config = dataclasses.replace(config or OptimizeConfig(), **overrides)
    if not trainset:
        raise UgstError("the train set is empty: nothing to optimise on")
    valset = list(valset or [])
    require_optimizer(config.optimizer, reflection_lm)
    compile_with = {
        "bootstrap": _bootstrap,
        "random-search": _random_search,
        "mipro": _mipro,
        "gepa": _gepa,
    }[config.optimizer]
    with _lm_context(lm, adapter):
        compiled = compile_with(program, list(trainset), valset, metric, config, lm, reflection_lm)
    return clear_lms(compiled)


def _bootstrap(program, trainset, valset, metric, config, lm, reflection_lm):  # type: ignore[no-untyped-def]
    optimizer = dspy.BootstrapFewShot(
        metric=metric,
        metric_threshold=config.metric_threshold,
        max_bootstrapped_demos=config.max_demos,
        max_labeled_demos=0,
        max_rounds=config.max_rounds,
        max_errors=config.max_errors,
    )
    return optimizer.compile(program, trainset=trainset)


def _random_search(program, trainset, valset, metric, config, lm, reflection_lm):  # type: ignore[no-untyped-def]
    optimizer = dspy.BootstrapFewShotWithRandomSearch(
        metric=metric,
        metric_threshold=config.metric_threshold,
        max_bootstrapped_demos=config.max_demos,
        max_labeled_demos=0,
        max_rounds=config.max_rounds,
        num_candidate_programs=config.trials or 4,
        num_threads=config.num_threads,
        max_errors=config.max_errors,
    )
    return optimizer.compile(program, trainset=trainset, valset=valset or None)


def _mipro(program, trainset, valset, metric, config, lm, reflection_lm):  # type: ignore[no-untyped-def]
    budget: dict[str, Any] = {"auto": config.auto} if config.trials is None else {
        "auto": None, "num_candidates": config.num_candidates}
    optimizer = dspy.MIPROv2(
        metric=metric,
        prompt_model=reflection_lm or lm,
        task_model=lm,
        max_bootstrapped_demos=config.max_demos,
        max_labeled_demos=0,
        num_threads=config.num_threads,
        max_errors=config.max_errors,
        seed=config.seed,
        metric_threshold=config.metric_threshold,
        verbose=False,
        **budget,
    )
    if len(trainset) < 2 and not valset:
        raise UgstError("the mipro optimizer needs at least 2 train examples, or a validation set")
    val_size = len(valset) if valset else max(1, int(len(trainset) * 0.8))
    minibatch_size = min(35, val_size)
    return optimizer.compile(
        program,
        trainset=trainset,
        valset=valset or None,
        num_trials=config.trials,
        seed=config.seed,
        minibatch=val_size > minibatch_size,
        minibatch_size=minibatch_size,
    )


def _gepa(program, trainset, valset, metric, config, lm, reflection_lm):  # type: ignore[no-untyped-def]
    budget: dict[str, Any] = {"auto": config.auto} if config.trials is None else {"max_full_evals": config.trials}
    optimizer = dspy.GEPA(
        metric=metric,
        reflection_lm=reflection_lm,
        reflection_minibatch_size=config.reflection_minibatch_size,
        num_threads=config.num_threads,
        seed=config.seed,
        failure_score=0.0,
        perfect_score=1.0,
        **budget,
    )
    return optimizer.compile(program, trainset=trainset, valset=valset or None)


def score_program(
    program: dspy.Module,
    examples: Sequence[dspy.Example],
    metric: Metric,
    *,
    lm: Any = None,
    adapter: Any = None,
    progress: Progress | None = None,
) -> ProgramScore:
    """The program's mean metric over ``examples``, one at a time; a call that fails scores 0 and is counted."""
    scores: list[float] = []
    failed = 0
    if progress is not None:
        progress.start(len(examples), 0)
    with _lm_context(lm, adapter):
        for number, example in enumerate(examples, start=1):
            key = f"{example.get('conversation_id', 'example')}@{example.get('turn', number)}"
            started = time.perf_counter()
            try:
                value = metric(example, program(**example.inputs()))
                ok, note = True, ""
            except Exception as err:  # one bad call must not end the scoring
                value, ok, note = 0.0, False, " ".join(f"{type(err).__name__}: {err}".split())[:200]
                failed += 1
            scores.append(float(getattr(value, "score", value)))
            if progress is not None:
                progress.advance(key, ok, time.perf_counter() - started, note)
    if progress is not None:
        progress.finish()
    return ProgramScore(mean=sum(scores) / len(scores) if scores else 0.0, examples=len(scores), failed=failed)


def record_optimization(path: str | Path, details: dict[str, Any]) -> Path:
    """Add ``details`` (optimiser, data, scores) to a saved program's ``ugst`` entry as ``optimization``."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data.setdefault("ugst", {})["optimization"] = details
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
