"""Agents: spawning, hooks, replies, ordering and agents talking to each other, in every mode."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from perfkit_runtime import Agent, ModeError, Runtime, SpawnError


class Echo(Agent):
    def handle(self, msg: Any) -> Any:
        return msg


class Recorder(Agent):
    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.events: list[str] = []

    def on_start(self) -> None:
        self.events.append("start")

    def on_stop(self) -> None:
        self.events.append("stop")

    def handle(self, msg: Any) -> Any:
        if callable(msg):  # lets a test hold the agent inside a handler
            msg()
        self.seen.append(msg)
        return len(self.seen)


def test_the_readme_example_runs_as_written() -> None:
    with Runtime(mode="threads") as rt:
        ref = rt.spawn(Echo, name="echo", capacity=1000)
        ref.tell("hi")
        assert ref.ask("ping", timeout=1.0) == "ping"

    async def main() -> None:
        async with Runtime(mode="asyncio") as rt:
            ref = rt.spawn(Echo)
            ref.tell("hi")
            assert await ref.ask("ping", timeout=1.0) == "ping"
            await ref.send("x")

    asyncio.run(main())


def test_ask_returns_the_handlers_return_value(run, aw) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Echo, name="echo")
        assert await aw(ref.ask({"k": [1, 2]}, timeout=2)) == {"k": [1, 2]}
        assert rt.lookup("echo") is ref
        assert rt.lookup(ref.id) is ref

    run(scenario)


def test_hooks_run_in_order_and_agent_knows_runtime_and_ref(run, aw, mode) -> None:
    agents: list[Recorder] = []

    class Hooked(Recorder):
        def on_start(self) -> None:
            assert self.runtime is not None
            assert self.ref.is_alive
            agents.append(self)
            super().on_start()

    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Hooked)
        assert await aw(ref.ask("a", timeout=2)) == 1
        rt.stop(ref)
        if mode == "threads":
            assert ref.wait_stopped(2)
        else:
            assert await aw(ref.wait_stopped(2))
        assert agents[0].runtime is rt
        assert agents[0].ref is ref

    run(scenario)
    assert agents[0].events == ["start", "stop"]


def test_messages_from_one_sender_arrive_in_order(run, aw, idle) -> None:
    async def scenario(rt: Runtime) -> list[Any]:
        ref = rt.spawn(Recorder)
        for i in range(5000):
            ref.tell(i)
        ref.tell_batch(range(5000, 6000))
        await idle(rt)
        return list(ref._agent.seen)

    assert run(scenario, batch=7) == list(range(6000))


def test_agents_send_to_each_other(run, aw, idle) -> None:
    class Pinger(Agent):
        def __init__(self, peer: Any) -> None:
            self.peer = peer

        def handle(self, msg: Any) -> None:
            if msg > 0:
                self.peer.tell(msg - 1)

    class Ponger(Agent):
        def __init__(self) -> None:
            self.count = 0

        def handle(self, msg: Any) -> None:
            self.count += 1
            if msg > 0:
                self.runtime.tell("pinger", msg - 1)

    async def scenario(rt: Runtime) -> int:
        pong = rt.spawn(Ponger, name="ponger")
        ping = rt.spawn(Pinger, pong, name="pinger")
        ping.tell(100)
        await idle(rt)
        return int(pong._agent.count)

    assert run(scenario) == 50


def test_spawn_many_and_stop(run, aw, mode) -> None:
    async def scenario(rt: Runtime) -> None:
        refs = rt.spawn_many(Echo, 10)
        assert len({r.id for r in refs}) == 10
        answers = [await aw(r.ask(i, timeout=2)) for i, r in enumerate(refs)]
        assert answers == list(range(10))
        for r in refs[:5]:
            rt.stop(r)
        for r in refs[:5]:
            assert await aw(r.wait_stopped(2)) if mode != "threads" else r.wait_stopped(2)
        assert len(rt.agents()) == 5

    run(scenario)


def test_stop_handles_queued_messages_first_and_dead_letters_later_ones(run, aw, mode) -> None:
    async def scenario(rt: Runtime) -> None:
        ref = rt.spawn(Recorder)
        agent = ref._agent
        gate = threading.Event()
        if mode == "threads":
            ref.tell_batch([gate.wait, 1, 2])  # the first message holds the worker until we stop
            rt.stop(ref)
            ref.tell("late")
            gate.set()
            assert ref.wait_stopped(2)
        else:
            ref.tell_batch([1, 2])
            rt.stop(ref)
            ref.tell("late")
            await aw(ref.wait_stopped(2))
        assert agent.seen[-2:] == [1, 2]
        assert agent.events == ["start", "stop"]
        assert "late" not in agent.seen
        assert rt.dead_letters.recent()[-1].message == "late"
        assert rt.dead_letters.recent()[-1].reason == "agent stopped"

    run(scenario)


def test_async_handlers_run_in_asyncio_mode() -> None:
    class Slow(Agent):
        async def on_start(self) -> None:
            await asyncio.sleep(0)
            self.started = True

        async def handle(self, msg: Any) -> Any:
            await asyncio.sleep(0.001)
            return (self.started, msg * 2)

    async def main() -> None:
        async with Runtime("asyncio") as rt:
            refs = rt.spawn_many(Slow, 10)
            replies = await asyncio.gather(*(r.ask(i, timeout=2) for i, r in enumerate(refs)))
            assert replies == [(True, i * 2) for i in range(10)]

    asyncio.run(main())


@pytest.mark.parametrize("mode", ["sync", "threads"])
def test_async_handlers_outside_asyncio_mode_are_refused(mode: str) -> None:
    class AsyncAgent(Agent):
        async def handle(self, msg: Any) -> None:
            pass

    with Runtime(mode) as rt, pytest.raises(ModeError, match="mode='asyncio'"):
        rt.spawn(AsyncAgent)


def test_spawn_refuses_what_is_not_an_agent(run) -> None:
    class NotAgent:
        def handle(self, msg: Any) -> None:
            pass

    class NoHandle(Agent):
        pass

    async def scenario(rt: Runtime) -> None:
        with pytest.raises(SpawnError, match=r"subclass of perfkit_runtime\.Agent"):
            rt.spawn(NotAgent)  # type: ignore[arg-type]
        with pytest.raises(SpawnError, match="subclass"):
            rt.spawn(Echo())  # type: ignore[arg-type]
        with pytest.raises(SpawnError, match="handle"):
            rt.spawn(NoHandle)
        rt.spawn(Echo, name="taken")
        with pytest.raises(SpawnError, match="taken"):
            rt.spawn(Echo, name="taken")
        with pytest.raises(SpawnError, match="capacity"):
            rt.spawn(Echo, capacity=0)
        with pytest.raises(SpawnError, match="overflow"):
            rt.spawn(Echo, overflow="explode")
        with pytest.raises(SpawnError, match="supervision"):
            rt.spawn(Echo, supervision="ignore")
        with pytest.raises(SpawnError, match="cannot construct"):
            rt.spawn(Echo, 1, 2, 3)

    run(scenario)


def test_many_threads_telling_one_agent_lose_nothing_and_keep_per_sender_order() -> None:
    # Exercises the scheduling hand-off between producers and workers (the _scheduled flag):
    # a lost wake-up would leave messages stranded and wait_idle would time out.
    with Runtime("threads", workers=3, batch=5) as rt:
        ref = rt.spawn(Recorder)
        start = threading.Barrier(4)

        def producer(sender: int) -> None:
            start.wait()
            for seq in range(5000):
                ref.tell((sender, seq))

        threads = [threading.Thread(target=producer, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert rt.wait_idle(10)
        seen = ref._agent.seen
        assert len(seen) == 20_000
        for sender in range(4):
            assert [seq for s, seq in seen if s == sender] == list(range(5000))
