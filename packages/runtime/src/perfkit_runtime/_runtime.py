"""The Runtime: spawns agents, runs their mailboxes in one of three modes, closes gracefully.

The runtime checks what callers give it and owns the router; how agents run is its delivery's
job (``_modes``: one module per mode), reached only through the ``_modes.delivery.Delivery``
protocol. Messages never pass through the runtime: ``spawn`` hands out the mode's reference and
callers tell it directly (``rt.tell`` is the router's).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from itertools import count
from types import TracebackType
from typing import Any

from perfkit_runtime._agent import Agent
from perfkit_runtime._exceptions import ModeError, RuntimeClosed, SpawnError
from perfkit_runtime._history import History
from perfkit_runtime._mailbox import OVERFLOW_POLICIES
from perfkit_runtime._modes import MODES, Mode, open_delivery
from perfkit_runtime._modes.delivery import CloseReport
from perfkit_runtime._pool import AgentPool
from perfkit_runtime._ref import SUPERVISION_POLICIES, AgentRef
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

# An agent with mail handles up to 256 messages before the next agent gets a turn: large enough
# that scheduling costs vanish per message, small enough that one busy agent cannot starve others.
DEFAULT_BATCH = 256
# Threads give no CPU parallelism under the GIL; four workers let handlers that block (I/O, ask)
# overlap without paying for many idle threads.
DEFAULT_WORKERS = 4


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
        self._ids = count(1)
        self._checked: set[type[Agent]] = set()
        self._delivery = open_delivery(mode, self, workers)

    # ------------------------------------------------------------------ context managers

    def __enter__(self) -> Runtime:
        self._delivery.enter(asynchronous=False)
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def __aenter__(self) -> Runtime:
        self._delivery.enter(asynchronous=True)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    @property
    def closed(self) -> bool:
        return self._delivery.closed

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
        if self._delivery.closed:
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
        self._delivery.admit(cls)
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
        delivery = self._delivery
        if delivery.closed:
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
        ref = delivery.ref_class(
            delivery,
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
            try:
                delivery.start(ref, agent)
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
        self._delivery.stop(ref)

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

    # ------------------------------------------------------------------ waiting and closing

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every mailbox is empty (sync, threads); False on timeout."""
        return self._delivery.wait_idle(timeout)

    async def wait_idle_async(self, timeout: float | None = None) -> bool:
        """Wait until every mailbox is empty and no agent is scheduled; False on timeout."""
        return await self._delivery.wait_idle_async(timeout)

    def close(self, timeout: float | None = None) -> CloseReport:
        """Stop every agent after its queued messages, within ``timeout`` seconds.

        Messages still queued when the time is up are counted as dead letters (reason
        ``runtime closed``) and reported per agent in the returned CloseReport.
        """
        return self._delivery.close(self.close_timeout if timeout is None else timeout)

    async def aclose(self, timeout: float | None = None) -> CloseReport:
        """Asyncio-mode close: stop every agent after its queued messages, within ``timeout``."""
        return await self._delivery.aclose(self.close_timeout if timeout is None else timeout)

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> RuntimeStats:
        totals = self._delivery.statistics()
        return RuntimeStats(
            mode=self.mode,
            agents=totals.agents,
            messages_in=totals.messages_out + totals.mailbox_depth,
            messages_out=totals.messages_out,
            errors=totals.errors,
            dropped=totals.dropped,
            dead_letters=self.router.dead_letters.total,
            mailbox_depth=totals.mailbox_depth,
            router=self.router.statistics(),
        )

    def __repr__(self) -> str:
        state = "closed" if self._delivery.closed else "open"
        return f"<Runtime mode={self.mode!r} agents={len(self.router.agents())} {state}>"
