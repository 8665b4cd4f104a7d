"""Agent pools reuse instances of short-lived agents, resetting them between uses."""

from __future__ import annotations

from typing import Any

from perfkit_runtime import Agent, Runtime

created: list[Any] = []


class Worker(Agent):
    def __init__(self, base: int = 0) -> None:
        self.base = base
        self.total = 0
        self.resets = 0
        created.append(self)

    def reset(self) -> None:
        self.total = 0
        self.resets += 1

    def handle(self, msg: int) -> int:
        self.total += msg
        return self.base + self.total


def test_released_instances_are_reset_and_reused(run, aw, mode) -> None:
    created.clear()

    async def scenario(rt: Runtime) -> None:
        pool = rt.pool(Worker, size=2, args=(100,))
        first = pool.acquire()
        assert await aw(first.ask(5, timeout=2)) == 105
        instance = first._agent
        pool.release(first)
        assert await aw(first.wait_stopped(2)) if mode != "threads" else first.wait_stopped(2)
        second = pool.acquire()
        assert second is not first and second.id != first.id
        assert second._agent is instance
        assert await aw(second.ask(1, timeout=2)) == 101  # reset() cleared the total
        assert instance.resets == 1
        stats = pool.statistics()
        assert (stats.created, stats.reused, stats.idle) == (1, 1, 0)

    run(scenario)
    assert len(created) == 1


def test_a_released_ref_stays_stopped(run, aw, mode) -> None:
    async def scenario(rt: Runtime) -> None:
        pool = rt.pool(Worker, size=1)
        old = pool.acquire()
        pool.release(old)
        assert await aw(old.wait_stopped(2)) if mode != "threads" else old.wait_stopped(2)
        new = pool.acquire()
        old.tell(7)  # must not reach the recycled instance
        assert await aw(new.ask(1, timeout=2)) == 1
        assert rt.dead_letters.recent()[-1].message == 7

    run(scenario)


def test_pool_keeps_at_most_size_idle_instances() -> None:
    with Runtime("sync") as rt:
        pool = rt.pool(Worker, size=2)
        refs = [pool.acquire() for _ in range(5)]
        for r in refs:
            pool.release(r)
        assert pool.statistics().idle == 2
