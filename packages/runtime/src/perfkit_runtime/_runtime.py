"""The Runtime: spawns agents, runs their mailboxes in one of three modes, closes gracefully."""

from __future__ import annotations

import asyncio
import inspect
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import count
from types import TracebackType
from typing import Any, Literal

from perfkit_runtime._agent import Agent
from perfkit_runtime._exceptions import ModeError, RuntimeClosed, SpawnError
from perfkit_runtime._history import History
from perfkit_runtime._mailbox import ASK, OVERFLOW_POLICIES, START, STOPPED, Envelope
from perfkit_runtime._modes.asyncio import AsyncRef
from perfkit_runtime._modes.sync import SyncRef
from perfkit_runtime._modes.threads import ThreadRef
from perfkit_runtime._pool import AgentPool
from perfkit_runtime._ref import SUPERVISION_POLICIES, AgentRef, check_handler_mode
from perfkit_runtime._router import (
    GROUP_STRATEGIES,
    BroadcastGroup,
    ConsistentHashGroup,
    DeadLetters,
    Group,
    RoundRobinGroup,
    Router,
)
from perfkit_runtime._statistics import RuntimeStats

__all__ = ["MODES", "CloseReport", "Runtime"]

logger = logging.getLogger("perfkit_runtime")

Mode = Literal["sync", "threads", "asyncio"]
MODES: tuple[str, ...] = ("sync", "threads", "asyncio")
_REF_CLASS: dict[str, type[AgentRef]] = {"sync": SyncRef, "threads": ThreadRef, "asyncio": AsyncRef}

# An agent with mail handles up to 256 messages before the next agent gets a turn: large enough
# that scheduling costs vanish per message, small enough that one busy agent cannot starve others.
DEFAULT_BATCH = 256
# Threads give no CPU parallelism under the GIL; four workers let handlers that block (I/O, ask)
# overlap without paying for many idle threads.
DEFAULT_WORKERS = 4


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What a graceful close achieved: agents stopped, and messages left unhandled per agent."""

    stopped: int
    leftover: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def clean(self) -> bool:
        return not self.leftover and not self.timed_out


class Runtime:
    """An in-process multi-agent runtime.

    ``mode`` chooses how mailboxes run: ``"sync"`` (in the caller's thread), ``"threads"`` (a
    pool of ``workers`` threads) or ``"asyncio"`` (on the running event loop). Use it as a
    context manager (``async with`` in asyncio mode) so that it closes gracefully.
    """

    def __init__(
        self,
        mode: Mode | str = "sync",
        *,
        workers: int = DEFAULT_WORKERS,
        batch: int = DEFAULT_BATCH,
        timing: bool = False,
        history: History | None = None,
        dead_letter_limit: int = 1000,
        close_timeout: float = 5.0,
    ) -> None:
        if mode not in MODES:
            raise ModeError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        self.mode: str = mode
        self.batch = batch
        self.timing = timing
        self.history = history
        self.close_timeout = close_timeout
        self.router = Router(dead_letter_limit)
        self._ref_cls = _REF_CLASS[mode]
        self._ids = count(1)
        self._closed = False
        self._close_report: CloseReport | None = None
        self._checked: set[type[Agent]] = set()
        self._retired = [0, 0, 0, 0]  # messages_out, errors, dropped, agents of stopped agents
        # sync mode
        self._runq: deque[AgentRef] = deque()
        self._dispatching = False
        # threads mode
        self._sched_lock = threading.Lock()
        self._room = threading.Condition()
        self._workers: list[threading.Thread] = []
        self._thread_q: queue.SimpleQueue[ThreadRef | None] = queue.SimpleQueue()
        self._runq_put: Callable[[Any], None] = self._thread_q.put
        # asyncio mode
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_call_soon: Callable[..., Any]
        self._loop_create_future: Callable[[], asyncio.Future[Any]]
        self._loop_create_task: Callable[..., asyncio.Task[Any]]
        self._tasks: set[asyncio.Task[Any]] = set()
        if mode == "threads":
            for i in range(workers):
                worker = threading.Thread(
                    target=self._work, name=f"perfkit-runtime-worker-{i}", daemon=True
                )
                worker.start()
                self._workers.append(worker)

    # ------------------------------------------------------------------ context managers

    def __enter__(self) -> Runtime:
        if self.mode == "asyncio":
            raise ModeError("an asyncio-mode Runtime is used with 'async with', not 'with'")
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Runtime:
        self._bind_loop()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ spawning

    def spawn(
        self,
        cls: type[Agent],
        *args: Any,
        name: str | None = None,
        capacity: int | None = None,
        overflow: str = "block",
        supervision: str = "resume",
        **kwargs: Any,
    ) -> Any:
        """Start an agent of class ``cls`` (constructed with ``*args, **kwargs``); returns its ref.

        ``capacity`` bounds the mailbox (None: unbounded); ``overflow`` is what ``tell`` does on a
        full mailbox (``block``: raise MailboxFull, ``send`` waits; ``drop_newest``;
        ``drop_oldest``; ``fail``: tell and send raise); ``supervision`` is what a handler
        exception does to the agent (``resume``, ``restart`` a fresh instance, ``stop``).
        """
        if self._closed:
            raise RuntimeClosed("cannot spawn: the runtime is closed; create a new Runtime")
        if cls not in self._checked:
            self._check_class(cls)
        try:
            agent = cls(*args, **kwargs)
        except TypeError as exc:
            raise SpawnError(
                f"cannot construct {cls.__name__}: {exc}; pass its arguments to spawn()"
            ) from exc
        return self._start(
            agent,
            cls,
            args,
            kwargs,
            name=name,
            capacity=capacity,
            overflow=overflow,
            supervision=supervision,
        )

    def _check_class(self, cls: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Agent)):
            raise SpawnError(
                f"spawn() needs a subclass of perfkit_runtime.Agent, got {cls!r}; "
                "define 'class MyAgent(Agent)' with a handle(self, msg) method"
            )
        if cls.handle is Agent.handle:
            raise SpawnError(f"{cls.__name__} does not define handle(self, msg); add one")
        check_handler_mode(cls, self.mode)
        self._checked.add(cls)

    def _start(
        self,
        agent: Agent,
        cls: type[Agent],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        name: str | None = None,
        capacity: int | None = None,
        overflow: str = "block",
        supervision: str = "resume",
        q: deque[Any] | None = None,
    ) -> AgentRef:
        if self._closed:
            raise RuntimeClosed("cannot spawn: the runtime is closed; create a new Runtime")
        if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
            raise SpawnError(f"capacity must be a positive int or None, got {capacity!r}")
        if overflow not in OVERFLOW_POLICIES:
            raise SpawnError(
                f"unknown overflow policy {overflow!r}; choose one of {', '.join(OVERFLOW_POLICIES)}"
            )
        if supervision not in SUPERVISION_POLICIES:
            raise SpawnError(
                f"unknown supervision policy {supervision!r}; "
                f"choose one of {', '.join(SUPERVISION_POLICIES)}"
            )
        if name is not None and self.router.name_taken(name):
            raise SpawnError(
                f"the name {name!r} is taken; pick another or stop the agent that has it first"
            )
        if self.mode == "asyncio" and self._loop is None:
            self._bind_loop()
        ref = self._ref_cls(
            self,
            agent,
            next(self._ids),
            name,
            capacity,
            overflow,
            supervision,
            cls,
            args,
            kwargs,
            q,
        )
        self.router.register(ref, name)
        if cls.on_start is not Agent.on_start:
            if inspect.iscoroutinefunction(agent.on_start):
                ref._q.appendleft(Envelope(START))
                ref._schedule()
            else:
                try:
                    agent.on_start()
                except BaseException:
                    self.router.forget(ref)
                    raise
        return ref

    def spawn_many(self, cls: type[Agent], n: int, *args: Any, **options: Any) -> list[Any]:
        """Spawn ``n`` agents of ``cls`` with the same options (names must not be given)."""
        if "name" in options:
            raise SpawnError("spawn_many() cannot give one name to many agents; omit name=")
        return [self.spawn(cls, *args, **options) for _ in range(n)]

    def pool(
        self,
        cls: type[Agent],
        size: int = 64,
        *,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> AgentPool:
        """A pool that reuses instances of ``cls`` (their ``reset()`` runs on reuse)."""
        self._check_class(cls)
        return AgentPool(self, cls, size, args, kwargs or {}, options)

    def stop(self, ref: AgentRef) -> None:
        """Stop an agent after the messages already in its mailbox; later ones are dead letters."""
        ref._request_stop()

    def _forget(self, ref: AgentRef) -> None:
        self.router.forget(ref)
        retired = self._retired
        retired[0] += ref._processed
        retired[1] += ref._errors
        retired[2] += ref._dropped
        retired[3] += 1

    # ------------------------------------------------------------------ addressing

    def lookup(self, address: str | int) -> Any:
        """The ref of the agent registered under a name or id (UnknownAddress otherwise)."""
        return self.router.lookup(address)

    def tell(self, address: object, msg: Any, key: object = None) -> None:
        """Send to an agent (name, id, ref) or a group (name, with ``key`` for consistent hash)."""
        self.router.tell(address, msg, key)

    def subscribe(self, topic: str, ref: AgentRef) -> None:
        self.router.subscribe(topic, ref)

    def unsubscribe(self, topic: str, ref: AgentRef) -> bool:
        return self.router.unsubscribe(topic, ref)

    def publish(self, topic: str, msg: Any) -> int:
        """Deliver to every subscriber of ``topic``; returns how many (0: a dead letter)."""
        return self.router.publish(topic, msg)

    def group(
        self,
        name: str,
        members: Iterable[AgentRef] = (),
        strategy: str = "round_robin",
        *,
        key: Callable[[Any], object] | None = None,
    ) -> Group:
        """Create a named group routed by ``round_robin``, ``consistent_hash`` or ``broadcast``."""
        if self.router.name_taken(name):
            raise SpawnError(f"the name {name!r} is taken; pick another group name")
        group: Group
        if strategy == "round_robin":
            group = RoundRobinGroup(self.router, name, members)
        elif strategy == "consistent_hash":
            group = ConsistentHashGroup(self.router, name, members, key)
        elif strategy == "broadcast":
            group = BroadcastGroup(self.router, name, members)
        else:
            raise SpawnError(
                f"unknown group strategy {strategy!r}; choose one of {', '.join(GROUP_STRATEGIES)}"
            )
        self.router.add_group(group)
        return group

    @property
    def dead_letters(self) -> DeadLetters:
        return self.router.dead_letters

    def names(self) -> list[str]:
        return self.router.names()

    def agents(self) -> list[AgentRef]:
        return self.router.agents()

    # ------------------------------------------------------------------ sync mode

    def _dispatch(self) -> None:
        """Run agents with mail until none is left (re-entrant: nested runs restore the flag)."""
        runq = self._runq
        limit = self.batch
        outer = self._dispatching
        self._dispatching = True
        try:
            while runq:
                ref = runq.popleft()
                ref._drain(limit)
                if ref._q and ref._state != STOPPED:
                    runq.append(ref)
                else:
                    ref._scheduled = False
        finally:
            self._dispatching = outer

    # ------------------------------------------------------------------ threads mode

    def _work(self) -> None:
        get = self._thread_q.get
        limit = self.batch
        while True:
            ref = get()
            if ref is None:
                return
            try:
                ref._run(limit)
            except Exception as exc:  # a bug in the runtime itself: keep the worker alive
                logger.critical("worker failed running %r: %r", ref, exc, exc_info=exc)

    # ------------------------------------------------------------------ asyncio mode

    def _bind_loop(self) -> None:
        if self.mode != "asyncio":
            raise ModeError(
                f"'async with' needs Runtime(mode='asyncio'); this runtime is mode={self.mode!r}"
            )
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise ModeError(
                "an asyncio-mode Runtime needs a running event loop: create and use it inside a "
                "coroutine (asyncio.run(main()))"
            ) from None
        if self._loop is not None and self._loop is not loop:
            raise ModeError("this Runtime is bound to another event loop; create one per loop")
        self._loop = loop
        self._loop_call_soon = loop.call_soon
        self._loop_create_future = loop.create_future
        self._loop_create_task = loop.create_task

    # ------------------------------------------------------------------ waiting and closing

    def _busy(self) -> bool:
        return any(ref._q or ref._scheduled for ref in self.router.agents())

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every mailbox is empty (sync, threads); False on timeout."""
        if self.mode == "asyncio":
            raise ModeError("in asyncio mode use 'await rt.wait_idle_async()'")
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0001
        while self._busy():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        return True

    async def wait_idle_async(self, timeout: float | None = None) -> bool:
        """Wait until every mailbox is empty and no agent is scheduled; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._busy() or self._tasks:
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0)
        return True

    def close(self, timeout: float | None = None) -> CloseReport:
        """Stop every agent after its queued messages, within ``timeout`` seconds.

        Messages still queued when the time is up are counted as dead letters (reason
        ``runtime closed``) and reported per agent in the returned CloseReport.
        """
        if self.mode == "asyncio":
            raise ModeError("an asyncio-mode Runtime is closed with 'await rt.aclose()'")
        if self._close_report is not None:
            return self._close_report
        timeout = self.close_timeout if timeout is None else timeout
        refs: list[Any] = self.router.agents()
        for ref in refs:
            ref._request_stop()
        timed_out = False
        if self.mode == "threads":
            deadline = time.monotonic() + timeout
            for ref in refs:
                remaining = max(0.0, deadline - time.monotonic())
                if not ref.wait_stopped(remaining):
                    timed_out = True
        report = self._finish_close(refs, timed_out)
        if self.mode == "threads":
            for _ in self._workers:
                self._thread_q.put(None)
            for worker in self._workers:
                worker.join(0.5)
        return report

    async def aclose(self, timeout: float | None = None) -> CloseReport:
        """Asyncio-mode close: stop every agent after its queued messages, within ``timeout``."""
        if self._close_report is not None:
            return self._close_report
        if self.mode != "asyncio":
            return self.close(timeout)
        timeout = self.close_timeout if timeout is None else timeout
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
        for task in list(self._tasks):
            task.cancel()
        return report

    def _finish_close(self, refs: list[AgentRef], timed_out: bool) -> CloseReport:
        leftover: dict[str, int] = {}
        self._closed = True
        for ref in refs:
            if ref._state == STOPPED:
                continue
            left = sum(1 for m in list(ref._q) if type(m) is not Envelope or m.kind == ASK)
            if left:
                leftover[ref.name] = left
            ref._state = STOPPED
            ref._cap = 0
            ref._dead_letter_rest("runtime closed")
            self._forget(ref)
            ref._signal_stopped()
        report = CloseReport(stopped=len(refs), leftover=leftover, timed_out=timed_out)
        if leftover:
            logger.warning(
                "runtime closed with %d unhandled messages in %d agents (dead letters): %s",
                sum(leftover.values()),
                len(leftover),
                leftover,
            )
        self._close_report = report
        return report

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> RuntimeStats:
        refs = self.router.agents()
        out, errors, dropped, _ = self._retired
        depth = 0
        for ref in refs:
            out += ref._processed
            errors += ref._errors
            dropped += ref._dropped
            depth += len(ref._q)
        return RuntimeStats(
            mode=self.mode,
            agents=len(refs),
            messages_in=out + depth,
            messages_out=out,
            errors=errors,
            dropped=dropped,
            dead_letters=self.router.dead_letters.total,
            mailbox_depth=depth,
            router=self.router.statistics(),
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Runtime mode={self.mode!r} agents={len(self.router.agents())} {state}>"
