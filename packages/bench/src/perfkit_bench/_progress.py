"""Progress of a run on stderr: a rich display on a terminal, plain lines in CI logs, or nothing.

stdout is kept for the result (the path of the file written), so scripts can capture it.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichBar

__all__ = ["PlainProgress", "Progress", "QuietProgress", "RichProgress", "make_progress"]


class Progress(Protocol):
    def start(self, total: int, unit: str = "benchmark") -> None: ...
    def begin(self, index: int, bench_id: str) -> None: ...
    def finish(self, bench_id: str, elapsed: float, error: str | None) -> None: ...
    def close(self) -> None: ...


def make_progress(*, quiet: bool = False, stream: TextIO | None = None) -> Progress:
    """The display that fits ``stream`` (default stderr)."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return QuietProgress()
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream)


class QuietProgress:
    """``--quiet``: nothing while running; failures are still reported at the end."""

    def start(self, total: int, unit: str = "benchmark") -> None:
        pass

    def begin(self, index: int, bench_id: str) -> None:
        pass

    def finish(self, bench_id: str, elapsed: float, error: str | None) -> None:
        pass

    def close(self) -> None:
        pass


class _Estimate:
    """Remaining time as the mean duration of the benchmarks done so far times those left:
    crude (a load test and a micro-benchmark differ), but honest about being an estimate."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.spent = 0.0
        self.started = time.monotonic()

    def add(self, elapsed: float) -> None:
        self.done += 1
        self.spent += elapsed

    def remaining(self) -> float | None:
        if not self.done:
            return None
        return self.spent / self.done * (self.total - self.done)


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes} min {seconds:02d} s"


class PlainProgress:
    """One line per event, for logs: ``[2/5] suite.bench ok in 3.1 s (about 9.3 s left)``."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._estimate = _Estimate()
        self._index = 0

    def start(self, total: int, unit: str = "benchmark") -> None:
        # unit: what one step is (``ab`` steps through pairs, not benchmarks).
        self._estimate.total = total
        self._print(f"running {total} {unit}{'s' if total != 1 else ''}")

    def begin(self, index: int, bench_id: str) -> None:
        self._index = index
        self._print(f"[{index + 1}/{self._estimate.total}] {bench_id} ...")

    def finish(self, bench_id: str, elapsed: float, error: str | None) -> None:
        self._estimate.add(elapsed)
        status = "ok" if error is None else f"FAILED ({error})"
        position = f"[{self._index + 1}/{self._estimate.total}]"
        line = f"{position} {bench_id} {status} in {_seconds(elapsed)}"
        remaining = self._estimate.remaining()
        if remaining and self._estimate.done < self._estimate.total:
            line += f" (about {_seconds(remaining)} left)"
        self._print(line)

    def close(self) -> None:
        total = time.monotonic() - self._estimate.started
        self._print(f"done in {_seconds(total)}")

    def _print(self, line: str) -> None:
        print(line, file=self._stream, flush=True)


class RichProgress:
    """A live bar: benchmark i of N, the current id, elapsed time and an estimate of the rest."""

    def __init__(self, stream: TextIO) -> None:
        self._console = Console(file=stream)
        self._estimate = _Estimate()
        self._bar = RichBar(
            TextColumn("[bold]bench[/]"),
            MofNCompleteColumn(),
            BarColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            TextColumn("{task.description}"),
            console=self._console,
            transient=False,
        )
        self._task = self._bar.add_task("", total=None, eta="")

    def start(self, total: int, unit: str = "benchmark") -> None:
        self._estimate.total = total
        self._bar.update(self._task, total=total)
        self._bar.start()

    def begin(self, index: int, bench_id: str) -> None:
        self._bar.update(self._task, description=escape(bench_id))

    def finish(self, bench_id: str, elapsed: float, error: str | None) -> None:
        self._estimate.add(elapsed)
        if error is not None:
            self._console.print(
                f"[red]FAILED[/] {escape(bench_id)}: {escape(error)}", highlight=False
            )
        remaining = self._estimate.remaining()
        eta = f"~{_seconds(remaining)} left" if remaining else ""
        self._bar.update(self._task, advance=1, eta=eta)

    def close(self) -> None:
        self._bar.update(self._task, description="done", eta="")
        self._bar.stop()
