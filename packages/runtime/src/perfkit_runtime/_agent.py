"""The Agent base class that user agents subclass."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfkit_runtime._protocols import RuntimeView
    from perfkit_runtime._ref import AgentRef

__all__ = ["Agent"]


class Agent:
    """Base class of every agent.

    Override ``handle(msg)``: its return value is the reply to ``ask()``. ``handle`` may be
    ``async def`` when the runtime runs in ``mode="asyncio"``. ``on_start`` runs before the first
    message, ``on_stop`` after the last; ``reset`` runs when a pool hands a recycled instance out
    again. ``self.runtime`` and ``self.ref`` are set before ``on_start``; ``self.runtime`` is typed
    as what a handler uses of its runtime (``_protocols.RuntimeView``).

    Subclasses may declare ``__slots__`` to keep idle agents small.
    """

    __slots__ = ("__weakref__", "ref", "runtime")

    runtime: RuntimeView
    ref: AgentRef

    def handle(self, msg: Any) -> Any:
        """Process one message; the return value answers ``ask()``."""
        raise NotImplementedError(f"{type(self).__name__} must define handle(self, msg)")

    def on_start(self) -> Any:
        """Called once before the first message."""

    def on_stop(self) -> Any:
        """Called once after the last message."""

    def reset(self) -> None:
        """Called when a pool reuses this instance; clear per-use state here."""
