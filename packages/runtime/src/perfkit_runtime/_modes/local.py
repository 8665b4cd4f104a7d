"""What the in-process modes (sync, threads, asyncio) share: the delivery protocol's structural half.

``LocalDelivery`` implements ``delivery.Delivery`` for agents that live in this process: it hands
out the mode's reference class, keeps the counters of stopped agents, waits for idle by polling
the mailboxes, and closes by stopping every agent and dead-lettering what is left. A
subclass per mode adds its scheduler (how an agent with mail gets a turn) and overrides what
differs (waiting for stops, releasing worker threads, binding an event loop).

References call back into their delivery for the few things that are per runtime: whether it is
``closed``, its ``dead_letters``, and ``retire`` when an agent stops.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from perfkit_runtime._agent import Agent
from perfkit_runtime._exceptions import ModeError
from perfkit_runtime._mailbox import STOPPED
from perfkit_runtime._modes.delivery import AgentTotals, CloseReport

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import ModeRuntime
    from perfkit_runtime._ref import AgentRef
    from perfkit_runtime._router import DeadLetters, Router

__all__ = ["LocalDelivery", "async_hook"]

logger = logging.getLogger("perfkit_runtime")

_HOOKS = ("handle", "on_start", "on_stop")


def async_hook(cls: type[Any]) -> str | None:
    """The first of an agent class's hooks that is ``async def``; None when all are plain."""
    for hook in _HOOKS:
        if inspect.iscoroutinefunction(getattr(cls, hook)):
            return hook
    return None


class LocalDelivery:
    """The base of the in-process deliveries (one per runtime)."""

    __slots__ = ("_retired", "closed", "dead_letters", "ref_class", "report", "router", "runtime")

    mode: ClassVar[str] = ""

    def __init__(self, runtime: ModeRuntime, ref_class: Callable[..., AgentRef]) -> None:
        self.runtime = runtime
        self.ref_class = ref_class
        self.router: Router = runtime.router
        self.dead_letters: DeadLetters = runtime.router.dead_letters
        self.closed = False
        self.report: CloseReport | None = None
        self._retired = [0, 0, 0]  # messages_out, errors, dropped of stopped agents

    # ------------------------------------------------------------------ entering, admitting

    def enter(self, asynchronous: bool) -> None:
        if asynchronous:
            raise ModeError(
                f"'async with' needs Runtime(mode='asyncio'); this runtime is mode={self.mode!r}"
            )

    def admit(self, cls: type[Agent]) -> None:
        """Reject coroutine handlers/hooks outside asyncio mode, with the fix in the message."""
        hook = async_hook(cls)
        if hook is not None:
            raise ModeError(
                f"{cls.__name__}.{hook} is 'async def', which needs Runtime(mode='asyncio'); "
                f"use that mode or make {hook} a plain 'def'"
            )

    # ------------------------------------------------------------------ spawning and stopping

    def start(self, ref: AgentRef, agent: Agent) -> None:
        agent.on_start()

    def stop(self, ref: AgentRef) -> None:
        ref._request_stop()

    def retire(self, ref: AgentRef, processed: int, errors: int, dropped: int) -> None:
        """An agent has stopped: unregister it, keep its counters for ``statistics``."""
        self.router.forget(ref)
        retired = self._retired
        retired[0] += processed
        retired[1] += errors
        retired[2] += dropped

    # ------------------------------------------------------------------ waiting

    def busy(self) -> bool:
        return any(ref._q or ref._scheduled for ref in self.router.agents())

    def wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0001
        while self.busy():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        return True

    async def wait_idle_async(self, timeout: float | None) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self.busy():
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0)
        return True

    # ------------------------------------------------------------------ closing

    def close(self, timeout: float) -> CloseReport:
        if self.report is not None:
            return self.report
        refs: list[Any] = self.router.agents()
        for ref in refs:
            ref._request_stop()
        report = self._finish_close(refs, not self._wait_stopped(refs, timeout))
        self._shut_down()
        return report

    async def aclose(self, timeout: float) -> CloseReport:
        return self.close(timeout)

    def _wait_stopped(self, refs: list[Any], timeout: float) -> bool:
        """Wait until the stop requests are done; False when ``timeout`` ran out first."""
        return True  # sync mode: a stop request completes before it returns

    def _shut_down(self) -> None:
        """Release the mode's resources once every agent has stopped."""

    def _finish_close(self, refs: list[AgentRef], timed_out: bool) -> CloseReport:
        leftover: dict[str, int] = {}
        self.closed = True
        for ref in refs:
            if ref._state == STOPPED:
                continue
            left = ref._abandon("runtime closed")
            if left:
                leftover[ref.name] = left
        report = CloseReport(stopped=len(refs), leftover=leftover, timed_out=timed_out)
        if leftover:
            logger.warning(
                "runtime closed with %d unhandled messages in %d agents (dead letters): %s",
                sum(leftover.values()),
                len(leftover),
                leftover,
            )
        self.report = report
        return report

    def changed(self, change: tuple[Any, ...]) -> None:
        """One process, one address book: nothing to send anywhere."""

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> AgentTotals:
        return self.totals(self.router.agents())

    def totals(self, refs: list[Any]) -> AgentTotals:
        """The counters over ``refs`` and the agents this delivery saw stop."""
        out, errors, dropped = self._retired
        depth = 0
        for ref in refs:
            out += ref._processed
            errors += ref._errors
            dropped += ref._dropped
            depth += len(ref._q)
        return AgentTotals(len(refs), out, errors, dropped, depth)
