"""One writer per output file: an OS file lock on ``OUT.lock``, naming the process that holds it.

The lock is ``flock`` on a side file, so it is released by the kernel when its holder dies (``kill -9``
included) and never goes stale; the file keeps the holder's pid and command line only to say who it is.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from ugst_dspy.errors import UgstError


def lock_path(path: str | Path) -> Path:
    """The lock file of an output file: ``OUT.lock`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".lock")


class OutputLock:
    """An exclusive, non-blocking lock on an output file; a second holder is refused with one line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.file = lock_path(self.path)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                raise UgstError(
                    f"{self.path} is being written by another run ({holder}); wait for it to finish or use another --out"
                ) from None
            # The holder before us may have removed the file after we opened it: then lock the new one.
            try:
                same = os.fstat(fd).st_ino == os.stat(self.file).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {' '.join(sys.argv)}\n".encode("utf-8", "replace"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.file)
        except FileNotFoundError:  # pragma: no cover - removed by hand
            pass
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
    except OSError:  # pragma: no cover
        text = ""
    if not text:
        return "a process that has not said who it is yet"
    pid, _, command = text.partition(" ")
    return f"pid {pid}: {command}" if command else f"pid {pid}"
