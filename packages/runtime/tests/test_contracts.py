"""One contract across delivery modes, tested per mode (sync, threads, asyncio; processes where
the case does not need a local mailbox):

- capacity is a hard bound, whatever the overflow policy and the number of sending threads;
- ``Runtime.statistics()`` totals are the sums over every agent, stopped ones included
  (a property test over generated lives of agents);
- ``send`` / ``send_batch`` to a stopped agent raise ``AgentStopped`` (``tell`` records a dead
  letter), and once the runtime is closed, ``rt.tell`` raises ``RuntimeClosed`` whatever the
  address.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfkit_runtime import Agent, AgentStopped, MailboxFull, Runtime, RuntimeClosed

MODES = ("sync", "threads", "asyncio")
POLICIES = ("drop_oldest", "drop_newest", "fail", "block")
EXAMPLES = int(os.environ.get("PERFKIT_FUZZ_EXAMPLES", "60"))


class Gate(Agent):
    """Waits for a shared event in its handler, so its mailbox stays full meanwhile."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def handle(self, msg: Any) -> None:
        assert self.release.wait(20)


@contextlib.contextmanager
def frequent_thread_switches() -> Iterator[None]:
    """Switch threads every microsecond instead of every 5 ms: a race between the room check
    and the append shows up in a second instead of once in many runs."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.parametrize("policy", POLICIES)
def test_capacity_is_a_hard_bound_with_eight_sending_threads(policy: str) -> None:
    capacity, senders, per_sender = 10, 8, 3000
    release = threading.Event()
    deepest = [0] * senders
    with Runtime(mode="threads") as rt, frequent_thread_switches():
        ref = rt.spawn(Gate, release, capacity=capacity, overflow=policy)
        ref.tell("first")  # the worker holds it: from here on, the mailbox only fills

        def send(index: int) -> None:
            tell, queue = ref.tell, ref._q  # white-box: the depth right after each tell
            for n in range(per_sender):
                with contextlib.suppress(MailboxFull):
                    tell(n)
                depth = len(queue)
                if depth > deepest[index]:
                    deepest[index] = depth

        threads = [threading.Thread(target=send, args=(i,)) for i in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = ref.statistics().mailbox
        release.set()
        assert rt.wait_idle(20)
    assert max(deepest) <= capacity, deepest
    assert stats.depth <= capacity
    if policy.startswith("drop"):
        # Every message is handled, queued or counted as dropped.
        assert ref.statistics().messages_out + stats.dropped == senders * per_sender + 1


# -- statistics: totals are sums over every agent, stopped ones included --------------------------


class Worker(Agent):
    """Fails on the message "boom"; otherwise counts."""

    def handle(self, msg: Any) -> Any:
        if msg == "boom":
            raise ValueError("boom")
        return msg


@dataclass(frozen=True)
class Life:
    """One agent's life in a generated scenario."""

    capacity: int | None
    policy: str
    supervision: str
    messages: tuple[Any, ...]
    batch: bool
    stop: bool


LIVES = st.lists(
    st.builds(
        Life,
        capacity=st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
        policy=st.sampled_from(("drop_oldest", "drop_newest")),
        supervision=st.sampled_from(("resume", "restart", "stop")),
        messages=st.lists(st.sampled_from((1, "x", "boom")), max_size=20).map(tuple),
        batch=st.booleans(),
        stop=st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


def _spawn(rt: Runtime, life: Life) -> Any:
    return rt.spawn(
        Worker, capacity=life.capacity, overflow=life.policy, supervision=life.supervision
    )


def _check_totals(rt: Runtime, refs: list[Any]) -> None:
    total = rt.statistics()
    agents = [ref.statistics() for ref in refs]
    assert total.messages_out == sum(a.messages_out for a in agents)
    assert total.messages_in == sum(a.messages_in for a in agents)
    assert total.errors == sum(a.errors for a in agents)
    assert total.dropped == sum(a.mailbox.dropped for a in agents)
    assert total.agents == sum(a.state != "stopped" for a in agents)


def _blocking_life(mode: str, lives: list[Life]) -> None:
    with Runtime(mode=mode) as rt:
        refs = [_spawn(rt, life) for life in lives]
        for ref, life in zip(refs, lives, strict=True):
            if life.batch:
                ref.tell_batch(life.messages)
            else:
                for msg in life.messages:
                    ref.tell(msg)
        for ref, life in zip(refs, lives, strict=True):
            if life.stop:
                rt.stop(ref)
        for ref, life in zip(refs, lives, strict=True):
            if life.stop:
                assert ref.wait_stopped(10)
        assert rt.wait_idle(10)
        _check_totals(rt, refs)


async def _async_life(lives: list[Life]) -> None:
    async with Runtime(mode="asyncio") as rt:
        refs = [_spawn(rt, life) for life in lives]
        for ref, life in zip(refs, lives, strict=True):
            if life.batch:
                ref.tell_batch(life.messages)
            else:
                for msg in life.messages:
                    ref.tell(msg)
            await asyncio.sleep(0)
        for ref, life in zip(refs, lives, strict=True):
            if life.stop:
                rt.stop(ref)
        for ref, life in zip(refs, lives, strict=True):
            if life.stop:
                assert await ref.wait_stopped(10)
        assert await rt.wait_idle_async(10)
        _check_totals(rt, refs)


@pytest.mark.parametrize("mode", MODES)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize="PERFKIT_FUZZ_EXAMPLES" not in os.environ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(lives=LIVES)
def test_runtime_totals_are_the_sums_over_every_agent(mode: str, lives: list[Life]) -> None:
    if mode == "asyncio":
        asyncio.run(_async_life(lives))
    else:
        _blocking_life(mode, lives)


@pytest.mark.parametrize("mode", ["sync", "threads", "processes"])
def test_three_idle_agents_stopped_leave_the_totals_whole(mode: str) -> None:
    """The issue's case: 3 agents, 5 messages each, then stopped: totals 15 in, 15 out."""
    with Runtime(mode=mode) as rt:
        refs = [rt.spawn(Worker) for _ in range(3)]
        for ref in refs:
            for n in range(5):
                ref.tell(n)
        assert rt.wait_idle(10)
        for ref in refs:
            rt.stop(ref)
            assert ref.wait_stopped(10)
        stats = rt.statistics()
    assert (stats.messages_in, stats.messages_out, stats.agents) == (15, 15, 0)


# -- a stopped agent, a closed runtime ------------------------------------------------------------


def _stopped_blocking(mode: str) -> None:
    with Runtime(mode=mode) as rt:
        ref = rt.spawn(Worker, name="w")
        rt.stop(ref)
        assert ref.wait_stopped(10)
        with pytest.raises(AgentStopped):
            ref.send(1)
        with pytest.raises(AgentStopped):
            ref.send_batch([1, 2])
        ref.tell(3)  # tell never raises for a stopped agent: a dead letter
        assert rt.dead_letters.total == 1


async def _stopped_async() -> None:
    async with Runtime(mode="asyncio") as rt:
        ref = rt.spawn(Worker, name="w")
        rt.stop(ref)
        assert await ref.wait_stopped(10)
        with pytest.raises(AgentStopped):
            await ref.send(1)
        with pytest.raises(AgentStopped):
            await ref.send_batch([1, 2])
        ref.tell(3)
        assert rt.dead_letters.total == 1


@pytest.mark.parametrize("mode", [*MODES, "processes"])
def test_send_to_a_stopped_agent_raises_agent_stopped(mode: str) -> None:
    if mode == "asyncio":
        asyncio.run(_stopped_async())
    else:
        _stopped_blocking(mode)


@pytest.mark.parametrize("mode", [*MODES, "processes"])
def test_tell_after_close_raises_runtime_closed_whatever_the_address(mode: str) -> None:
    async def closed_async() -> tuple[Runtime, Any]:
        async with Runtime(mode="asyncio") as rt:
            return rt, rt.spawn(Worker, name="w")

    if mode == "asyncio":
        rt, ref = asyncio.run(closed_async())
    else:
        with Runtime(mode=mode) as rt:
            ref = rt.spawn(Worker, name="w")
    before = rt.dead_letters.total
    for address in ("w", ref.id, ref):
        with pytest.raises(RuntimeClosed, match="closed"):
            rt.tell(address, 1)
    assert rt.dead_letters.total == before  # refused, not recorded as a dead letter


def test_a_stop_that_finds_a_full_bounded_mailbox_waits_for_room() -> None:
    """Threads mode: the mailbox's deque holds no more than its capacity, so a stop request
    that finds it full is queued once the worker has made room, behind every accepted message."""
    release = threading.Event()
    with Runtime(mode="threads") as rt:
        ref = rt.spawn(Gate, release, capacity=3, overflow="fail")
        ref.tell("held")
        deadline = time.monotonic() + 10
        while ref.statistics().mailbox.depth and time.monotonic() < deadline:
            time.sleep(0.001)  # until the worker holds "held" in its handler
        for n in range(3):
            ref.tell(n)
        assert ref.statistics().mailbox.depth == 3
        rt.stop(ref)
        assert ref.state == "stopping"
        with pytest.raises(AgentStopped):
            ref.send(4)
        release.set()
        assert ref.wait_stopped(10)
        assert ref.statistics().messages_out == 4
        assert rt.dead_letters.total == 0
