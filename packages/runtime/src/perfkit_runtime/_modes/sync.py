"""Sync mode: messages run in the caller's thread.

A tell from outside a handler returns after the message (and everything it caused) has been
handled; a tell from inside a handler is queued and runs after the current handler returns (run
to completion, no recursion).

``SyncDelivery`` is the scheduler: a run queue of agents with mail and a flag saying whether a
dispatch loop is running on this thread's stack. ``SyncRef.tell`` reads both directly (its fast
path calls the handler itself when nothing runs); nothing else on the message path goes through
the delivery.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from perfkit_runtime._exceptions import AskTimeout
from perfkit_runtime._mailbox import ASK, RUNNING, STOPPED, Envelope, unwrap
from perfkit_runtime._modes.local import LocalDelivery
from perfkit_runtime._ref import AgentRef

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import ModeRuntime

__all__ = ["ReportingDelivery", "StopReporter", "SyncDelivery", "SyncRef"]


class _SyncReply:
    __slots__ = ("error", "ready", "value")

    def __init__(self) -> None:
        self.ready = False
        self.value: Any = None
        self.error: BaseException | None = None

    def done(self, value: Any) -> None:
        self.value = value
        self.ready = True

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.ready = True


class SyncRef(AgentRef):
    """Reference in a ``mode="sync"`` runtime: delivery runs in the caller's thread."""

    __slots__ = ()
    mode = "sync"
    _delivery: SyncDelivery

    def tell(self, msg: Any) -> None:
        """Deliver ``msg``; from outside a handler it is handled before tell returns."""
        q = self._q
        if len(q) >= self._cap and not self._make_room(msg):
            return
        if self._history is not None:
            self._history.record(self.name, unwrap(msg))
        d = self._delivery
        if d.dispatching or self._scheduled or type(msg) is Envelope:
            q.append(msg)
            if not self._scheduled:
                self._schedule()
            return
        # Nothing is running and the mailbox is empty: handle the message right here, skipping
        # the run queue. Same order and run-to-completion as the queued path, a third cheaper.
        self._scheduled = True
        d.dispatching = True
        try:
            (self._handle or self._agent.handle)(msg)
        except Exception as exc:
            self._processed += 1  # before a supervised stop hands the counters on (retire)
            self._failed(msg, exc)
        else:
            self._processed += 1
        finally:
            d.dispatching = False
        if q and self._state != STOPPED:
            d.runq.append(self)
            d.dispatch()
        else:
            self._scheduled = False
            if d.runq:
                d.dispatch()

    def _schedule(self) -> None:
        self._scheduled = True
        d = self._delivery
        d.runq.append(self)
        if not d.dispatching:
            d.dispatch()

    def send(self, msg: Any) -> None:
        """Deliver ``msg``. Sync mode cannot wait inside a handler, so a full mailbox raises.
        A stopped agent raises AgentStopped (RuntimeClosed once the runtime is closed), as in
        every mode; ``tell`` records a dead letter instead."""
        if self._state != RUNNING:
            self._raise_stopped()
        self.tell(msg)

    def send_batch(self, msgs: Iterable[Any]) -> None:
        if self._state != RUNNING:
            self._raise_stopped()
        for msg in msgs:
            self.send(msg)

    def ask(self, msg: Any, timeout: float | None = None) -> Any:
        """Deliver ``msg`` and return the handler's return value (its exception is raised)."""
        if self._state != RUNNING:
            self._raise_stopped()
        reply = _SyncReply()
        self.tell(Envelope(ASK, msg, reply))
        if not reply.ready:
            self._delivery.dispatch()
        if not reply.ready:
            raise AskTimeout(
                f"agent {self.name!r} could not answer: in sync mode an ask made inside a handler "
                "cannot be answered by an agent that is itself waiting (an ask cycle); use tell, "
                "or mode='threads'/'asyncio'"
            )
        if reply.error is not None:
            raise reply.error
        return reply.value

    def wait_stopped(self, timeout: float | None = None) -> bool:
        """Whether the agent has stopped (sync mode stops complete at once)."""
        return self._state == STOPPED


class SyncDelivery(LocalDelivery):
    """Runs agents with mail in the calling thread, one batch per agent per turn."""

    __slots__ = ("dispatching", "runq")

    mode = "sync"

    def __init__(self, runtime: ModeRuntime) -> None:
        super().__init__(runtime, SyncRef)
        self.runq: deque[SyncRef] = deque()
        self.dispatching = False

    def dispatch(self) -> None:
        """Run agents with mail until none is left (re-entrant: nested runs restore the flag)."""
        runq = self.runq
        limit = self.runtime.batch
        outer = self.dispatching
        self.dispatching = True
        try:
            while runq:
                ref = runq.popleft()
                ref._drain(limit)
                if ref._q and ref._state != STOPPED:
                    runq.append(ref)
                else:
                    ref._scheduled = False
        finally:
            self.dispatching = outer


class StopReporter(Protocol):
    """The process an agent lives in, told when one of its agents stops (a processes-mode worker,
    a Ray host)."""

    def agent_stopped(self, ref: Any, counters: tuple[int, int, int]) -> None: ...


class ReportingDelivery(SyncDelivery):
    """Sync mode inside a worker process or on a Ray host: an agent that stops here is reported
    to ``owner``, which passes its counters to the process that created the Runtime. They are
    not kept here too: the runtime's totals would count them twice. A ref of the ``proxy`` class
    (an agent that lives elsewhere) is only forgotten."""

    __slots__ = ("owner", "proxy")

    def __init__(self, runtime: ModeRuntime, owner: StopReporter, proxy: type[Any]) -> None:
        super().__init__(runtime)
        self.owner = owner
        self.proxy = proxy

    def retire(self, ref: Any, processed: int, errors: int, dropped: int) -> None:
        if isinstance(ref, self.proxy):
            super().retire(ref, processed, errors, dropped)
            return
        self.router.forget(ref)
        self.owner.agent_stopped(ref, (processed, errors, dropped))
