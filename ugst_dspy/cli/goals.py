"""``ugst goals``: generate user goals with their gold decompositions (``ugst goals multiwoz``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ugst_dspy.errors import UgstError

goals_app = typer.Typer(help="Generate user goals, each with its gold decomposition.", no_args_is_help=True)


@goals_app.callback()
def _goals() -> None:
    """Generate user goals, each with its gold decomposition."""


def gold_path_for(out: Path) -> Path:
    """The default gold file beside ``out``: ``goals.jsonl`` -> ``goals.gold.jsonl``."""
    stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return out.with_name(f"{stem}.gold.jsonl")


@goals_app.command("multiwoz")
def multiwoz(
    out: Annotated[Path, typer.Option("--out", "-o", help="Goal file to write (JSON Lines, replaced).")],
    n: Annotated[int, typer.Option("--n", "-n", min=1, help="Number of goals.")] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed gives the same goals.")] = 0,
    split: Annotated[str, typer.Option("--split", help="eval (ids mwc-SEED-N) or train (mwc-train-SEED-N): separate random streams, so training goals are never evaluation goals.")] = "eval",
    gold: Annotated[
        Optional[Path], typer.Option("--gold", help="Gold decomposition file (default: OUT with .gold.jsonl).")
    ] = None,
    data_dir: Annotated[
        Optional[Path],
        typer.Option("--data-dir", help="Folder holding multiwoz/db/ (default: $UGST_DATA_DIR, else the copy installed with the package)."),
    ] = None,
    phrase_model: Annotated[
        Optional[str],
        typer.Option("--phrase-model", help="Model spec of an LM that rewords each template sentence (default: none, templates)."),
    ] = None,
) -> None:
    """MultiWOZ Challenge goals sampled from the MultiWOZ databases (impossible and conditional objectives
    included), and their gold goal states."""
    from ugst_dspy.envs.multiwoz_goals import generate_multiwoz_goals, write_generated_goals

    gold = gold if gold is not None else gold_path_for(out)
    if gold.resolve() == out.resolve():
        raise UgstError(f"--gold must differ from --out ({out})")
    phrase = None
    if phrase_model:
        import dspy

        from ugst_dspy.config import UGSTConfig
        from ugst_dspy.engines.spec import ModelPool, configure_adapter
        from ugst_dspy.modules.phrasing import PhraseSentence

        config = UGSTConfig.resolve(None, {"simulator": phrase_model}, seed=seed)
        phraser = PhraseSentence()
        phraser.set_lm(ModelPool(config).lm("simulator"))
        adapter = configure_adapter(config)

        def phrase(text: str) -> str:
            with dspy.context(adapter=adapter):
                return phraser.phrase(text)

    goals = generate_multiwoz_goals(n, seed, data_dir=data_dir, phrase=phrase, split=split)
    write_generated_goals(goals, out, gold)
    impossible = sum(1 for g in goals if g.impossible)
    conditional = sum(1 for g in goals if g.conditional)
    typer.echo(f"{out}: {len(goals)} {split} goals ({impossible} with an impossible objective, {conditional} with a "
               f"conditional one); gold decompositions in {gold}", err=True)
