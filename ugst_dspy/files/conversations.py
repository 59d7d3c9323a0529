"""Conversation files: read them (validated, with file/line/field errors) and append to them resumably.

Every command that reads conversations for a result (evaluate, report, sft, grpo, optimize) goes through
:func:`load_conversations`, so all of them see the same thing: one result per id and file, failed
conversations (``OUT.failed``, and ``ended_by: error`` records of older files) counted apart, never as results.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.errors import UgstError
from ugst_dspy.files.appender import JsonlAppender
from ugst_dspy.files.failures import Failure, failures_path, read_failures
from ugst_dspy.files.jsonl import RecordError, read_jsonl
from ugst_dspy.run_meta import RunMeta


def conversation_key(record: dict[str, Any]) -> str:
    """The resume key of a conversation record: its ``id``, else its ``goal_id``."""
    return str(record.get("id") or record["goal_id"])


def conversation_failure(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The error of a record that stands for a failed conversation (``ended_by: error``), else ``None``."""
    if record.get("ended_by") != "error":
        return None
    meta = record.get("meta")
    return RunMeta.model_validate(meta if isinstance(meta, Mapping) else {}).failure_details()


def iter_conversations(path: str | Path) -> Iterator[Conversation]:
    """Every conversation record of a JSON Lines file, one at a time, as written; duplicate ids are refused.

    This is the raw file: use :func:`load_conversations` for results (failures apart)."""
    for _, conversation in read_jsonl(path, None, Conversation.from_json, unique=("id", _key)):
        yield conversation


def _key(conversation: Conversation) -> str:
    return conversation.key


def read_conversations(path: str | Path) -> list[Conversation]:
    """The results of one conversation file (failed conversations left out; see :func:`load_conversations`)."""
    return load_conversations([path]).conversations


@dataclass
class ConversationSet:
    """The results of some conversation files, and the conversations that failed (counted apart)."""

    conversations: list[Conversation] = field(default_factory=list)
    failures: dict[Path, list[Failure]] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(len(items) for items in self.failures.values())

    def failure_note(self) -> str:
        """One line on what was left out, or ``""``: ``2 failed conversations left out (see a.jsonl.failed)``."""
        if not self.failed:
            return ""
        where = ", ".join(str(failures_path(path)) for path, items in self.failures.items() if items)
        return f"{self.failed} failed conversation{'s' if self.failed != 1 else ''} left out (see {where}; rerun to retry)"


def load_conversations(
    paths: Sequence[str | Path],
    *,
    allow_empty: bool = False,
    tag: Callable[[Conversation, Path], None] | None = None,
) -> ConversationSet:
    """The results of conversation files, each file once, with their failures apart.

    In a file, a record that stands for a failure is superseded by a later record of the same id (a rerun
    that retried it); two results for one id are refused. The same file given twice is refused, and so is
    a file with neither results nor failures ("no records in FILE") unless ``allow_empty``. ``tag`` may
    annotate each conversation with its file (e.g. ``meta.file``).
    """
    _refuse_repeats(paths)
    loaded = ConversationSet()
    for raw in paths:
        path = Path(raw)
        results: dict[str, Conversation] = {}
        failed: dict[str, Failure] = {}
        seen_lines: dict[str, int] = {}
        for number, conversation in read_jsonl(path, None, Conversation.from_json):
            key = conversation.key
            error = conversation.failure
            if key in results:
                raise RecordError(path, number, "id", f"duplicate id {key!r} (line {seen_lines[key]} has a result for it)")
            seen_lines[key] = number
            if error is not None:
                failed[key] = Failure(id=key, kind="conversation", error=error, record=conversation.to_json())
                continue
            failed.pop(key, None)
            results[key] = conversation
        for key, failure in read_failures(path, resolved=results).items():
            failed[key] = failure
        if not results and not failed and not allow_empty:
            raise UgstError(f"no records in {path}")
        for conversation in results.values():
            if tag is not None:
                tag(conversation, path)
            loaded.conversations.append(conversation)
        loaded.failures[path] = list(failed.values())
    return loaded


def _refuse_repeats(paths: Iterable[str | Path]) -> None:
    seen: list[Path] = []
    for raw in paths:
        path = Path(raw)
        for earlier in seen:
            if path.exists() and earlier.exists() and os.path.samefile(path, earlier):
                raise UgstError(f"{path} is given twice (as {earlier}): each file is read once")
        seen.append(path)


class ConversationWriter(JsonlAppender):
    """Append-only, resumable writer of conversation results (``done`` holds the ids already written).

    ``settings`` (with ``settings_of``, the same function applied to each record already in the file) refuses
    to add to a file made with other settings unless ``mix``; ``inputs`` are refused as the output.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fsync: bool = True,
        inputs: Iterable[str | Path] = (),
        settings: Mapping[str, Any] | None = None,
        settings_of: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
        mix: bool = False,
    ) -> None:
        super().__init__(path, "conversation", conversation_key, fsync=fsync, inputs=inputs, settings=settings,
                         settings_of=settings_of, mix=mix, failed=conversation_failure)

    def write_conversation(self, conversation: Conversation) -> None:
        self.write(conversation.to_json())
