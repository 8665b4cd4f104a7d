"""The delivery protocol: what a ``Runtime`` asks of the mode that runs its agents.

A ``Runtime`` owns what is the same in every mode: checking spawn options, ids, the router (names,
topics, groups, dead letters), the public API. A *delivery* owns how agents run: where their
handlers execute, how an agent with mail gets a turn, how callers wait, how it all stops. The
runtime holds one delivery (``_modes.open_delivery``) and talks to it only through the methods
below; the delivery talks back only through the runtime's public attributes (``router``,
``history``, ``timing``, ``batch``: the ``ModeRuntime`` protocol, so no mode imports
``_runtime``). Neither touches the other's private state, which a test pins
(``tests/test_layering.py``).

Messages do not cross this protocol. ``spawn`` returns the agent's reference, an ``AgentRef`` of
the mode's own subclass, and ``tell``/``ask``/``send`` and their batch forms are methods of that
reference: each mode's hot path is one flat method with no call through an interface (the
structural calls below happen per spawn, stop or close, never per message). A mode that runs
agents in other processes or on other machines returns a proxy reference whose ``tell`` encodes
the message and writes it to a transport (a shared-memory ring, a batched Ray actor call); an
in-process mode's references hold the mailbox itself (``_mailbox.Mailbox``).

The members, in the order a runtime's life uses them:

``enter(asynchronous)``
    The runtime is entered with ``with`` (False) or ``async with`` (True). A mode that cannot be
    used that way raises ``ModeError`` naming the right one; asyncio mode binds the running loop.
``admit(cls)``
    Once per agent class, before its first spawn: raise ``ModeError`` (or ``SpawnError``) if this
    mode cannot run it (``async def`` hooks outside asyncio mode; in a mode that crosses process
    boundaries, a class that cannot be imported by the workers).
``ref_class(delivery, agent, ident, name, capacity, overflow, supervision, cls, args, kwargs, mailbox, placement)``
    Build the reference of an agent whose options the runtime has checked (the runtime then
    registers it with the router). An attribute, not a method: for the in-process modes it is the
    mode's ``AgentRef`` subclass itself, so a spawn costs what building the reference costs, with
    no call through the protocol (measured: a forwarding method added 700 instructions, 2 %, to
    a sync spawn). ``delivery`` is this delivery; ``agent`` is the instance ``Runtime.spawn``
    built (so constructor errors read the same in every mode); ``mailbox`` is a recycled deque
    from an ``AgentPool``, else None. A mode that places agents elsewhere makes a proxy here that
    builds the agent on its worker from ``cls``, ``args`` and ``kwargs``; ``placement`` is what
    ``spawn(placement=...)`` was given (a worker or host number, or a key hashed onto one; None:
    the agent's name hashed), meaningless in one process and ignored there.
``start(ref, agent)``
    Run the agent's ``on_start``, only for classes that override it. Raising here makes the runtime
    unregister the agent and re-raise; asyncio mode queues an ``async def on_start`` as the
    agent's first turn instead.
``stop(ref)``
    Stop the agent after the messages already in its mailbox; what arrives later is a dead letter.
    Returns at once; ``ref.wait_stopped()`` waits.
``wait_idle(timeout)`` / ``wait_idle_async(timeout)``
    Wait until no agent has mail or a turn pending; False on timeout. A mode raises ``ModeError``
    from the form its callers cannot use (asyncio mode: the blocking one).
``close(timeout)`` / ``aclose(timeout)``
    Stop every agent after its queued messages within ``timeout`` seconds, then refuse all mail
    (``closed`` becomes True): what is still queued then is dead-lettered with reason ``runtime
    closed`` and counted per agent in the returned ``CloseReport``. Release the mode's resources
    (worker threads, processes, shared memory, a Ray connection). A second call returns the same
    report.
``changed(change)``
    The address book changed in a way the router alone does not tell the mode: a group was created
    (``("group", name, strategy, member ids, key)``), a topic subscribed or unsubscribed
    (``("subscribe", topic, id)``, ``("unsubscribe", topic, id)``). In-process modes ignore it; a
    mode whose agents live in other processes sends it there, where copies of the address book
    route what the handlers send.
``statistics()``
    ``AgentTotals`` over every agent the runtime ever had: messages handled, handler errors,
    drops, live agents and messages queued now. Counters of stopped agents are kept.
``closed``
    Whether ``close`` has begun refusing mail: spawning then raises ``RuntimeClosed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from perfkit_runtime._protocols import RuntimeView

if TYPE_CHECKING:
    from perfkit_runtime._agent import Agent
    from perfkit_runtime._ref import AgentRef
    from perfkit_runtime._router import Router

__all__ = ["AgentTotals", "CloseReport", "Delivery", "ModeRuntime"]


class ModeRuntime(RuntimeView, Protocol):
    """The runtime as its delivery sees it: what agents see, and its router (``Runtime`` is
    one). A mode is opened with it and keeps it as ``runtime``; it never imports ``_runtime``."""

    router: Router


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What a graceful close achieved: agents stopped, and messages left unhandled per agent."""

    stopped: int
    leftover: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def clean(self) -> bool:
        return not self.leftover and not self.timed_out


class AgentTotals(NamedTuple):
    """A delivery's counters, summed over its agents (stopped ones included where noted)."""

    agents: int  # alive now
    messages_out: int  # handled, stopped agents included
    errors: int  # handler failures, stopped agents included
    dropped: int  # overflow drops, stopped agents included
    mailbox_depth: int  # queued now


class Delivery(Protocol):
    """How a runtime's agents run (see the module docstring for each method's contract)."""

    @property
    def mode(self) -> str: ...

    @property
    def closed(self) -> bool: ...

    def enter(self, asynchronous: bool) -> None: ...

    def admit(self, cls: type[Agent]) -> None: ...

    @property
    def ref_class(self) -> Callable[..., AgentRef]: ...

    def start(self, ref: AgentRef, agent: Agent) -> None: ...

    def stop(self, ref: AgentRef) -> None: ...

    def wait_idle(self, timeout: float | None) -> bool: ...

    async def wait_idle_async(self, timeout: float | None) -> bool: ...

    def close(self, timeout: float) -> CloseReport: ...

    async def aclose(self, timeout: float) -> CloseReport: ...

    def changed(self, change: tuple[Any, ...]) -> None: ...

    def statistics(self) -> AgentTotals: ...
