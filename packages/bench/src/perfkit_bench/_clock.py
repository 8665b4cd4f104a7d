"""The harness's clock: what a time workload reads with :func:`timer`, and how the harness checks
and records those readings.

A time benchmark declares the clock its work is measured on (``@benchmark(..., clock=...)``):

- ``"thread"``: ``time.thread_time``, CPU time of the measuring thread. For work done in that
  thread (sync mode, asyncio mode): a busy process on the same CPU doubles wall time here but moves
  this clock by under 5 %, because the time the scheduler gives the neighbour is not counted.
- ``"process"``: ``time.process_time``, CPU time of every thread of the process. For work that runs
  on other threads of the measuring process (threads mode).
- ``"wall"``: ``time.perf_counter``. For benchmarks that wait (sleeps, I/O, SQLite, cross-thread
  blocking asks, offered load, other processes): a CPU clock would not see the waiting, which is
  part of what they measure. The default, so a suite that declares nothing is timed as before.

A workload reads the clock through :func:`timer` (``t0 = timer(); ...; return timer() - t0``);
the harness decides what :func:`timer` reads while the workload runs (:func:`reading`). Outside
the harness it is ``perf_counter``, so a workload stays a plain function that perfkit-profile or a
test can call.

:class:`Readings` is what the harness installs: it counts the readings, checks that they came in
start/stop pairs that add up to the time the workload returned (so a workload that declares a CPU
clock but times itself some other way is an error, not a silent wall-clock measurement), and can
read a second clock at the same moments: ``perfkit-bench run`` records wall time (pyperf's value)
and the declared CPU clock from the same loop.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Literal, TypeAlias

__all__ = [
    "CLOCKS",
    "CLOCK_FUNCTIONS",
    "CLOCK_METADATA",
    "Clock",
    "Readings",
    "burn",
    "reading",
    "timer",
]

Clock: TypeAlias = Literal["thread", "process", "wall"]
CLOCKS: tuple[Clock, ...] = ("thread", "process", "wall")
CLOCK_FUNCTIONS: Mapping[Clock, Callable[[], float]] = {
    "thread": time.thread_time,
    "process": time.process_time,
    "wall": time.perf_counter,
}
# What the result files record in ``perfkit_clock``: the name of the function in ``time``.
CLOCK_METADATA: Mapping[Clock, str] = {
    "thread": "thread_time",
    "process": "process_time",
    "wall": "perf_counter",
}

_now: Callable[[], float] = time.perf_counter


def timer() -> float:
    """Seconds on the clock the harness measures the running benchmark with (``perf_counter``
    outside the harness). Only differences between two readings mean anything."""
    return _now()


@contextlib.contextmanager
def reading(clock: Callable[[], float]) -> Iterator[None]:
    """Within the block :func:`timer` reads ``clock``."""
    global _now
    previous = _now
    _now = clock
    try:
        yield
    finally:
        _now = previous


class Readings:
    """The readings one call of a workload takes through :func:`timer`.

    Each reading reads ``primary`` (what :func:`timer` returns) and, when given, ``secondary`` at
    the same moment. Readings come in start/stop pairs; ``primary_total`` and
    ``secondary_total`` sum the pairs' intervals. The secondary clock is read outside the
    primary interval (before a start, after a stop), so the primary value is not slowed by it.
    """

    __slots__ = (
        "_primary_start",
        "_secondary_start",
        "count",
        "primary",
        "primary_total",
        "secondary",
        "secondary_total",
    )

    def __init__(
        self, primary: Callable[[], float], secondary: Callable[[], float] | None = None
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self.count = 0
        self.primary_total = 0.0
        self.secondary_total = 0.0
        self._primary_start = 0.0
        self._secondary_start = 0.0

    def __call__(self) -> float:
        self.count += 1
        if self.count % 2:  # a start
            if self.secondary is not None:
                self._secondary_start = self.secondary()
            now = self._primary_start = self.primary()
            return now
        now = self.primary()
        if self.secondary is not None:
            self.secondary_total += self.secondary() - self._secondary_start
        self.primary_total += now - self._primary_start
        return now

    def problem(self, returned: float) -> str | None:
        """Why the readings do not account for ``returned`` (the seconds the workload
        reported), or None when they do: at least one start/stop pair, and the pairs add up to
        it (to float rounding)."""
        if self.count == 0:
            return "it never read perfkit_bench.timer()"
        if self.count % 2:
            return f"it read perfkit_bench.timer() {self.count} times, not in start/stop pairs"
        if not math.isclose(self.primary_total, returned, rel_tol=1e-6, abs_tol=1e-9):
            return (
                f"its timer() readings add up to {self.primary_total!r} s, not the "
                f"{returned!r} s it returned"
            )
        return None


def burn(seconds: float, clock: Callable[[], float]) -> float:
    """Busy-wait until ``clock`` has advanced ``seconds``; the seconds it did advance. A spin,
    not a sleep: on a CPU clock only running counts, so the wait is ``seconds`` of CPU time
    whatever else shares the CPU; on ``perf_counter`` it is wall time."""
    start = clock()
    end = start + seconds
    now = start
    while now < end:
        now = clock()
    return now - start
