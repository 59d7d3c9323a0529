"""Progress on standard error: a live bar with ETA on a terminal, one line per item otherwise."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class ProgressReporter:
    """Implements the runner's progress protocol (``start``, ``advance``, ``finish``)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.console = Console(stderr=True)
        self.live = self.console.is_terminal
        self._bar: Progress | None = None
        self._task = None
        self._done = 0
        self._total = 0
        self._started = time.perf_counter()

    def start(self, total: int, skipped: int) -> None:
        self._total, self._started = total, time.perf_counter()
        note = f" ({skipped} already done, skipped)" if skipped else ""
        print(f"ugst: {self.label}: {total} to do{note}", file=sys.stderr, flush=True)
        if self.live and total:
            self._bar = Progress(
                TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=self.console, transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=total)

    def advance(self, key: str, ok: bool, seconds: float, note: str = "") -> None:
        self._done += 1
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task)
            if not ok:
                self._bar.console.print(f"[red]failed[/red] {key}: {note}")
            return
        elapsed = time.perf_counter() - self._started
        eta = elapsed / self._done * (self._total - self._done)
        status = f"done in {seconds:.1f} s" if ok else f"FAILED: {note}"
        print(f"[{self._done}/{self._total}] {key} {status} (ETA {eta:.0f} s)", file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
