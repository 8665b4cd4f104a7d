"""Agent pools: reuse the instances (and mailboxes) of short-lived agents.

Spawning builds an agent instance, a mailbox deque (760 bytes empty on CPython 3.11) and a
reference; a pool keeps the first two of released agents and hands them out again after calling
the agent's ``reset()`` hook, so a spawn-heavy load allocates only the reference. Each
acquisition gets a new reference and id: a released reference stays stopped, and what is sent
to it becomes a dead letter rather than reaching the next user of the instance.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from perfkit_runtime._agent import Agent

if TYPE_CHECKING:
    from perfkit_runtime._ref import AgentRef

__all__ = ["AgentPool", "PoolStats"]


class PoolOwner(Protocol):
    """The runtime as its pools see it (``Runtime`` is one)."""

    @property
    def closed(self) -> bool: ...

    def spawn(self, cls: type[Agent], *args: Any, **kwargs: Any) -> Any: ...

    def stop(self, ref: AgentRef) -> None: ...

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
        placement: object = None,
    ) -> AgentRef: ...


@dataclass(frozen=True, slots=True)
class PoolStats:
    size: int
    idle: int
    created: int
    reused: int


class AgentPool:
    """A bounded free list of agent instances of one class."""

    def __init__(
        self,
        rt: PoolOwner,
        cls: type[Agent],
        size: int,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        options: dict[str, Any],
    ) -> None:
        if size < 1:
            raise ValueError(f"pool size must be at least 1, got {size}")
        self._rt = rt
        self.cls = cls
        self.size = size
        self._args = args
        self._kwargs = kwargs
        self._options = options
        self._free: list[tuple[Agent, deque[Any]]] = []
        self.created = 0
        self.reused = 0

    def acquire(self, name: str | None = None) -> AgentRef:
        """A running agent: a reset, recycled instance when one is idle, else a new one."""
        if self._free:
            agent, q = self._free.pop()
            agent.reset()
            self.reused += 1
            ref = self._rt._start(
                agent, self.cls, self._args, self._kwargs, name=name, q=q, **self._options
            )
        else:
            self.created += 1
            ref = self._rt.spawn(self.cls, *self._args, name=name, **self._options, **self._kwargs)
        ref._pool = self
        return ref

    def release(self, ref: AgentRef) -> None:
        """Stop the agent; once its queued messages are handled, its instance returns here."""
        self._rt.stop(ref)

    def _recycle(self, agent: Agent, q: deque[Any]) -> None:
        if len(self._free) < self.size and not self._rt.closed:
            q.clear()
            self._free.append((agent, q))

    def statistics(self) -> PoolStats:
        return PoolStats(
            size=self.size, idle=len(self._free), created=self.created, reused=self.reused
        )
