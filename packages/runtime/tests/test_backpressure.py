"""Bounded mailboxes: overflow policies, counted drops, send waiting for room, batches."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from perfkit_runtime import Agent, AgentStopped, MailboxFull, Runtime


class Sink(Agent):
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def handle(self, msg: Any) -> Any:
        if callable(msg):
            msg()
        else:
            self.seen.append(msg)
        return msg


class Hold:
    """A message that blocks the handler until released (threads mode)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        self.entered.set()
        assert self.release.wait(5)


def _fill_threads(rt: Runtime, overflow: str, capacity: int = 3) -> tuple[Any, Hold]:
    ref = rt.spawn(Sink, capacity=capacity, overflow=overflow)
    hold = Hold()
    ref.tell(hold)
    assert hold.entered.wait(5)  # the worker now sits in the handler; the mailbox is empty
    for i in range(capacity):
        ref.tell(i)
    return ref, hold


def test_drop_newest_counts_and_keeps_the_oldest() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "drop_newest")
        ref.tell(99)
        ref.tell(100)
        assert ref.statistics().mailbox.dropped == 2
        hold.release.set()
        assert rt.wait_idle(5)
        assert ref._agent.seen == [0, 1, 2]
        assert rt.statistics().dropped == 2


def test_drop_oldest_counts_and_keeps_the_newest() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "drop_oldest")
        ref.tell(99)
        ref.tell(100)
        assert ref.statistics().mailbox.dropped == 2
        hold.release.set()
        assert rt.wait_idle(5)
        assert ref._agent.seen == [2, 99, 100]


@pytest.mark.parametrize("overflow", ["fail", "block"])
def test_tell_on_a_full_mailbox_raises_for_fail_and_block(overflow: str) -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, overflow)
        with pytest.raises(MailboxFull, match="capacity 3"):
            ref.tell(99)
        hold.release.set()
        assert rt.wait_idle(5)
        assert ref._agent.seen == [0, 1, 2]


def test_send_blocks_until_there_is_room_in_threads_mode() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "block")
        done = threading.Event()

        def producer() -> None:
            ref.send(3, timeout=5)
            done.set()

        t = threading.Thread(target=producer)
        t.start()
        time.sleep(0.05)
        assert not done.is_set(), "send returned while the mailbox was full"
        hold.release.set()
        assert done.wait(5)
        t.join()
        assert rt.wait_idle(5)
        assert ref._agent.seen == [0, 1, 2, 3]


def test_send_times_out_when_no_room_appears() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "block")
        with pytest.raises(MailboxFull, match=r"within 0\.05s"):
            ref.send(3, timeout=0.05)
        hold.release.set()


def test_send_with_fail_policy_raises_at_once() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "fail")
        with pytest.raises(MailboxFull):
            ref.send(3, timeout=5)
        hold.release.set()


def test_send_waits_for_room_in_asyncio_mode() -> None:
    class Slow(Agent):
        def __init__(self) -> None:
            self.seen: list[int] = []

        async def handle(self, msg: int) -> None:
            await asyncio.sleep(0.001)
            self.seen.append(msg)

    async def main() -> None:
        async with Runtime("asyncio") as rt:
            ref = rt.spawn(Slow, capacity=4)
            for i in range(40):
                await ref.send(i)
                assert ref.mailbox_depth <= 4
            await ref.send_batch(range(40, 60))
            assert await rt.wait_idle_async(5)
            assert ref._agent.seen == list(range(60))
            assert ref.statistics().mailbox.dropped == 0

    asyncio.run(main())


def test_send_batch_in_threads_mode_respects_capacity() -> None:
    with Runtime("threads") as rt:
        ref = rt.spawn(Sink, capacity=8)
        ref.send_batch(range(1000), timeout=5)
        assert rt.wait_idle(5)
        assert ref._agent.seen == list(range(1000))


def test_tell_batch_applies_the_overflow_policy_per_message() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "drop_newest", capacity=3)
        ref.tell_batch(range(10, 20))
        assert ref.statistics().mailbox.dropped == 10
        hold.release.set()
        assert rt.wait_idle(5)


def test_ask_on_a_dropping_full_mailbox_fails_the_asker_not_silently() -> None:
    with Runtime("threads") as rt:
        ref, hold = _fill_threads(rt, "drop_newest")
        with pytest.raises(MailboxFull):
            ref.ask("q", timeout=1)
        hold.release.set()


def test_sync_mode_send_and_capacity(run) -> None:
    with Runtime("sync") as rt:
        ref = rt.spawn(Sink, capacity=1)
        for i in range(10):
            ref.send(i)  # each one runs before send returns, so the mailbox never fills
        assert ref._agent.seen == list(range(10))


def test_send_to_a_stopped_agent_raises() -> None:
    with Runtime("threads") as rt:
        ref = rt.spawn(Sink)
        rt.stop(ref)
        assert ref.wait_stopped(5)
        with pytest.raises(AgentStopped, match="has stopped"):
            ref.send(1)
        with pytest.raises(AgentStopped):
            ref.ask(1, timeout=1)
