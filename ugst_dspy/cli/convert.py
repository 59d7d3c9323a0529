"""``ugst convert``: τ-bench trajectories (OpenAI-style message lists) -> conversation records."""

from __future__ import annotations

from pathlib import Path

import typer

from ugst_dspy.files.conversations import ConversationWriter
from ugst_dspy.files.tau_trajectories import read_trajectories


def convert(
    trajectories: Path = typer.Argument(..., help="A τ-bench trajectory file (JSON list or JSON Lines)."),
    out: Path = typer.Option(..., "--out", "-o", help="Conversation file to append to (JSON Lines)."),
    goal_prefix: str = typer.Option(
        "", help="Prefix that turns a task_id into a goal id, e.g. 'retail-test-' to match the τ-bench task files."
    ),
) -> None:
    """Convert τ-bench trajectories into conversation records (untracked; run `ugst track` on them next).

    The output is append-only: a rerun skips the conversations already in OUT.
    """
    conversations = read_trajectories(trajectories, goal_prefix)
    written = skipped = 0
    with ConversationWriter(out, inputs=[trajectories]) as writer:
        for conversation in conversations:
            if conversation.key in writer.done:
                skipped += 1
                continue
            writer.write_conversation(conversation)
            written += 1
    typer.echo(f"{out}: wrote {written} conversations" + (f", skipped {skipped} already there" if skipped else ""), err=True)
