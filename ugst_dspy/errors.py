"""The one exception type for bad input: the command line prints its message as a one-line reason."""


class UgstError(Exception):
    """Bad input (a file, a record, a flag or a model spec). ``str(err)`` is a complete one-line reason."""
