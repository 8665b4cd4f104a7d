"""Agent references: the handle users send through, and the agent's mailbox and state behind it.

One ``AgentRef`` subclass per delivery mode keeps each hot path free of mode checks:

- ``SyncRef``: messages run in the caller's thread; a tell from outside a handler returns after the
  message (and everything it caused) has been handled, a tell from inside a handler is queued and
  runs after the current handler returns (run to completion, no recursion).
- ``ThreadRef``: a pool of worker threads runs agents that have mail; an agent runs on one worker
  at a time, so its handler never runs concurrently with itself.
- ``AsyncRef``: agents with mail are scheduled on the event loop with ``call_soon`` (plain
  ``def`` handlers) or as a task (``async def`` handlers); idle agents cost no task.

The mailbox (capacity, overflow policies, drops, waiting for room) is ``_mailbox.Mailbox``, the
base class of ``AgentRef``; a stopped agent's mailbox refuses mail through ``AgentRef._refuse``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from perfkit_runtime._exceptions import (
    AgentStopped,
    AskTimeout,
    MailboxFull,
    ModeError,
    RuntimeClosed,
)
from perfkit_runtime._mailbox import (
    ASK,
    RUNNING,
    START,
    STOP,
    STOPPED,
    STOPPING,
    UNBOUNDED,
    Envelope,
    Mailbox,
    fail_envelope,
    unwrap,
)
from perfkit_runtime._statistics import AgentStats, LatencyRecorder

if TYPE_CHECKING:
    from perfkit_runtime._agent import Agent
    from perfkit_runtime._runtime import Runtime

__all__ = [
    "SUPERVISION_POLICIES",
    "AgentRef",
    "AsyncRef",
]

logger = logging.getLogger("perfkit_runtime")

SUPERVISION_POLICIES = ("resume", "restart", "stop")


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


class AgentRef(Mailbox):
    """Handle to a spawned agent: ``tell``, ``send``, ``ask`` and their batch forms.

    ``tell`` never blocks: on a full mailbox it applies the agent's overflow policy. ``send``
    waits for room when the policy is ``block``. ``ask`` returns the handler's return value.
    """

    __slots__ = (
        "__weakref__",
        "_agent",
        "_args",
        "_cls",
        "_errors",
        "_handle",
        "_history",
        "_kwargs",
        "_name",
        "_pool",
        "_processed",
        "_restarts",
        "_rt",
        "_scheduled",
        "_stop_waiters",
        "_supervision",
        "_timing",
        "id",
    )

    mode = ""

    def __init__(
        self,
        rt: Runtime,
        agent: Agent,
        ident: int,
        name: str | None,
        capacity: int | None,
        overflow: str,
        supervision: str,
        cls: type[Agent],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        q: deque[Any] | None = None,
    ) -> None:
        self._rt = rt
        self._agent = agent
        self.id = ident
        self._name = name
        self._q: deque[Any] = deque() if q is None else q
        self._cap = UNBOUNDED if capacity is None else capacity
        self._overflow = overflow
        self._supervision = supervision
        self._cls = cls
        self._args = args
        self._kwargs = kwargs
        self._scheduled = False
        self._state = RUNNING
        self._processed = 0
        self._errors = 0
        self._restarts = 0
        self._dropped = 0
        self._room_waiters: Any = 0
        self._stop_waiters: Any = None
        self._history = rt.history
        self._pool: Any = None
        self._timing: LatencyRecorder | None = LatencyRecorder() if rt.timing else None
        self._bind(agent)

    def _bind(self, agent: Agent) -> None:
        agent.runtime = self._rt
        agent.ref = self
        self._agent = agent
        # _handle holds a wrapper only when timing is on; otherwise the bound method is made per
        # batch (``_handler()``), which saves one GC-tracked object per idle agent: with 100 k
        # agents alive, garbage-collector passes over them are most of the cost of a spawn.
        self._handle: Callable[[Any], Any] | None = None
        if self._timing is not None:
            self._handle = self._timing.wrap(agent.handle)

    def _handler(self) -> Callable[[Any], Any]:
        return self._handle or self._agent.handle

    # ------------------------------------------------------------------ identity

    @property
    def name(self) -> str:
        if self._name is None:
            return f"{self._cls.__name__.lower()}-{self.id}"
        return self._name

    @property
    def state(self) -> str:
        return self._state

    @property
    def is_alive(self) -> bool:
        return self._state != STOPPED

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} id={self.id} {self._state}>"

    # ------------------------------------------------------------------ sending (shared parts)

    def tell(self, msg: Any) -> None:
        """Deliver ``msg``; never blocks (a full mailbox applies the overflow policy)."""
        q = self._q
        if len(q) >= self._cap and not self._make_room(msg):
            return
        if self._history is not None:
            self._history.record(self.name, unwrap(msg))
        q.append(msg)
        if not self._scheduled:
            self._schedule()

    def tell_batch(self, msgs: Iterable[Any]) -> None:
        """Deliver many messages with one wake-up; each one obeys the overflow policy."""
        q = self._q
        items = list(msgs)
        room = self._cap - len(q)
        if room >= len(items) and self._history is None:
            q.extend(items)
        else:
            for msg in items:
                if len(q) >= self._cap and not self._make_room(msg):
                    continue
                if self._history is not None:
                    self._history.record(self.name, unwrap(msg))
                q.append(msg)
        if q and not self._scheduled:
            self._schedule()

    def _refuse(self, msg: Any) -> bool:
        """Mail for a stopped agent: a dead letter (its asker fails), or RuntimeClosed."""
        if self._rt._closed:
            fail_envelope(msg, RuntimeClosed("the runtime is closed; create a new Runtime"))
            raise RuntimeClosed(
                f"cannot deliver to {self.name!r}: the runtime is closed; create a new Runtime"
            )
        fail_envelope(msg, AgentStopped(f"agent {self.name!r} has stopped"))
        self._rt.router.dead_letters.add(self.name, unwrap(msg), "agent stopped")
        return False

    def _schedule(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ running (worker side)

    def _drain(self, limit: int) -> None:
        """Handle up to ``limit`` queued messages (plain ``def`` handlers)."""
        q = self._q
        popleft = q.popleft
        handle = self._handler()
        k = len(q)
        if k > limit:
            k = limit
        done = 0
        for done in range(1, k + 1):
            try:
                msg = popleft()
            except IndexError:  # drop_oldest took one meanwhile
                done -= 1
                break
            if type(msg) is Envelope:
                if not self._envelope(msg):
                    break
                handle = self._handler()
                continue
            try:
                handle(msg)
            except Exception as exc:
                if not self._failed(msg, exc):
                    break
                handle = self._handler()
        self._processed += done
        if self._room_waiters:
            self._wake_senders()

    def _envelope(self, env: Envelope) -> bool:
        """Handle an ask/stop/start request. False when the agent stopped."""
        if env.kind == ASK:
            try:
                value = self._handler()(env.msg)
            except Exception as exc:
                env.reply.fail(exc)
                return self._failed(env.msg, exc)
            env.reply.done(value)
            return True
        self._processed -= 1  # a control request is not a message
        if env.kind == STOP:
            self._finish_stop()
            return False
        self._agent.on_start()
        return True

    def _failed(self, msg: Any, exc: Exception) -> bool:
        """Count, log and supervise a handler failure. False when the agent stopped."""
        self._errors += 1
        policy = self._supervision
        logger.error(
            "agent %r failed handling a %s message (%s): %r",
            self.name,
            type(msg).__name__,
            policy,
            exc,
            exc_info=exc,
        )
        if policy == "resume":
            return True
        if policy == "restart":
            self._restarts += 1
            self._bind(self._cls(*self._args, **self._kwargs))
            self._restart_hook()
            return True
        self._halt()
        return False

    def _restart_hook(self) -> None:
        self._agent.on_start()

    def _halt(self) -> None:
        """Stop now (supervision ``stop``): queued messages become dead letters."""
        self._state = STOPPING
        self._cap = 0
        self._finish_stop()

    def _finish_stop(self) -> None:
        self._state = STOPPED
        self._cap = 0
        try:
            self._agent.on_stop()
        except Exception as exc:
            self._errors += 1
            logger.error("agent %r failed in on_stop: %r", self.name, exc, exc_info=exc)
        self._after_stop()

    def _after_stop(self) -> None:
        self._dead_letter_rest("agent stopped")
        self._rt._forget(self)
        if self._room_waiters:
            self._wake_senders()
        self._signal_stopped()
        pool = self._pool
        if pool is not None:
            self._pool = None
            pool._recycle(self._agent, self._q)

    def _dead_letter_rest(self, reason: str) -> None:
        q = self._q
        dead = self._rt.router.dead_letters
        while q:
            try:
                msg = q.popleft()
            except IndexError:
                break
            if type(msg) is Envelope and msg.kind != ASK:
                continue
            fail_envelope(msg, AgentStopped(f"agent {self.name!r} stopped before handling it"))
            dead.add(self.name, unwrap(msg), reason)

    def _request_stop(self) -> None:
        if self._state != RUNNING:
            return
        self._state = STOPPING
        # Accepted messages are handled first: the stop request queues behind them, past capacity.
        self._cap = 0
        self._q.append(Envelope(STOP))
        if not self._scheduled:
            self._schedule()

    def _raise_stopped(self) -> None:
        if self._rt._closed:
            raise RuntimeClosed("the runtime is closed; create a new Runtime")
        raise AgentStopped(f"agent {self.name!r} has stopped; spawn a new one to ask it")

    def _wake_senders(self) -> None:
        pass

    def _signal_stopped(self) -> None:
        pass

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> AgentStats:
        depth = len(self._q)
        timing = self._timing
        return AgentStats(
            id=self.id,
            name=self.name,
            state=self._state,
            messages_in=self._processed + depth,
            messages_out=self._processed,
            errors=self._errors,
            restarts=self._restarts,
            mailbox=self.mailbox_statistics(),
            utilization=timing.utilization() if timing is not None else None,
            latency=timing.snapshot() if timing is not None else None,
        )


# ====================================================================== asyncio mode


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


def check_handler_mode(cls: type[Agent], mode: str) -> None:
    """Reject coroutine handlers/hooks outside asyncio mode, with the fix in the message."""
    if mode == "asyncio":
        return
    for hook in ("handle", "on_start", "on_stop"):
        if _is_async(getattr(cls, hook)):
            raise ModeError(
                f"{cls.__name__}.{hook} is 'async def', which needs Runtime(mode='asyncio'); "
                f"use that mode or make {hook} a plain 'def'"
            )
