"""Small pieces shared by the runtime suites (not a suite: the name starts with an underscore)."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from perfkit_runtime import Agent

T = TypeVar("T")

# The channels of a CPU-bound benchmark: time, and instruction counts under valgrind
# (`perfkit-bench instructions`; docs/benchmarks.md, "The instructions channel"). Only for a
# workload that runs in one thread, in sync mode, and never waits: no worker threads, no sleeping,
# no I/O or SQLite. Instruction counts cannot see a wait, a lock or a slow disk, so on any other
# workload they would measure only the part that does not matter. Not asyncio either: under an
# event loop the count varied by 270-3,400 instructions from one process to the next here (sync
# workloads repeat exactly), and the gate's instruction verdicts rest on counts that repeat.
CPU_CHANNELS = ("time", "instructions")

# Every time benchmark of these suites declares its clock (`@benchmark(..., clock=...)`;
# docs/benchmarks.md, "Clocks") and times its loop with perfkit_bench.timer(), which reads that
# clock under the harness. "thread": the work runs in the measuring thread (sync and asyncio
# modes); a busy neighbour on the CPU barely moves it. "process": the work runs on other threads
# of the process too (threads mode: tells drained by worker threads). "wall": the benchmark
# waits, and the waiting is part of what it measures (sleeping handlers, SQLite, another process,
# a blocking ask answered by another thread). benchmarks/tests/test_clocks.py checks each
# declaration against where the work really runs.


class Idle(Agent):
    """The smallest useful agent: slotted, no state, answers with what it got."""

    __slots__ = ()

    def handle(self, msg: Any) -> Any:
        return msg


class Count(Agent):
    """Counts what it handles; the drained-throughput benchmarks read the count back."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def handle(self, msg: Any) -> None:
        self.n += 1


class AsyncEcho(Agent):
    __slots__ = ()

    async def handle(self, msg: Any) -> Any:
        return msg


def run_async(coro: Awaitable[T]) -> T:
    """Run a coroutine on a fresh event loop (one per call keeps calls independent)."""
    return asyncio.run(coro)  # type: ignore[arg-type]


def traced_bytes(build: Callable[[], Any]) -> tuple[int, Any]:
    """Bytes still allocated after ``build()`` returns, measured by tracemalloc; and its result.

    The result is returned (so kept alive) while measuring, then handed back to the caller.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = build()
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, result
