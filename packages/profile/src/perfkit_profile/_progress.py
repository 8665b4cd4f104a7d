"""Progress on stderr: a rich display on a terminal, plain lines in CI logs, or nothing.

stdout is kept for the result (the capture folder, the diff table, the leak report), so scripts
can capture it. Steps may run concurrently (memray's reports are built in parallel), so both
displays are safe to use from several threads.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress as RichBar
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

__all__ = ["Progress", "Step", "make_progress"]


class Step:
    """One step being shown; :meth:`fail` marks it failed without raising."""

    def __init__(self) -> None:
        self.error: str | None = None

    def fail(self, message: str) -> None:
        self.error = message


class Progress:
    """The quiet display; the base of the other two."""

    @contextmanager
    def step(self, label: str) -> Iterator[Step]:
        step = Step()
        started = time.monotonic()
        self._begin(label)
        try:
            yield step
        except BaseException as exc:
            self._end(label, time.monotonic() - started, str(exc) or type(exc).__name__)
            raise
        self._end(label, time.monotonic() - started, step.error)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin(self, label: str) -> None:
        pass

    def _end(self, label: str, elapsed: float, error: str | None) -> None:
        pass

    def close(self) -> None:
        pass


def make_progress(*, quiet: bool = False, stream: TextIO | None = None) -> Progress:
    """The display that fits ``stream`` (default stderr)."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return Progress()
    if stream.isatty():
        return _RichProgress(stream)
    return _PlainProgress(stream)


class _PlainProgress(Progress):
    """One line when a step starts and one when it ends: readable in a CI log."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def _write(self, text: str) -> None:
        with self._lock:
            print(f"perfkit-profile: {text}", file=self._stream, flush=True)

    def _begin(self, label: str) -> None:
        self._write(f"{label} ...")

    def _end(self, label: str, elapsed: float, error: str | None) -> None:
        outcome = f"FAILED: {error}" if error else "done"
        self._write(f"{label}: {outcome} ({elapsed:.1f} s)")


class _RichProgress(Progress):
    """A spinner and a clock per running step; finished steps stay listed with ✓ or ✗."""

    def __init__(self, stream: TextIO) -> None:
        self._bar = RichBar(
            SpinnerColumn(finished_text=""),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._bar.start()

    def _begin(self, label: str) -> None:
        self._tasks[label] = self._bar.add_task(escape(label), total=1)

    def _end(self, label: str, elapsed: float, error: str | None) -> None:
        mark = (
            f"[red]✗[/] {escape(label)}: {escape(error)}"
            if error
            else f"[green]✓[/] {escape(label)}"
        )
        self._bar.update(self._tasks[label], description=mark, completed=1)

    def close(self) -> None:
        self._bar.stop()
