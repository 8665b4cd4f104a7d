"""Agent references: the handle users send through, and the agent's life behind it.

``AgentRef`` holds what every mode shares: identity, ``tell``/``tell_batch``, draining a batch of
messages, ask/stop/start envelopes, supervision, stopping and dead letters, statistics. One
subclass per delivery mode (``_modes/sync.py``, ``threads.py``, ``asyncio.py``) adds scheduling,
``send``, ``ask`` and ``wait_stopped``, which keeps each hot path free of mode checks.

A reference knows its runtime only through its delivery (``_delivery``: the mode's
``_modes.local.LocalDelivery``), which gives it the runtime's public parts and takes the
counters of a stopped agent (``retire``). Both are typed as this layer sees them
(``_protocols.RefDelivery``, ``Hooks`` for the agent), so the module imports no mode.

The mailbox (capacity, overflow policies, drops, waiting for room) is ``_mailbox.Mailbox``, the
base class of ``AgentRef``; a stopped agent's mailbox refuses mail through ``AgentRef._refuse``.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from perfkit_runtime._exceptions import (
    AgentStopped,
    RuntimeClosed,
)
from perfkit_runtime._mailbox import (
    ASK,
    MAILBOX_SLOTS,
    RUNNING,
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
    from perfkit_runtime._protocols import Hooks, RefDelivery

__all__ = ["SUPERVISION_POLICIES", "AgentRef"]

logger = logging.getLogger("perfkit_runtime")

SUPERVISION_POLICIES = ("resume", "restart", "stop")


class AgentRef(Mailbox):
    """Handle to a spawned agent: ``tell``, ``send``, ``ask`` and their batch forms.

    ``tell`` never blocks: on a full mailbox it applies the agent's overflow policy. ``send``
    waits for room when the policy is ``block``. ``ask`` returns the handler's return value.
    """

    __slots__ = (
        *MAILBOX_SLOTS,
        "__weakref__",
        "_agent",
        "_args",
        "_cls",
        "_delivery",
        "_errors",
        "_handle",
        "_history",
        "_kwargs",
        "_name",
        "_pool",
        "_processed",
        "_restarts",
        "_scheduled",
        "_stop_waiters",
        "_supervision",
        "_timing",
        "id",
    )

    mode = ""
    # The class an agent spawned with a capacity gets instead, when its mode needs one (threads
    # mode: a deque of maxlen = capacity keeps the bound against concurrent senders; see
    # ``ThreadRef``). Chosen here rather than by a factory: no extra call per spawn.
    _bounded_class: type[AgentRef] | None = None

    def __init__(
        self,
        delivery: RefDelivery,
        agent: Hooks,
        ident: int,
        name: str | None,
        capacity: int | None,
        overflow: str,
        supervision: str,
        cls: type[Hooks],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        q: deque[Any] | None = None,
        placement: object = None,  # where to run: one process has one place
    ) -> None:
        self._delivery = delivery
        rt = delivery.runtime
        self._agent = agent
        self.id = ident
        self._name = name
        if capacity is not None and self._bounded_class is not None:
            self.__class__ = self._bounded_class
            if q is None:
                q = deque(maxlen=capacity)
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

    def _bind(self, agent: Hooks) -> None:
        agent.runtime = self._delivery.runtime
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
        self._enqueue_batch(list(msgs))
        if self._q and not self._scheduled:
            self._schedule()

    def _enqueue_batch(self, items: list[Any]) -> None:
        """``tell_batch`` without the wake-up."""
        q = self._q
        room = self._cap - len(q)
        if room >= len(items) and self._history is None:
            q.extend(items)
            return
        for msg in items:
            if len(q) >= self._cap and not self._make_room(msg):
                continue
            if self._history is not None:
                self._history.record(self.name, unwrap(msg))
            q.append(msg)

    def _refuse(self, msg: Any) -> bool:
        """Mail for a stopped agent: a dead letter (its asker fails), or RuntimeClosed."""
        if self._delivery.closed:
            fail_envelope(msg, RuntimeClosed("the runtime is closed; create a new Runtime"))
            raise RuntimeClosed(
                f"cannot deliver to {self.name!r}: the runtime is closed; create a new Runtime"
            )
        fail_envelope(msg, AgentStopped(f"agent {self.name!r} has stopped"))
        self._delivery.dead_letters.add(self.name, unwrap(msg), "agent stopped")
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
        # The count is added once per batch; before anything that may stop the agent (an
        # envelope, a failure) the messages handled so far are added first ("flushed"): a stop
        # hands the agent's counters to the delivery (retire) there and then, and they must
        # include this batch, or Runtime.statistics() loses it.
        done = flushed = 0
        for done in range(1, k + 1):
            try:
                msg = popleft()
            except IndexError:  # drop_oldest took one meanwhile
                done -= 1
                break
            if type(msg) is Envelope:
                self._processed += done - flushed
                flushed = done
                if not self._envelope(msg):
                    break
                handle = self._handler()
                continue
            try:
                handle(msg)
            except Exception as exc:
                self._processed += done - flushed
                flushed = done
                if not self._failed(msg, exc):
                    break
                handle = self._handler()
        self._processed += done - flushed
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
        self._delivery.retire(self, self._processed, self._errors, self._dropped)
        if self._room_waiters:
            self._wake_senders()
        self._signal_stopped()
        pool = self._pool
        if pool is not None:
            self._pool = None
            pool._recycle(self._agent, self._q)

    def _dead_letter_rest(self, reason: str) -> None:
        q = self._q
        dead = self._delivery.dead_letters
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

    def _abandon(self, reason: str) -> int:
        """Stop now without handling what is queued (a close that ran out of time).

        The queued messages become dead letters with ``reason``; returns how many there were.
        """
        left = sum(1 for m in list(self._q) if type(m) is not Envelope or m.kind == ASK)
        self._state = STOPPED
        self._cap = 0
        self._dead_letter_rest(reason)
        self._delivery.retire(self, self._processed, self._errors, self._dropped)
        self._signal_stopped()
        return left

    def _raise_stopped(self) -> None:
        if self._delivery.closed:
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
