"""memory_usage: agent footprint, history size, leaks, cross-process transfer, pooling benefit.

Byte metrics are near-deterministic (tracemalloc counts Python allocations exactly), so the
regression gate can hold them tighter than times.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import time
import tracemalloc
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any

from _common import CPU_CHANNELS, Idle, traced_bytes

from perfkit_bench import benchmark, timer
from perfkit_runtime import Agent, History, Runtime

MODES = ["sync", "threads", "asyncio"]


@benchmark(
    "memory_usage.agent_footprint.{mode}",
    target="spawning",
    kind="bytes",
    params_grid={"mode": MODES},
)
def agent_footprint(*, mode: str) -> float:
    """Bytes allocated per idle agent (1000 agents, tracemalloc), by mode."""
    import asyncio

    async def in_loop() -> float:
        async with Runtime("asyncio") as rt:
            rt.spawn(Idle)
            grown, refs = traced_bytes(lambda: [rt.spawn(Idle) for _ in range(1000)])
            assert len(refs) == 1000
            return grown / 1000

    if mode == "asyncio":
        return asyncio.run(in_loop())
    with Runtime(mode) as rt:
        rt.spawn(Idle)
        grown, refs = traced_bytes(lambda: [rt.spawn(Idle) for _ in range(1000)])
        assert len(refs) == 1000
        return grown / 1000


ORDER = ("order", 123, {"qty": 2, "sku": "A-1"})


@benchmark(
    "memory_usage.history.live_bytes_10k",
    target="history",
    kind="bytes",
    params={"messages": 10_000},
)
def history_live_bytes() -> float:
    """Bytes a History holds live for 10,000 small messages (pickle codec), per 10k messages."""

    def build() -> History:
        h = History(max_messages=10_000)
        for i in range(10_000):
            h.record(f"agent-{i % 16}", ORDER)
        return h

    grown, history = traced_bytes(build)
    assert len(history) == 10_000
    return float(grown)


@benchmark("memory_usage.history.serialized_bytes", target="history", kind="bytes")
def history_serialized_bytes() -> float:
    """Encoded bytes per stored message (what persist() writes)."""
    h = History(max_messages=1000)
    for _ in range(1000):
        h.record("a", ORDER)
    return h.nbytes / len(h)


@benchmark("memory_usage.history.record", target="history", channels=CPU_CHANNELS, clock="thread")
def history_record(loops: int) -> float:
    """Time to record one message in a full History (every record evicts one)."""
    h = History(max_messages=1000)
    record = h.record
    for _ in range(1000):
        record("a", ORDER)
    t0 = timer()
    for _ in range(loops):
        record("a", ORDER)
    return timer() - t0


# ------------------------------------------------------------------ leaks

CYCLES = 2000


def _cycles(rt: Runtime, n: int) -> None:
    for i in range(n):
        ref = rt.spawn(Idle)
        ref.tell(i)
        ref.ask(i)
        rt.stop(ref)


def _retained_after(rounds: int) -> float:
    """Traced bytes still held after a warm-up and ``rounds`` x CYCLES spawn/tell/ask/stop cycles.

    Tracing starts before the runtime exists, so the value is everything the runtime holds (> 0,
    as pyperf requires). A leak makes it grow with the rounds; one-off growth (a dict resizing
    once, a counter's int object) happens in the warm-up.
    """
    gc.collect()
    tracemalloc.start()
    try:
        with Runtime("sync", dead_letter_limit=16) as rt:
            _cycles(rt, CYCLES)
            for _ in range(rounds):
                _cycles(rt, CYCLES)
            gc.collect()
            return float(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()


@benchmark("memory_usage.leak.after_1x", target="spawning", kind="bytes", params={"cycles": CYCLES})
def leak_after_1x() -> float:
    """Bytes the runtime holds after a warm-up plus 2000 spawn/tell/ask/stop cycles."""
    return _retained_after(1)


@benchmark(
    "memory_usage.leak.after_2x",
    target="spawning",
    kind="bytes",
    params={"cycles": 2 * CYCLES},
    reference="memory_usage.leak.after_1x",
)
def leak_after_2x() -> float:
    """The same after twice the cycles: zero growth means a ratio of 1.0 to after_1x."""
    return _retained_after(2)


# ------------------------------------------------------------------ cross-process transfer

PAYLOAD = 1 << 20  # 1 MiB: large enough that copying dominates the pipe round trip


def _echo_server(conn: Connection) -> None:
    while True:
        msg = conn.recv()
        if msg is None:
            return
        if isinstance(msg, tuple):  # ("shm", name, size): read the block in place
            _, name, size = msg
            block = shared_memory.SharedMemory(name=name)
            try:
                conn.send(block.buf[0] + block.buf[size - 1])
            finally:
                block.close()
        else:
            conn.send(msg[0] + msg[-1])


def _with_server(run: Any) -> float:
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_echo_server, args=(child,), daemon=True)
    proc.start()
    try:
        return float(run(parent))
    finally:
        parent.send(None)
        proc.join(5)


@benchmark("memory_usage.transfer.pickled", target="load", params={"bytes": PAYLOAD}, clock="wall")
def transfer_pickled(loops: int) -> float:
    """Send 1 MiB to another process through a pipe (pickled copy) and get one byte back."""
    data = bytes(range(256)) * (PAYLOAD // 256)

    def run(conn: Connection) -> float:
        t0 = timer()
        for _ in range(loops):
            conn.send(data)
            conn.recv()
        return timer() - t0

    return _with_server(run)


@benchmark(
    "memory_usage.transfer.shared_memory",
    target="load",
    params={"bytes": PAYLOAD},
    reference="memory_usage.transfer.pickled",
    clock="wall",
)
def transfer_shared_memory(loops: int) -> float:
    """Hand 1 MiB to another process through multiprocessing.shared_memory (write in place)."""
    data = bytes(range(256)) * (PAYLOAD // 256)
    block = shared_memory.SharedMemory(create=True, size=PAYLOAD)
    try:

        def run(conn: Connection) -> float:
            t0 = timer()
            for _ in range(loops):
                block.buf[:PAYLOAD] = data
                conn.send(("shm", block.name, PAYLOAD))
                conn.recv()
            return timer() - t0

        return _with_server(run)
    finally:
        block.close()
        block.unlink()


# ------------------------------------------------------------------ pooling benefit


def _bytes_per_acquire(pooled: bool) -> float:
    """New bytes per agent when 1000 agents are brought up at once (tracemalloc)."""
    with Runtime("sync") as rt:
        pool = rt.pool(Idle, size=1000)
        warm = [pool.acquire() for _ in range(1000)]
        for ref in warm:
            pool.release(ref)  # the pool now holds 1000 idle instances and mailboxes
        assert pool.statistics().idle == 1000
        if pooled:
            grown, refs = traced_bytes(lambda: [pool.acquire() for _ in range(1000)])
        else:
            grown, refs = traced_bytes(lambda: [rt.spawn(Idle) for _ in range(1000)])
        assert len(refs) == 1000
    return grown / 1000


@benchmark("memory_usage.pooling.unpooled_bytes", target="spawning", kind="bytes")
def unpooled_bytes() -> float:
    """New bytes per agent brought up by spawn() (instance, mailbox, ref)."""
    return _bytes_per_acquire(pooled=False)


@benchmark(
    "memory_usage.pooling.pooled_bytes",
    target="spawning",
    kind="bytes",
    reference="memory_usage.pooling.unpooled_bytes",
)
def pooled_bytes() -> float:
    """New bytes per agent brought up by a warm AgentPool (only the ref is new)."""
    return _bytes_per_acquire(pooled=True)


# ------------------------------------------------------------------ an idle worker process


def _worker_memory(field: str) -> float:
    """``field`` (kB in /proc) of an idle processes-mode worker hosting one idle agent, in bytes."""
    with Runtime("processes", workers=1) as rt:
        ref = rt.spawn(_Pid)
        pid = ref.ask(None, timeout=30)
        time.sleep(0.2)  # past its spin: the worker sleeps on its doorbell
        source = "smaps_rollup" if field == "Pss" else "status"  # VmRSS is in status
        with open(f"/proc/{pid}/{source}", encoding="ascii") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name == field:
                    return float(value.split()[0]) * 1024
    raise AssertionError(f"{field} not found for the worker")


class _Pid(Agent):
    __slots__ = ()

    def handle(self, msg: Any) -> int:
        return os.getpid()


@benchmark("memory_usage.worker.rss", target="spawning", kind="bytes")
def idle_worker_rss() -> float:
    """Resident memory of an idle worker process (VmRSS: its pages shared with the parent count)."""
    return _worker_memory("VmRSS")


@benchmark("memory_usage.worker.pss", target="spawning", kind="bytes")
def idle_worker_pss() -> float:
    """Proportional set size of the same worker (pages shared by k processes count 1/k)."""
    return _worker_memory("Pss")
