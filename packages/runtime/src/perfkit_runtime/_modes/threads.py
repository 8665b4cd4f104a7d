"""Threads mode: a pool of worker threads runs agents that have mail.

An agent runs on one worker at a time, so its handler never runs concurrently with itself.

``ThreadDelivery`` is the scheduler: the worker threads, the run queue they take agents from (a
``queue.SimpleQueue``), the lock that makes "schedule an agent once" atomic, and the one condition
that senders waiting for room block on. A ref's ``_scheduled`` flag is handed off between the
sender that sets it and the worker that clears it (see ``ThreadRef._run``), so a ``tell`` to an
agent that already has a turn pending takes no lock.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from perfkit_runtime._exceptions import AskTimeout, MailboxFull
from perfkit_runtime._mailbox import (
    ASK,
    RUNNING,
    STOP,
    STOPPED,
    STOPPING,
    Envelope,
    unwrap,
)
from perfkit_runtime._modes.local import LocalDelivery
from perfkit_runtime._ref import AgentRef

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import ModeRuntime

__all__ = ["ThreadDelivery", "ThreadRef"]

logger = logging.getLogger("perfkit_runtime")

# deque.insert at an index past the end appends, and refuses a full bounded deque.
_END = sys.maxsize


class _ThreadReply:
    # A pre-acquired lock is the cheapest cross-thread one-shot signal in CPython: the replier
    # releases it, the asker's acquire(timeout=...) returns. Cheaper than Event or a Queue.
    __slots__ = ("error", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.value: Any = None
        self.error: BaseException | None = None

    def done(self, value: Any) -> None:
        self.value = value
        self.lock.release()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.lock.release()


class ThreadRef(AgentRef):
    """Reference in a ``mode="threads"`` runtime: a worker pool runs agents that have mail."""

    __slots__ = ()
    mode = "threads"
    _delivery: ThreadDelivery

    # Capacity is a hard bound whatever the number of sending threads. Checking the room and then
    # appending is two steps: two senders that both saw one free slot would both append (8
    # threads took a capacity-10 mailbox to depth 17). An agent spawned with a capacity gets a
    # ``_BoundedRef`` (below), whose deque has maxlen = capacity and takes messages with
    # ``insert(_END, msg)``: one C call that appends, or raises IndexError when the deque is full
    # (``append`` would evict the oldest message, uncounted). An unbounded agent (this class)
    # has no bound to keep: it appends. Either way the state test stands for the base class's
    # ``len(q) >= capacity`` (a stopped agent's capacity is 0): one len() call fewer per tell.
    # The slow path (a full or stopped mailbox, history on) runs the overflow policy under the
    # runtime's ``sending`` lock, which also makes the drop counts exact. Measured side by side:
    # docs/runtime.md ("Design notes").

    def tell(self, msg: Any) -> None:
        """Deliver ``msg``; never blocks (a full mailbox applies the overflow policy)."""
        if self._state != RUNNING or self._history is not None:
            self._tell_slowly(msg)
            return
        self._q.append(msg)
        if not self._scheduled:
            self._schedule()

    def _tell_slowly(self, msg: Any) -> None:
        """A full or stopped mailbox, or history on: the overflow policy under the lock."""
        with self._delivery.sending:
            accepted = self._enqueue_locked(msg)
        if accepted and not self._scheduled:
            self._schedule()

    def _enqueue_locked(self, msg: Any) -> bool:
        """Apply the policy and append (the caller holds ``sending``); False: not queued."""
        q = self._q
        while True:
            if len(q) >= self._cap and not self._make_room(msg):
                return False
            try:
                q.insert(_END, msg)
            except IndexError:  # a lock-free sender filled the slot just made: again
                continue
            if self._history is not None:
                self._history.record(self.name, unwrap(msg))
            return True

    def _schedule(self) -> None:
        d = self._delivery
        with d.lock:
            if self._scheduled:
                return
            self._scheduled = True
        d.put(self)

    def _run(self, limit: int) -> None:
        """Worker side: one batch, then give up the slot and reschedule if mail remains."""
        self._drain(limit)
        self._scheduled = False
        # A tell that saw _scheduled still True before the line above appended its message
        # before that read, so this check sees it: no wake-up is lost.
        if self._q and self._state != STOPPED:
            self._schedule()
        elif self._state == STOPPING:
            self._queue_deferred_stop()

    def _queue_deferred_stop(self) -> None:
        """Stopping with an empty mailbox: the stop found it full (``_request_stop``) and waits
        here. (A stop queued in time leaves this state only by being handled.)"""
        with self._delivery.sending:
            if self._state != STOPPING or self._q:
                return
            self._q.append(Envelope(STOP))
        self._schedule()

    def send(self, msg: Any, timeout: float | None = None) -> None:
        """Deliver ``msg``, waiting (blocking) for room when the mailbox is full."""
        while True:
            if self._state != RUNNING:
                self._raise_stopped()
            try:
                self.tell(msg)
                return
            except MailboxFull:
                if self._overflow != "block":
                    raise
            self._wait_room(1, timeout)

    def send_batch(self, msgs: Iterable[Any], timeout: float | None = None) -> None:
        if self._state != RUNNING:
            self._raise_stopped()
        items = list(msgs)
        step = max(1, min(len(items), self._cap))
        for i in range(0, len(items), step):
            chunk = items[i : i + step]
            if self._overflow == "block":
                self._wait_room(len(chunk), timeout)
            self.tell_batch(chunk)

    def _wait_room(self, n: int, timeout: float | None) -> None:
        ok = self._wait_room_blocking(self._delivery.room, n, timeout)
        if self._state != RUNNING:
            self._raise_stopped()
        if not ok:
            raise MailboxFull(
                f"no room in the mailbox of {self.name!r} within {timeout}s; raise the timeout "
                "or the capacity"
            )

    def _wake_senders(self) -> None:
        cond = self._delivery.room
        with cond:
            cond.notify_all()

    def ask(self, msg: Any, timeout: float | None = None) -> Any:
        """Deliver ``msg`` and block until the reply (or ``AskTimeout`` after ``timeout`` s)."""
        if self._state != RUNNING:
            self._raise_stopped()
        reply = _ThreadReply()
        env = Envelope(ASK, msg, reply)
        if self._overflow == "block" and len(self._q) >= self._cap:
            self._wait_room(1, timeout)
        self.tell(env)
        if not reply.lock.acquire(timeout=-1 if timeout is None else timeout):
            raise AskTimeout(
                f"agent {self.name!r} did not reply within {timeout}s; raise the timeout or check "
                "that its handler returns (a worker blocked in ask() cannot run other agents)"
            )
        if reply.error is not None:
            raise reply.error
        return reply.value

    def _signal_stopped(self) -> None:
        event = self._stop_waiters
        if event is not None:
            event.set()

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Block until the agent has stopped; False on timeout."""
        if self._state == STOPPED:
            return True
        with self._delivery.lock:
            if self._stop_waiters is None:
                self._stop_waiters = threading.Event()
            event = self._stop_waiters
        if self._state == STOPPED:
            return True
        return bool(event.wait(timeout))


class _BoundedRef(ThreadRef):
    """A threads-mode agent spawned with a capacity: its deque's maxlen keeps the bound."""

    __slots__ = ()

    def tell(self, msg: Any) -> None:
        """Deliver ``msg``; never blocks (a full mailbox applies the overflow policy)."""
        if self._state != RUNNING or self._history is not None:
            self._tell_slowly(msg)
            return
        try:
            self._q.insert(_END, msg)
        except IndexError:  # full, or another sender took the last slot
            self._tell_slowly(msg)
            return
        if not self._scheduled:
            self._schedule()

    def tell_batch(self, msgs: Iterable[Any]) -> None:
        """Deliver many messages with one wake-up; each one obeys the overflow policy."""
        items = list(msgs)
        with self._delivery.sending:
            for msg in items:
                self._enqueue_locked(msg)
        if self._q and not self._scheduled:
            self._schedule()

    def _request_stop(self) -> None:
        """Queue the stop behind the accepted messages; a full mailbox takes it once the worker
        has made room (``ThreadRef._run``)."""
        with self._delivery.sending:
            if self._state != RUNNING:
                return
            self._state = STOPPING
            self._cap = 0
            with contextlib.suppress(IndexError):
                self._q.insert(_END, Envelope(STOP))
        if not self._scheduled:
            self._schedule()


ThreadRef._bounded_class = _BoundedRef


class ThreadDelivery(LocalDelivery):
    """A pool of worker threads that run agents with mail, one batch per turn."""

    __slots__ = ("lock", "put", "room", "runq", "sending", "workers")

    mode = "threads"

    def __init__(self, runtime: ModeRuntime, workers: int) -> None:
        super().__init__(runtime, ThreadRef)
        self.lock = threading.Lock()
        # Held by a sender while it checks a bounded mailbox's room and appends (ThreadRef).
        self.sending = threading.Lock()
        self.room = threading.Condition()
        self.runq: queue.SimpleQueue[ThreadRef | None] = queue.SimpleQueue()
        self.put: Callable[[ThreadRef | None], None] = self.runq.put
        self.workers: list[threading.Thread] = []
        for i in range(workers):
            worker = threading.Thread(
                target=self._work, name=f"perfkit-runtime-worker-{i}", daemon=True
            )
            worker.start()
            self.workers.append(worker)

    def _work(self) -> None:
        get = self.runq.get
        limit = self.runtime.batch
        while True:
            ref = get()
            if ref is None:
                return
            try:
                ref._run(limit)
            except Exception as exc:  # a bug in the runtime itself: keep the worker alive
                logger.critical("worker failed running %r: %r", ref, exc, exc_info=exc)

    def _wait_stopped(self, refs: list[Any], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        stopped = True
        for ref in refs:
            remaining = max(0.0, deadline - time.monotonic())
            if not ref.wait_stopped(remaining):
                stopped = False
        return stopped

    def _shut_down(self) -> None:
        for _ in self.workers:
            self.put(None)
        for worker in self.workers:
            worker.join(0.5)
