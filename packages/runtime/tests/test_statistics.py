"""statistics() on runtime, agent, mailbox and router returns frozen snapshots."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from perfkit_runtime import Agent, Runtime


class Nap(Agent):
    def handle(self, msg: Any) -> Any:
        if msg == "slow":
            time.sleep(0.002)
        return msg


def test_counts_depth_and_saturation(run, aw, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Nap, capacity=100)
        for i in range(50):
            ref.tell(i)
        await idle(rt)
        assert await aw(ref.ask("x", timeout=2)) == "x"
        stats = ref.statistics()
        assert stats.messages_out == 51
        assert stats.messages_in == 51
        assert stats.mailbox.depth == 0
        assert stats.mailbox.capacity == 100
        assert stats.mailbox.saturation == 0.0
        assert stats.latency is None and stats.utilization is None  # timing is off by default
        total = rt.statistics()
        assert total.messages_out == 51
        assert total.agents == 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            total.agents = 2  # type: ignore[misc]

    run(scenario)


def test_saturation_while_queued() -> None:
    with Runtime("sync") as rt:

        class Filler(Agent):
            def handle(self, msg: Any) -> None:
                if msg == "fill":
                    for i in range(5):
                        target.tell(i)
                    mid.append(target.statistics().mailbox)

        mid: list[Any] = []
        target = rt.spawn(Nap, capacity=10)
        rt.spawn(Filler).tell("fill")
        assert mid[0].depth == 5
        assert mid[0].saturation == 0.5


def test_timing_reports_latency_percentiles_and_utilization(run, aw, idle) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Nap)
        for _ in range(20):
            ref.tell("slow")
        ref.tell("fast")
        await idle(rt)
        stats = ref.statistics()
        assert stats.latency is not None
        assert stats.latency.count == 21
        assert 0.0015 < stats.latency.p50 < 0.5
        assert stats.latency.p50 <= stats.latency.p95 <= stats.latency.p99 <= stats.latency.max
        assert stats.utilization is not None and 0.0 < stats.utilization <= 1.0

    run(scenario, timing=True)


def test_router_statistics(run) -> None:
    async def scenario(rt: Runtime) -> None:
        a = rt.spawn(Nap, name="a")
        rt.subscribe("t", a)
        rt.group("g", [a])
        rt.publish("t", 1)
        rt.tell("a", 2)
        s = rt.router.statistics()
        assert (s.agents, s.named, s.groups, s.topics, s.published, s.routed) == (1, 1, 1, 1, 1, 1)

    run(scenario)
