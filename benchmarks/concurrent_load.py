"""concurrent_load: the runtime under load — worker scaling, asyncio patterns, offered load
patterns (constant, burst, ramp) with latency percentiles, contention, overload, and scaling a
CPU-bound agent system across cores (processes mode, threads for contrast, Ray).

Latency is measured per message from the moment it is sent to the moment its handler starts,
with perf_counter_ns on both sides (one process, one clock).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from time import perf_counter, perf_counter_ns
from typing import Any

from _common import Count, Idle, run_async

from perfkit_bench import benchmark, timer
from perfkit_runtime import Agent, Runtime

# ------------------------------------------------------------------ thread-pool scaling


class Blocking(Agent):
    """A handler that waits on I/O for 200 µs (time.sleep releases the GIL, as I/O does)."""

    __slots__ = ()

    def handle(self, msg: Any) -> None:
        time.sleep(0.0002)


@benchmark(
    "concurrent_load.workers.w{workers}",
    target="load",
    inner_loops=256,
    params_grid={"workers": [1, 2, 4, 8]},
    clock="wall",
)
def worker_scaling(loops: int, *, workers: int) -> float:
    """256 messages spread over 32 agents whose handlers block 200 µs, by worker count."""
    with Runtime("threads", workers=workers) as rt:
        refs = rt.spawn_many(Blocking, 32)
        t0 = timer()
        for _ in range(loops):
            for i in range(256):
                refs[i % 32].tell(i)
            rt.wait_idle()
        return timer() - t0


# ------------------------------------------------------------------ asyncio patterns

FANOUT = 100


@benchmark(
    "concurrent_load.async.{pattern}",
    target="load",
    inner_loops=FANOUT,
    params_grid={"pattern": ["gather", "taskgroup", "semaphore"]},
    clock="thread",
)
def async_patterns(loops: int, *, pattern: str) -> float:
    """Ask 100 agents at once with asyncio.gather, a TaskGroup, or gather under Semaphore(10)."""

    async def main() -> float:
        async with Runtime("asyncio") as rt:
            refs = rt.spawn_many(Idle, FANOUT)
            sem = asyncio.Semaphore(10)

            async def bounded(ref: Any, i: int) -> Any:
                async with sem:
                    return await ref.ask(i)

            t0 = timer()
            for _ in range(loops):
                if pattern == "gather":
                    await asyncio.gather(*(r.ask(i) for i, r in enumerate(refs)))
                elif pattern == "taskgroup":
                    async with asyncio.TaskGroup() as tg:
                        for i, r in enumerate(refs):
                            tg.create_task(r.ask(i))
                else:
                    await asyncio.gather(*(bounded(r, i) for i, r in enumerate(refs)))
            return timer() - t0

    return run_async(main())


# ------------------------------------------------------------------ load patterns

RATE = 20_000  # offered messages per second: a fifth of what threads mode drains, so a healthy
DURATION = 0.5  # runtime keeps up and the percentiles show queueing, not saturation


class Stamp(Agent):
    """Records the delay between a message's send stamp and the start of its handling."""

    __slots__ = ("delays", "last")

    def __init__(self) -> None:
        self.delays: list[int] = []
        self.last = 0

    def handle(self, sent_ns: int) -> None:
        now = perf_counter_ns()
        self.delays.append(now - sent_ns)
        self.last = now
        sum(range(20))  # ~1 µs of work


def _offered(pattern: str, t: float) -> float:
    """Messages that should have been offered by ``t`` seconds into the run."""
    if pattern == "constant":
        return RATE * t
    if pattern == "burst":
        # 10 ms at 5x the rate, then 40 ms silent: the same mean rate, delivered in bursts.
        period, on = 0.05, 0.01
        whole, part = divmod(t, period)
        return RATE * period * whole + 5 * RATE * min(part, on)
    # ramp: the rate climbs linearly from 0.2x to 2x the mean over the run (mean 1.1x).
    lo, hi = 0.2 * RATE, 2.0 * RATE
    return lo * t + (hi - lo) * t * t / (2 * DURATION)


def _run_load(
    pattern: str, capacity: int | None = None, overflow: str = "block"
) -> dict[str, float]:
    with Runtime("threads", workers=2) as rt:
        ref = rt.spawn(Stamp, capacity=capacity, overflow=overflow)
        agent = ref._agent
        tell = ref.tell
        sent = 0
        max_depth = 0
        start = perf_counter()
        while (elapsed := perf_counter() - start) < DURATION:
            due = int(_offered(pattern, elapsed))
            while sent < due:
                tell(perf_counter_ns())
                sent += 1
            max_depth = max(max_depth, ref.mailbox_depth)
            time.sleep(0.0005)  # a 0.5 ms tick: the producer offers what is due, then yields
        rt.wait_idle(30)
        first = start
        delays = sorted(agent.delays)
        handled = len(delays)
        span = agent.last / 1e9 - first if handled else 0.0
        drops = ref.statistics().mailbox.dropped
    n = max(1, handled)
    return {
        "p50": delays[n // 2] / 1e9 if handled else 0.0,
        "p95": delays[int(n * 0.95)] / 1e9 if handled else 0.0,
        "p99": delays[int(n * 0.99)] / 1e9 if handled else 0.0,
        "throughput": handled / span if span > 0 else 0.0,
        "offered": float(sent),
        "drops": float(drops),
        "max_depth": float(max_depth),
    }


@benchmark(
    "concurrent_load.pattern.{pattern}",
    target="load",
    kind="latency",
    params={"rate": RATE, "duration": DURATION, "mode": "threads"},
    params_grid={"pattern": ["constant", "burst", "ramp"]},
)
def load_pattern(*, pattern: str) -> dict[str, float]:
    """Offer messages at 20k/s for 0.5 s in a constant, burst or ramp pattern (threads mode)."""
    return _run_load(pattern)


@benchmark(
    "concurrent_load.overload",
    target="load",
    kind="latency",
    params={"rate": RATE, "capacity": 16, "overflow": "drop_oldest"},
)
def overload() -> dict[str, float]:
    """Bursts into a mailbox of capacity 16 with drop_oldest: depth stays bounded, drops counted."""
    return _run_load("burst", capacity=16, overflow="drop_oldest")


# ------------------------------------------------------------------ contention


class Relay(Agent):
    __slots__ = ("hot",)

    def __init__(self, hot: Any) -> None:
        self.hot = hot

    def handle(self, n: int) -> None:
        tell = self.hot.tell
        for i in range(n):
            tell(i)


@benchmark(
    "concurrent_load.contention",
    target="load",
    inner_loops=10_000,
    params={"senders": 100},
    clock="process",
)
def contention(loops: int) -> float:
    """100 agents each send 100 messages to one hot agent at once (threads mode), drained."""
    with Runtime("threads") as rt:
        hot = rt.spawn(Count)
        relays = rt.spawn_many(Relay, 100, hot)
        t0 = timer()
        for _ in range(loops):
            for r in relays:
                r.tell(100)
            rt.wait_idle()
        elapsed = timer() - t0
        assert hot._agent.n == loops * 10_000
        return elapsed


# ------------------------------------------------------------------ scaling across cores
#
# The same CPU-bound agent system on one worker process, on two, on threads mode (one core under
# the GIL, for contrast) and on Ray: 8 agents, each message ~100 µs of pure-Python arithmetic.
# Wall time: the point is how much work the cores get done together.

SCALE_AGENTS = 8
SCALE_ROUNDS = 50  # x 8 agents = 400 messages per loop, ~40 ms of work on one core
SCALE_WORK = 2000


class Crunch(Agent):
    """A CPU-bound handler: ``n`` multiply-adds, then the low byte of the sum is kept."""

    __slots__ = ("total",)

    def __init__(self) -> None:
        self.total = 0

    def handle(self, n: int) -> None:
        s = 0
        for i in range(n):
            s += i * i
        self.total = (self.total + s) & 0xFFFF


def _crunch(rt: Runtime, loops: int, spread: int) -> float:
    refs = [rt.spawn(Crunch, placement=i % spread) for i in range(SCALE_AGENTS)]
    t0 = timer()
    for _ in range(loops):
        for _ in range(SCALE_ROUNDS):
            for ref in refs:
                ref.tell(SCALE_WORK)
        assert rt.wait_idle(300)
    return timer() - t0


@benchmark(
    "concurrent_load.scaling.processes_w1",
    clock="wall",  # how much work the cores get done together
    target="load",
    inner_loops=SCALE_AGENTS * SCALE_ROUNDS,
)
def scaling_one_worker(loops: int) -> float:
    """8 CPU-bound agents (~100 µs per message) on one worker process (value: per message)."""
    with Runtime("processes", workers=1) as rt:
        return _crunch(rt, loops, 1)


@benchmark(
    "concurrent_load.scaling.processes_w2",
    clock="wall",  # how much work the cores get done together
    target="load",
    inner_loops=SCALE_AGENTS * SCALE_ROUNDS,
    reference="concurrent_load.scaling.processes_w1",
)
def scaling_two_workers(loops: int) -> float:
    """The same system on two worker processes, four agents each."""
    with Runtime("processes", workers=2) as rt:
        return _crunch(rt, loops, 2)


@benchmark(
    "concurrent_load.scaling.threads",
    clock="wall",  # how much work the cores get done together
    target="load",
    inner_loops=SCALE_AGENTS * SCALE_ROUNDS,
    reference="concurrent_load.scaling.processes_w1",
)
def scaling_threads(loops: int) -> float:
    """The same system in threads mode (two worker threads, one GIL), for contrast."""
    with Runtime("threads", workers=2) as rt:
        return _crunch(rt, loops, 1)  # one process: spawn ignores placement=


if importlib.util.find_spec("ray") is not None:

    @benchmark(
        "concurrent_load.scaling.ray",
        clock="wall",
        target="load",
        inner_loops=SCALE_AGENTS * SCALE_ROUNDS,
    )
    def scaling_ray(loops: int) -> float:
        """The same system on Ray (a host actor per CPU), Ray started outside the timed loops."""
        with Runtime("ray") as rt:
            return _crunch(rt, loops, len(os.sched_getaffinity(0)))  # a host per CPU
