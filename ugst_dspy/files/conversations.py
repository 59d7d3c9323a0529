"""Conversation files: read them (validated, with file/line/field errors) and append to them resumably."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ugst_dspy.conversation import Conversation
from ugst_dspy.files.jsonl import JsonlAppender, read_jsonl


def conversation_key(record: dict[str, Any]) -> str:
    """The resume key of a conversation record: its ``id``, else its ``goal_id``."""
    return str(record.get("id") or record["goal_id"])


def iter_conversations(path: str | Path) -> Iterator[Conversation]:
    """Conversations of a JSON Lines file, one at a time; duplicate ids are refused."""
    for _, conversation in read_jsonl(path, "conversation", Conversation.from_json, unique=("id", _key)):
        yield conversation


def _key(conversation: Conversation) -> str:
    return conversation.key


def read_conversations(path: str | Path) -> list[Conversation]:
    return list(iter_conversations(path))


class ConversationWriter(JsonlAppender):
    """Append-only, resumable writer of conversation records (``done`` holds the ids already written)."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        super().__init__(path, "conversation", conversation_key, fsync=fsync)

    def write_conversation(self, conversation: Conversation) -> None:
        self.write(conversation.to_json())
