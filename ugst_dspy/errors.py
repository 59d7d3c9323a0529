"""The one exception type for bad input, and the one line every command prints for an error."""


class UgstError(Exception):
    """Bad input (a file, a record, a flag or a model spec). ``str(err)`` is a complete one-line reason."""


def one_line(err: BaseException | str) -> str:
    """An error's reason on one line: an OS error as ``FILE: reason``, any whitespace run as one space."""
    if isinstance(err, OSError) and err.filename:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err)
    return " ".join(text.split())


def error_line(err: BaseException | str, hint: str = "") -> str:
    """What a command prints for an error: ``ugst: error: REASON`` (with ``hint`` after it)."""
    return f"ugst: error: {one_line(err)}{hint}"
