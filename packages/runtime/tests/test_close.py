"""Graceful close: mailboxes drain within the timeout; what is left is reported and counted."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from perfkit_runtime import Agent, AgentStopped, Runtime, RuntimeClosed


class Counter(Agent):
    def __init__(self) -> None:
        self.n = 0
        self.stopped = False

    def handle(self, msg: Any) -> None:
        if callable(msg):
            msg()
        self.n += 1

    def on_stop(self) -> None:
        self.stopped = True


def test_close_drains_every_mailbox_in_threads_mode() -> None:
    rt = Runtime("threads")
    refs = rt.spawn_many(Counter, 4)
    for r in refs:
        r.tell_batch(range(5000))
    agents = [r._agent for r in refs]
    report = rt.close(timeout=10)
    assert report.clean
    assert report.stopped == 4
    assert [a.n for a in agents] == [5000] * 4
    assert all(a.stopped for a in agents)


def test_close_reports_and_dead_letters_what_it_could_not_drain() -> None:
    rt = Runtime("threads", workers=1)
    gate = threading.Event()
    ref = rt.spawn(Counter, name="stuck")
    ref.tell(lambda: gate.wait(5))
    ref.tell_batch(range(10))
    report = rt.close(timeout=0.2)
    gate.set()
    assert report.timed_out
    assert report.leftover == {"stuck": 10}
    assert rt.dead_letters.reasons["runtime closed"] == 10


def test_asyncio_close_drains() -> None:
    async def main() -> None:
        rt = Runtime("asyncio")
        async with rt:
            ref = rt.spawn(Counter)
            ref.tell_batch(range(1000))
            agent = ref._agent
        assert agent.n == 1000
        assert agent.stopped
        assert rt.closed

    asyncio.run(main())


def test_a_closed_runtime_refuses_work(mode) -> None:
    async def main() -> None:
        rt = Runtime(mode)
        if mode == "asyncio":
            async with rt:
                ref = rt.spawn(Counter)
        else:
            with rt:
                ref = rt.spawn(Counter)
        with pytest.raises(RuntimeClosed, match="create a new Runtime"):
            rt.spawn(Counter)
        with pytest.raises(RuntimeClosed):
            ref.tell(1)
        with pytest.raises((RuntimeClosed, AgentStopped)):
            result = ref.ask(1, timeout=1)
            if asyncio.iscoroutine(result):
                await result

    asyncio.run(main())


def test_close_is_idempotent() -> None:
    rt = Runtime("sync")
    first = rt.close()
    assert rt.close() is first
