"""How the lower layers see the objects above them: narrow protocols, no implementation.

The runtime's modules layer (``tests/test_layering.py`` pins it, counting every import)::

    leaf types      _exceptions _statistics _history _mailbox _protocols ...
    references      _ref (AgentRef), _router, _agent (Agent), _pool
    in-process      _modes: delivery, local, sync, threads, asyncio
    runtime         _runtime (Runtime)
    other processes _modes.processes, _modes.ray, _processes, _ray (workers run a Runtime)
    facade          perfkit_runtime

A module only imports modules of its own layer or below. What a lower module needs of a higher
one it types against a protocol here: an agent's ``runtime`` is a ``RuntimeView``, a reference
runs its agent as ``Hooks`` and reaches its delivery as a ``RefDelivery``. These are types only:
no call goes through them that did not go to the same object before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from perfkit_runtime._history import History
    from perfkit_runtime._statistics import RuntimeStats

__all__ = ["DeadLetterSink", "Hooks", "RefDelivery", "RuntimeView"]


class RuntimeView(Protocol):
    """The runtime as an agent (``Agent.runtime``) and its reference see it: its settings and
    the calls a handler makes. ``Runtime`` is one; the objects it returns are typed ``Any``
    here because their classes live above this module."""

    mode: str
    batch: int
    timing: bool
    history: History | None

    @property
    def closed(self) -> bool: ...

    def spawn(
        self,
        cls: Any,
        *args: Any,
        name: str | None = None,
        capacity: int | None = None,
        overflow: str = "block",
        supervision: str = "resume",
        placement: object = None,
        **kwargs: Any,
    ) -> Any: ...

    def spawn_many(self, cls: Any, n: int, *args: Any, **options: Any) -> list[Any]: ...

    def stop(self, ref: Any) -> None: ...

    def lookup(self, address: str | int) -> Any: ...

    def tell(self, address: object, msg: Any, key: object = None) -> None: ...

    def publish(self, topic: str, msg: Any) -> int: ...

    def subscribe(self, topic: str, ref: Any) -> None: ...

    def unsubscribe(self, topic: str, ref: Any) -> bool: ...

    def group(
        self,
        name: str,
        members: Iterable[Any] = (),
        strategy: str = "round_robin",
        *,
        key: Callable[[Any], object] | None = None,
    ) -> Any: ...

    @property
    def dead_letters(self) -> Any: ...

    def names(self) -> list[str]: ...

    def agents(self) -> list[Any]: ...

    def statistics(self) -> RuntimeStats: ...


class Hooks(Protocol):
    """An agent as its reference runs it (``Agent`` is one)."""

    runtime: RuntimeView
    ref: Any

    def handle(self, msg: Any) -> Any: ...

    def on_start(self) -> Any: ...

    def on_stop(self) -> Any: ...


class DeadLetterSink(Protocol):
    """Where a reference puts the mail its agent will never handle (``DeadLetters`` is one)."""

    def add(self, address: object, message: Any, reason: str) -> None: ...


class RefDelivery(Protocol):
    """A delivery as the references of its mode see it (``_modes.local.LocalDelivery`` is one):
    the few things that are per runtime."""

    @property
    def runtime(self) -> RuntimeView: ...

    @property
    def closed(self) -> bool: ...

    @property
    def dead_letters(self) -> DeadLetterSink: ...

    def retire(self, ref: Any, processed: int, errors: int, dropped: int) -> None:
        """Keep the counters of an agent that stopped."""
        ...
