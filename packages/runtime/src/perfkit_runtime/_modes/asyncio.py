"""Asyncio mode: agents with mail run on the event loop.

Agents with plain ``def`` handlers are scheduled with ``call_soon``, agents with any ``async def``
hook run as a task; idle agents cost no task. ``ask``, ``send`` and ``wait_stopped`` are awaitable.

``AsyncioDelivery`` is the scheduler: the event loop the runtime is bound to (on ``async with`` or
the first spawn), its ``call_soon``/``create_task``/``create_future`` kept as bound methods so a
schedule costs one call, and the set of running agent tasks (kept so they are not collected
mid-run and so ``aclose`` can cancel them).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from perfkit_runtime._agent import Agent
from perfkit_runtime._exceptions import AskTimeout, MailboxFull, ModeError
from perfkit_runtime._mailbox import ASK, RUNNING, START, STOP, STOPPED, STOPPING, Envelope
from perfkit_runtime._modes.delivery import CloseReport
from perfkit_runtime._modes.local import LocalDelivery, async_hook
from perfkit_runtime._ref import AgentRef, logger

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import ModeRuntime
    from perfkit_runtime._protocols import Hooks

__all__ = ["AsyncRef", "AsyncioDelivery", "has_async_hooks"]


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
    _delivery: AsyncioDelivery

    def _bind(self, agent: Hooks) -> None:
        super()._bind(agent)
        # An agent with any coroutine hook runs as a task; one with none runs from call_soon.
        self._async = has_async_hooks(type(agent))
        if self._async and _is_async(agent.handle) and self._timing is not None:
            self._handle = self._timing.wrap_async(agent.handle)

    def _schedule(self) -> None:
        self._scheduled = True
        self._delivery.call_soon(self._run)

    def _run(self) -> None:
        if self._async:
            d = self._delivery
            task = d.create_task(self._run_async())
            d.tasks.add(task)
            task.add_done_callback(d.tasks.discard)
            return
        self._drain(self._delivery.runtime.batch)
        if self._q and self._state != STOPPED:
            self._delivery.call_soon(self._run)
        else:
            self._scheduled = False

    async def _run_async(self) -> None:
        q = self._q
        limit = self._delivery.runtime.batch
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
        done = flushed = 0  # counted before a possible stop, as in AgentRef._drain
        for done in range(1, k + 1):
            try:
                msg = q.popleft()
            except IndexError:
                done -= 1
                break
            if type(msg) is Envelope:
                self._processed += done - flushed
                flushed = done
                if not await self._envelope_async(msg):
                    break
                continue
            try:
                await _maybe_await(self._handler()(msg))
            except Exception as exc:
                self._processed += done - flushed
                flushed = done
                if not await self._failed_async(msg, exc):
                    break
        self._processed += done - flushed
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

    def _queue_start(self) -> None:
        """Run an ``async def on_start`` as the agent's first turn."""
        self._q.appendleft(Envelope(START))
        self._schedule()

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
        if self._state != RUNNING:
            self._raise_stopped()
        items = list(msgs)
        step = max(1, min(len(items), self._cap))
        for i in range(0, len(items), step):
            chunk = items[i : i + step]
            if self._overflow == "block":
                await self._wait_room(len(chunk))
            self.tell_batch(chunk)

    async def _wait_room(self, n: int) -> None:
        await self._wait_room_async(self._delivery.create_future, n)
        if self._state != RUNNING:
            self._raise_stopped()

    def _wake_senders(self) -> None:
        self._wake_waiting_tasks()

    async def ask(self, msg: Any, timeout: float | None = None) -> Any:
        """Deliver ``msg`` and await the reply (``AskTimeout`` after ``timeout`` seconds)."""
        if self._state != RUNNING:
            self._raise_stopped()
        fut = self._delivery.create_future()
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
        fut = self._delivery.create_future()
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


def has_async_hooks(cls: type[Hooks]) -> bool:
    """Whether any of the class's hooks is ``async def`` (cached: inspect costs ~0.5 µs a call)."""
    try:
        return _ASYNC_HOOKS[cls]
    except KeyError:
        flag = async_hook(cls) is not None
        _ASYNC_HOOKS[cls] = flag
        return flag


class AsyncioDelivery(LocalDelivery):
    """Runs agents with mail on the event loop the runtime is bound to."""

    __slots__ = ("call_soon", "create_future", "create_task", "loop", "tasks")

    mode = "asyncio"

    def __init__(self, runtime: ModeRuntime) -> None:
        super().__init__(runtime, self._first_ref)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.call_soon: Callable[..., Any]
        self.create_future: Callable[[], asyncio.Future[Any]]
        self.create_task: Callable[..., asyncio.Task[Any]]
        self.tasks: set[asyncio.Task[Any]] = set()

    def enter(self, asynchronous: bool) -> None:
        if not asynchronous:
            raise ModeError("an asyncio-mode Runtime is used with 'async with', not 'with'")
        self._bind_loop()

    def _bind_loop(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ModeError(
                "an asyncio-mode Runtime needs a running event loop: create and use it inside a "
                "coroutine (asyncio.run(main()))"
            ) from None
        if self.loop is not None and self.loop is not loop:
            raise ModeError("this Runtime is bound to another event loop; create one per loop")
        self.loop = loop
        self.ref_class = AsyncRef
        self.call_soon = loop.call_soon
        self.create_future = loop.create_future
        self.create_task = loop.create_task

    def admit(self, cls: type[Agent]) -> None:
        """Every hook may be a coroutine function here."""

    def _first_ref(self, *args: Any) -> AsyncRef:
        """The reference class until a loop is bound: the first spawn binds the running loop."""
        self._bind_loop()
        return AsyncRef(*args)

    def start(self, ref: Any, agent: Agent) -> None:
        if _is_async(agent.on_start):
            ref._queue_start()
        else:
            agent.on_start()

    def busy(self) -> bool:
        # Written out rather than through super(): wait_idle_async polls this once per loop turn.
        return any(ref._q or ref._scheduled for ref in self.router.agents()) or bool(self.tasks)

    def wait_idle(self, timeout: float | None) -> bool:
        raise ModeError("in asyncio mode use 'await rt.wait_idle_async()'")

    def close(self, timeout: float) -> CloseReport:
        raise ModeError("an asyncio-mode Runtime is closed with 'await rt.aclose()'")

    async def aclose(self, timeout: float) -> CloseReport:
        if self.report is not None:
            return self.report
        refs: list[Any] = self.router.agents()
        for ref in refs:
            ref._request_stop()
        waits = [asyncio.ensure_future(ref.wait_stopped()) for ref in refs]
        timed_out = False
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout)
            for fut in pending:
                fut.cancel()
            timed_out = bool(pending)
        report = self._finish_close(refs, timed_out)
        for task in list(self.tasks):
            task.cancel()
        return report
