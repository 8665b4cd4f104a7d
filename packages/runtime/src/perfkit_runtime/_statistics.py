"""Frozen statistics snapshots and the optional handler-latency recorder."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

__all__ = [
    "AgentStats",
    "LatencyRecorder",
    "LatencyStats",
    "MailboxStats",
    "RouterStats",
    "RuntimeStats",
]

# The recorder keeps the newest 8192 handler timings: enough for a stable p99 (about 80 samples
# beyond it) while bounding memory at ~300 KB per agent when timing is switched on.
LATENCY_WINDOW = 8192


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Handler latency over the recorder's window, in seconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class MailboxStats:
    depth: int
    capacity: int | None
    saturation: float  # depth / capacity; 0.0 for an unbounded mailbox
    dropped: int
    overflow: str


@dataclass(frozen=True, slots=True)
class AgentStats:
    id: int
    name: str
    state: str
    messages_in: int
    messages_out: int
    errors: int
    restarts: int
    mailbox: MailboxStats
    utilization: float | None  # busy time / lifetime; None unless timing is switched on
    latency: LatencyStats | None


@dataclass(frozen=True, slots=True)
class RouterStats:
    agents: int
    named: int
    groups: int
    topics: int
    routed: int
    published: int
    dead_letters: int
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuntimeStats:
    mode: str
    agents: int
    messages_in: int
    messages_out: int
    errors: int
    dropped: int
    dead_letters: int
    mailbox_depth: int
    router: RouterStats


def _percentile(ordered: list[int], q: float) -> float:
    # Nearest-rank percentile: no interpolation, so every reported value is one that was observed.
    i = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
    return ordered[i] / 1e9


class LatencyRecorder:
    """Times a handler and keeps a bounded window of the timings (nanoseconds)."""

    __slots__ = ("busy_ns", "count", "samples", "started_ns")

    def __init__(self) -> None:
        self.samples: deque[int] = deque(maxlen=LATENCY_WINDOW)
        self.busy_ns = 0
        self.count = 0
        self.started_ns = perf_counter_ns()

    def wrap(self, handle: Callable[[Any], Any]) -> Callable[[Any], Any]:
        samples = self.samples

        def timed(msg: Any) -> Any:
            t0 = perf_counter_ns()
            try:
                return handle(msg)
            finally:
                dt = perf_counter_ns() - t0
                samples.append(dt)
                self.busy_ns += dt
                self.count += 1

        return timed

    def wrap_async(self, handle: Callable[[Any], Any]) -> Callable[[Any], Any]:
        samples = self.samples

        async def timed(msg: Any) -> Any:
            t0 = perf_counter_ns()
            try:
                return await handle(msg)
            finally:
                dt = perf_counter_ns() - t0
                samples.append(dt)
                self.busy_ns += dt
                self.count += 1

        return timed

    def utilization(self) -> float:
        lifetime = perf_counter_ns() - self.started_ns
        return min(1.0, self.busy_ns / lifetime) if lifetime > 0 else 0.0

    def snapshot(self) -> LatencyStats | None:
        ordered = sorted(self.samples)
        if not ordered:
            return None
        return LatencyStats(
            count=self.count,
            p50=_percentile(ordered, 0.50),
            p95=_percentile(ordered, 0.95),
            p99=_percentile(ordered, 0.99),
            max=ordered[-1] / 1e9,
        )
