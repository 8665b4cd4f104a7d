"""Sync mode: messages run in the caller's thread.

A tell from outside a handler returns after the message (and everything it caused) has been
handled; a tell from inside a handler is queued and runs after the current handler returns (run
to completion, no recursion).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from perfkit_runtime._exceptions import AskTimeout
from perfkit_runtime._mailbox import ASK, RUNNING, STOPPED, Envelope, unwrap
from perfkit_runtime._ref import AgentRef

__all__ = ["SyncRef"]


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

    def tell(self, msg: Any) -> None:
        """Deliver ``msg``; from outside a handler it is handled before tell returns."""
        q = self._q
        if len(q) >= self._cap and not self._make_room(msg):
            return
        if self._history is not None:
            self._history.record(self.name, unwrap(msg))
        rt = self._rt
        if rt._dispatching or self._scheduled or type(msg) is Envelope:
            q.append(msg)
            if not self._scheduled:
                self._schedule()
            return
        # Nothing is running and the mailbox is empty: handle the message right here, skipping
        # the run queue. Same order and run-to-completion as the queued path, a third cheaper.
        self._scheduled = True
        rt._dispatching = True
        try:
            (self._handle or self._agent.handle)(msg)
        except Exception as exc:
            self._failed(msg, exc)
        finally:
            rt._dispatching = False
        self._processed += 1
        if q and self._state != STOPPED:
            rt._runq.append(self)
            rt._dispatch()
        else:
            self._scheduled = False
            if rt._runq:
                rt._dispatch()

    def _schedule(self) -> None:
        self._scheduled = True
        rt = self._rt
        rt._runq.append(self)
        if not rt._dispatching:
            rt._dispatch()

    def send(self, msg: Any) -> None:
        """Deliver ``msg``. Sync mode cannot wait inside a handler, so a full mailbox raises."""
        self.tell(msg)

    def send_batch(self, msgs: Iterable[Any]) -> None:
        for msg in msgs:
            self.send(msg)

    def ask(self, msg: Any, timeout: float | None = None) -> Any:
        """Deliver ``msg`` and return the handler's return value (its exception is raised)."""
        if self._state != RUNNING:
            self._raise_stopped()
        reply = _SyncReply()
        self.tell(Envelope(ASK, msg, reply))
        if not reply.ready:
            self._rt._dispatch()
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
