"""Asyncio mode: agents with mail run on the event loop.

Agents with plain ``def`` handlers are scheduled with ``call_soon``, agents with any ``async def``
hook run as a task; idle agents cost no task. ``ask``, ``send`` and ``wait_stopped`` are awaitable.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from perfkit_runtime._exceptions import AskTimeout, MailboxFull
from perfkit_runtime._mailbox import ASK, RUNNING, START, STOP, STOPPED, STOPPING, Envelope
from perfkit_runtime._ref import AgentRef, logger

if TYPE_CHECKING:
    from perfkit_runtime._agent import Agent

__all__ = ["AsyncRef", "has_async_hooks"]


class _AsyncReply:
    __slots__ = ("fut",)

    def __init__(self, fut: asyncio.Future[Any]) -> None:
        self.fut = fut

    def done(self, value: Any) -> None:
        if not self.fut.done():
            self.fut.set_result(value)

    def fail(self, error: BaseException) -> None:
        if not self.fut.done():
            self.fut.set_exception(error)


def _expire(fut: asyncio.Future[Any], name: str, timeout: float) -> None:
    if not fut.done():
        fut.set_exception(
            AskTimeout(f"agent {name!r} did not reply within {timeout}s; raise the timeout")
        )


class AsyncRef(AgentRef):
    """Reference in a ``mode="asyncio"`` runtime. ``ask`` and ``send`` are awaitable."""

    __slots__ = ("_async",)
    mode = "asyncio"

    def _bind(self, agent: Agent) -> None:
        super()._bind(agent)
        # An agent with any coroutine hook runs as a task; one with none runs from call_soon.
        self._async = has_async_hooks(type(agent))
        if self._async and _is_async(agent.handle) and self._timing is not None:
            self._handle = self._timing.wrap_async(agent.handle)

    def _schedule(self) -> None:
        self._scheduled = True
        self._rt._loop_call_soon(self._run)

    def _run(self) -> None:
        if self._async:
            task = self._rt._loop_create_task(self._run_async())
            self._rt._tasks.add(task)
            task.add_done_callback(self._rt._tasks.discard)
            return
        self._drain(self._rt.batch)
        if self._q and self._state != STOPPED:
            self._rt._loop_call_soon(self._run)
        else:
            self._scheduled = False

    async def _run_async(self) -> None:
        q = self._q
        limit = self._rt.batch
        while q:
            await self._drain_async(limit)
            if self._state == STOPPED:
                break
        self._scheduled = False
        if q and self._state != STOPPED:
            self._schedule()

    async def _drain_async(self, limit: int) -> None:
        q = self._q
        k = min(len(q), limit)
        done = 0
        for done in range(1, k + 1):
            try:
                msg = q.popleft()
            except IndexError:
                done -= 1
                break
            if type(msg) is Envelope:
                if not await self._envelope_async(msg):
                    break
                continue
            try:
                await _maybe_await(self._handler()(msg))
            except Exception as exc:
                if not await self._failed_async(msg, exc):
                    break
        self._processed += done
        if self._room_waiters:
            self._wake_senders()

    async def _envelope_async(self, env: Envelope) -> bool:
        if env.kind == ASK:
            try:
                value = await _maybe_await(self._handler()(env.msg))
            except Exception as exc:
                env.reply.fail(exc)
                return await self._failed_async(env.msg, exc)
            env.reply.done(value)
            return True
        self._processed -= 1  # a control request is not a message
        if env.kind == STOP:
            await self._finish_stop_async()
            return False
        await _maybe_await(self._agent.on_start())
        return True

    async def _failed_async(self, msg: Any, exc: Exception) -> bool:
        if self._supervision == "stop":
            self._errors += 1
            logger.error(
                "agent %r failed handling a %s message (stop): %r",
                self.name,
                type(msg).__name__,
                exc,
                exc_info=exc,
            )
            self._state = STOPPING
            self._cap = 0
            await self._finish_stop_async()
            return False
        return self._failed(msg, exc)  # a restart queues the fresh instance's async on_start

    def _restart_hook(self) -> None:
        if _is_async(self._agent.on_start):
            self._q.appendleft(Envelope(START))
        else:
            self._agent.on_start()

    async def _finish_stop_async(self) -> None:
        self._state = STOPPED
        self._cap = 0
        try:
            await _maybe_await(self._agent.on_stop())
        except Exception as exc:
            self._errors += 1
            logger.error("agent %r failed in on_stop: %r", self.name, exc, exc_info=exc)
        self._after_stop()

    async def send(self, msg: Any) -> None:
        """Deliver ``msg``, waiting for room when the mailbox is full and the policy is block."""
        while True:
            if self._state != RUNNING:
                self._raise_stopped()
            try:
                self.tell(msg)
                return
            except MailboxFull:
                if self._overflow != "block":
                    raise
            await self._wait_room(1)

    async def send_batch(self, msgs: Iterable[Any]) -> None:
        items = list(msgs)
        step = max(1, min(len(items), self._cap))
        for i in range(0, len(items), step):
            chunk = items[i : i + step]
            if self._overflow == "block":
                await self._wait_room(len(chunk))
            self.tell_batch(chunk)

    async def _wait_room(self, n: int) -> None:
        await self._wait_room_async(self._rt._loop_create_future, n)
        if self._state != RUNNING:
            self._raise_stopped()

    def _wake_senders(self) -> None:
        self._wake_waiting_tasks()

    async def ask(self, msg: Any, timeout: float | None = None) -> Any:
        """Deliver ``msg`` and await the reply (``AskTimeout`` after ``timeout`` seconds)."""
        if self._state != RUNNING:
            self._raise_stopped()
        rt = self._rt
        fut = rt._loop_create_future()
        env = Envelope(ASK, msg, _AsyncReply(fut))
        if self._overflow == "block" and len(self._q) >= self._cap:
            await self._wait_room(1)
        self.tell(env)
        if timeout is None:
            return await fut
        timer = asyncio.get_running_loop().call_later(timeout, _expire, fut, self.name, timeout)
        try:
            return await fut
        finally:
            timer.cancel()

    def _signal_stopped(self) -> None:
        waiters = self._stop_waiters
        if waiters:
            self._stop_waiters = None
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def wait_stopped(self, timeout: float | None = None) -> bool:
        """Wait until the agent has stopped; False on timeout."""
        if self._state == STOPPED:
            return True
        fut = self._rt._loop_create_future()
        if self._stop_waiters is None:
            self._stop_waiters = []
        self._stop_waiters.append(fut)
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return False
        return True


def _is_async(func: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(func)


async def _maybe_await(value: Any) -> Any:
    if asyncio.iscoroutine(value):
        return await value
    return value


_ASYNC_HOOKS: dict[type[Any], bool] = {}


def has_async_hooks(cls: type[Agent]) -> bool:
    """Whether any of the class's hooks is ``async def`` (cached: inspect costs ~0.5 µs a call)."""
    try:
        return _ASYNC_HOOKS[cls]
    except KeyError:
        flag = any(_is_async(getattr(cls, h)) for h in ("handle", "on_start", "on_stop"))
        _ASYNC_HOOKS[cls] = flag
        return flag
