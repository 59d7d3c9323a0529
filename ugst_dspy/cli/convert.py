"""``ugst convert``: τ-bench trajectories -> conversation records, or conversation records -> the paper's
goal-state visualizer (``--to ugst-visualizer``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from ugst_dspy.errors import UgstError
from ugst_dspy.files.conversations import ConversationWriter
from ugst_dspy.files.tau_trajectories import read_trajectories

TARGETS = ("conversations", "ugst-visualizer")


def convert(
    source: Path = typer.Argument(..., help="A τ-bench trajectory file (JSON list or JSON Lines); with --to ugst-visualizer, a conversation file."),
    out: Path = typer.Option(..., "--out", "-o", help="Conversation file to append to (JSON Lines); with --to ugst-visualizer, a folder for one JSON file per conversation."),
    to: str = typer.Option("conversations", "--to", help=f"What to write: {' or '.join(TARGETS)} (the paper's goal-state viewer: user_prompt, conversation, user_goal_states)."),
    goal_prefix: str = typer.Option(
        "", help="Prefix that turns a task_id into a goal id, e.g. 'retail-test-' to match the τ-bench task files."
    ),
) -> None:
    """Convert τ-bench trajectories into conversation records (untracked; run `ugst track` on them next), or
    tracked conversation records into the paper's goal-state visualizer JSON (one file per conversation).

    Conversation output is append-only: a rerun skips the conversations already in OUT. A visualizer file that
    exists with other content is refused, never overwritten.
    """
    if to not in TARGETS:
        raise UgstError(f"unknown --to {to!r} (use {' or '.join(TARGETS)})")
    if to == "ugst-visualizer":
        _visualizer(source, out)
        return
    conversations = read_trajectories(source, goal_prefix)
    written = skipped = 0
    with ConversationWriter(out, inputs=[source]) as writer:
        for conversation in conversations:
            if conversation.key in writer.done:
                skipped += 1
                continue
            writer.write_conversation(conversation)
            written += 1
    typer.echo(f"{out}: wrote {written} conversations" + (f", skipped {skipped} already there" if skipped else ""), err=True)


def _visualizer(source: Path, out: Path) -> None:
    from ugst_dspy.files.atomic import write_text_atomic
    from ugst_dspy.files.conversations import load_conversations
    from ugst_dspy.files.visualizer import to_visualizer

    if out.exists() and not out.is_dir():
        raise UgstError(f"{out}: --to ugst-visualizer writes a folder, and this is a file")
    loaded = load_conversations([source])
    documents = {}
    for conversation in loaded.conversations:
        name = re.sub(r"[^\w.-]+", "_", conversation.key) + ".json"
        if name in documents:
            raise UgstError(f"{source}: conversations {conversation.key!r} and another map to the same file {name}")
        documents[name] = json.dumps(to_visualizer(conversation), indent=2, ensure_ascii=False) + "\n"
    for name, text in documents.items():  # every refusal before the first write
        target = out / name
        if target.exists() and target.read_text(encoding="utf-8") != text:
            raise UgstError(f"{target}: exists with other content; choose another --out folder")
    for name, text in documents.items():
        write_text_atomic(out / name, text)
    note = f" ({loaded.failure_note()})" if loaded.failed else ""
    typer.echo(f"{out}: wrote {len(documents)} visualizer files{note}", err=True)
