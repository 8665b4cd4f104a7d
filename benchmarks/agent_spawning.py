"""agent_spawning: what it costs to create agents, alone, ten at a time, by the thousand, pooled.

Each time benchmark returns the elapsed seconds of ``loops`` repetitions (pyperf's
bench_time_func convention) and declares ``inner_loops`` so values are per agent (or per batch).
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from _common import CPU_CHANNELS, AsyncEcho, Idle, run_async, traced_bytes

from perfkit_bench import benchmark, timer
from perfkit_runtime import Agent, Runtime

MODES = ["sync", "threads", "asyncio"]


# ------------------------------------------------------------------ single spawn


# Spawns go into a runtime of at most 1000 agents, then a fresh one: the cost of one spawn at a
# moderate population. How the cost grows with the population is what scaling.* shows.
POPULATION = 1000


def _spawn_loop(mode: str, loops: int) -> tuple[float, list[Runtime]]:
    """Spawn ``loops`` agents, a fresh runtime every POPULATION; returns the asyncio runtimes
    still to be closed."""
    elapsed = 0.0
    runtimes: list[Runtime] = []
    done = 0
    while done < loops:
        rt = Runtime(mode)
        runtimes.append(rt)
        spawn = rt.spawn
        n = min(POPULATION, loops - done)
        t0 = timer()
        for _ in range(n):
            spawn(Idle)
        elapsed += timer() - t0
        done += n
        if mode != "asyncio":  # asyncio runtimes close with aclose(), in the caller's loop
            rt.close()
            runtimes.pop()
    return elapsed, runtimes


# Two declarations of one grid: only sync mode gets the instructions channel (CPU_CHANNELS).
@benchmark(
    "agent_spawning.spawn.{mode}",
    target="spawning",
    params_grid={"mode": [m for m in MODES if m != "sync"]},
    clock="thread",
)
@benchmark(
    "agent_spawning.spawn.{mode}",
    target="spawning",
    params_grid={"mode": ["sync"]},
    channels=CPU_CHANNELS,
    clock="thread",
)
def spawn(loops: int, *, mode: str) -> float:
    """Spawn one idle agent into a runtime holding up to 1000 (construction and registration)."""
    if mode == "asyncio":

        async def main() -> float:
            elapsed, runtimes = _spawn_loop(mode, loops)
            for rt in runtimes:
                await rt.aclose()
            return elapsed

        return run_async(main())
    return _spawn_loop(mode, loops)[0]


# ------------------------------------------------------------------ ten in parallel


# Two declarations of one grid: threads mode waits for worker threads to answer ten blocking asks
# (wall clock); sync and asyncio do the work in the measuring thread.
@benchmark(
    "agent_spawning.parallel10.{mode}",
    target="spawning",
    params_grid={"mode": ["threads"]},
    params={"agents": 10},
    clock="wall",
)
@benchmark(
    "agent_spawning.parallel10.{mode}",
    target="spawning",
    params_grid={"mode": ["sync", "asyncio"]},
    params={"agents": 10},
    clock="thread",
)
def parallel10(loops: int, *, mode: str) -> float:
    """Spawn 10 agents and ask each once, until all 10 have answered (value: per batch of 10)."""
    if mode == "asyncio":

        async def main() -> float:
            async with Runtime("asyncio") as rt:
                t0 = timer()
                for _ in range(loops):
                    refs = rt.spawn_many(Idle, 10)
                    await asyncio.gather(*(r.ask(i) for i, r in enumerate(refs)))
                return timer() - t0

        return run_async(main())
    with Runtime(mode) as rt:
        t0 = timer()
        for _ in range(loops):
            refs = rt.spawn_many(Idle, 10)
            for i, r in enumerate(refs):
                r.ask(i, timeout=10)
        return timer() - t0


@benchmark(
    "agent_spawning.parallel10.asyncio_coroutines",
    target="spawning",
    params={"agents": 10},
    clock="thread",
)
def parallel10_coroutines(loops: int) -> float:
    """As parallel10.asyncio, with ``async def`` handlers (each agent with mail runs as a task)."""

    async def main() -> float:
        async with Runtime("asyncio") as rt:
            t0 = timer()
            for _ in range(loops):
                refs = rt.spawn_many(AsyncEcho, 10)
                await asyncio.gather(*(r.ask(i) for i, r in enumerate(refs)))
            return timer() - t0

    return run_async(main())


# ------------------------------------------------------------------ scaling


def _spawn_n(loops: int, n: int) -> float:
    elapsed = 0.0
    for _ in range(loops):
        with Runtime("sync") as rt:
            spawn = rt.spawn
            t0 = timer()
            for _ in range(n):
                spawn(Idle)
            elapsed += timer() - t0
    return elapsed


# One declaration per size, because inner_loops (the divisor that makes values per agent) is the
# size itself. Flat values across sizes mean spawning scales linearly.


@benchmark(
    "agent_spawning.scaling.n1", target="spawning", inner_loops=1, params={"n": 1}, clock="thread"
)
def scaling_n1(loops: int) -> float:
    """Cost per agent when spawning 1 agent into a fresh runtime."""
    return _spawn_n(loops, 1)


@benchmark(
    "agent_spawning.scaling.n10",
    target="spawning",
    inner_loops=10,
    params={"n": 10},
    clock="thread",
)
def scaling_n10(loops: int) -> float:
    """Cost per agent when spawning 10 agents into a fresh runtime."""
    return _spawn_n(loops, 10)


@benchmark(
    "agent_spawning.scaling.n100",
    target="spawning",
    inner_loops=100,
    params={"n": 100},
    clock="thread",
)
def scaling_n100(loops: int) -> float:
    """Cost per agent when spawning 100 agents into a fresh runtime."""
    return _spawn_n(loops, 100)


@benchmark(
    "agent_spawning.scaling.n1000",
    target="spawning",
    inner_loops=1000,
    params={"n": 1000},
    clock="thread",
)
def scaling_n1000(loops: int) -> float:
    """Cost per agent when spawning 1,000 agents into a fresh runtime."""
    return _spawn_n(loops, 1000)


@benchmark(
    "agent_spawning.scaling.n10000",
    target="spawning",
    inner_loops=10000,
    params={"n": 10000},
    clock="thread",
)
def scaling_n10000(loops: int) -> float:
    """Cost per agent when spawning 10,000 agents into a fresh runtime."""
    return _spawn_n(loops, 10000)


# ------------------------------------------------------------------ memory


def _rss_per_agent(n: int) -> float:
    """RSS growth per idle agent for ``n`` agents, in this process (asyncio mode)."""

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    async def main() -> float:
        async with Runtime("asyncio") as rt:
            rt.spawn(Idle)  # first spawn pays the one-off costs (class checks, loop binding)
            # A collection in the middle would hand freed pages back and make growth negative.
            gc.collect()
            gc.disable()
            try:
                before = rss()
                refs = [rt.spawn(Idle) for _ in range(n)]
                grown = rss() - before
            finally:
                gc.enable()
            assert len(refs) == n
            return grown / n

    return run_async(main())


@benchmark(
    "agent_spawning.memory_per_agent", target="spawning", kind="bytes", params={"agents": 10_000}
)
def memory_per_agent() -> float:
    """Resident memory (RSS) added per idle agent over 10,000 agents, in a fresh process.

    A fresh interpreter each time: in a process that already built and freed agents, the
    allocator reuses those pages and RSS hardly moves (a worker's second call measured 3 B).
    """
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return float(pool.submit(_rss_per_agent, 10_000).result(timeout=120))


@benchmark("agent_spawning.footprint", target="spawning", kind="bytes", params={"agents": 1000})
def footprint() -> float:
    """Bytes allocated per idle agent (tracemalloc: ref, agent, mailbox, registry entries)."""

    def build() -> tuple[Runtime, list[Any]]:
        rt = Runtime("sync")
        return rt, [rt.spawn(Idle) for _ in range(1000)]

    with Runtime("sync") as warm:
        warm.spawn(Idle)
    grown, (rt, _) = traced_bytes(build)
    rt.close()
    return grown / 1000


# ------------------------------------------------------------------ pooling


class Session(Agent):
    """A short-lived agent with real set-up: a 4 KB buffer and a lookup table, as a request or
    session handler would keep. Pooling pays off for agents like this; for an agent with nothing
    to build, a pool only adds its bookkeeping (the suite shows both)."""

    __slots__ = ("buffer", "seen", "table")

    def __init__(self) -> None:
        self.buffer = bytearray(4096)
        self.table = {f"k{i}": i for i in range(32)}
        self.seen = 0

    def reset(self) -> None:
        self.seen = 0

    def handle(self, msg: Any) -> Any:
        self.seen += 1
        return self.table.get(msg, msg)


@benchmark(
    "agent_spawning.cycle.unpooled",
    target="spawning",
    params={"mode": "sync"},
    channels=CPU_CHANNELS,
    clock="thread",
)
def cycle_unpooled(loops: int) -> float:
    """Spawn, ask once, stop: the life of a short-lived Session agent without a pool."""
    with Runtime("sync") as rt:
        t0 = timer()
        for i in range(loops):
            ref = rt.spawn(Session)
            ref.ask(i)
            rt.stop(ref)
        return timer() - t0


@benchmark(
    "agent_spawning.cycle.pooled",
    target="spawning",
    params={"mode": "sync"},
    reference="agent_spawning.cycle.unpooled",
    channels=CPU_CHANNELS,
    clock="thread",
)
def cycle_pooled(loops: int) -> float:
    """The same life cycle through an AgentPool (instance and mailbox reused)."""
    with Runtime("sync") as rt:
        pool = rt.pool(Session, size=16)
        t0 = timer()
        for i in range(loops):
            ref = pool.acquire()
            ref.ask(i)
            pool.release(ref)
        return timer() - t0


# ------------------------------------------------------------------ reference: pykka


@benchmark(
    "agent_spawning.reference.pykka_spawn_stop",
    target="spawning",
    params={"peer": "pykka"},
    clock="wall",
)
def pykka_spawn_stop(loops: int) -> float:
    """pykka 4.5: start an actor, ask it once, stop it (pykka runs one thread per actor)."""
    import pykka

    class Echo(pykka.ThreadingActor):  # type: ignore[misc]
        def on_receive(self, message: Any) -> Any:
            return message

    t0 = timer()
    for i in range(loops):
        ref = Echo.start()
        ref.ask(i)
        ref.stop()
    return timer() - t0


@benchmark(
    "agent_spawning.spawn_stop.threads",
    target="spawning",
    reference="agent_spawning.reference.pykka_spawn_stop",
    clock="wall",
)
def spawn_stop_threads(loops: int) -> float:
    """The runtime in threads mode doing what the pykka reference does: spawn, ask once, stop."""
    with Runtime("threads") as rt:
        t0 = timer()
        for i in range(loops):
            ref = rt.spawn(Idle)
            ref.ask(i)
            rt.stop(ref)
        elapsed = timer() - t0
    assert threading.active_count() < 100
    return elapsed
