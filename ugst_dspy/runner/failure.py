"""What a failed item says about itself: the error, and where it happened (role and turn)."""

from __future__ import annotations

from typing import Any

from ugst_dspy.files.failures import error_text

ERROR_CHARS = 2000  # an error message longer than this is cut, and says so


def error_info(err: BaseException, role: str | None = None, turn: int | None = None) -> dict[str, Any]:
    """``{"type", "message", "role", "turn"}`` of an exception, the message on one line."""
    message = " ".join(str(err).split())
    if len(message) > ERROR_CHARS:
        message = message[:ERROR_CHARS] + f" ... [{len(message) - ERROR_CHARS} more characters cut]"
    return {"type": type(err).__name__, "message": message, "role": role, "turn": turn}


class ItemFailed(Exception):
    """An item failed after its retries: carries the error (with role and turn) and what it had done."""

    def __init__(self, error: dict[str, Any], record: dict[str, Any] | None = None) -> None:
        super().__init__(error_text(error))
        self.error = error
        self.record = record
