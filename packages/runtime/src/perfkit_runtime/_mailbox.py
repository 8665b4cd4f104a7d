"""The mailbox: a bounded deque, its overflow policies, counted drops and waiting for room.

The queue is a ``collections.deque`` with the capacity kept as an int (``sys.maxsize`` when
unbounded), so the bounded check on ``tell`` is one comparison. Measured here, ``queue.Queue`` is
16x slower than ``SimpleQueue`` across threads and ``asyncio.Queue`` about 2x slower than a deque
plus a wake-up, which is why neither is used. A stopped agent gets capacity 0, so the same
comparison routes messages for it to the slow path (``_make_room``), which refuses them.

Plain messages go into the deque as they are; ``ask``, stop and start requests travel as an
``Envelope``, which a ``type(msg) is Envelope`` check tells apart for free.

``Mailbox`` is the base class of every agent reference rather than an object the reference holds:
one object per agent instead of two (with 100 k idle agents, garbage-collector passes over them
are most of the cost of a spawn), and ``tell`` reads the deque and the capacity straight from the
reference, with no extra attribute hop per message. The reference (``_ref.AgentRef``) supplies
what a mailbox cannot know: the agent's name and what refusing a message means
(``_refuse``: dead letters, ``RuntimeClosed``).

Waiting for room is the mailbox's too: a blocking wait on a condition shared by all the
mailboxes of one runtime (threads mode: an idle agent then costs no lock of its own) and an
awaitable one on futures (asyncio mode). Sync mode cannot wait: a full mailbox raises there.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from perfkit_runtime._exceptions import MailboxFull
from perfkit_runtime._statistics import MailboxStats

__all__ = [
    "ASK",
    "MAILBOX_SLOTS",
    "OVERFLOW_POLICIES",
    "RUNNING",
    "START",
    "STOP",
    "STOPPED",
    "STOPPING",
    "UNBOUNDED",
    "Envelope",
    "Mailbox",
    "fail_envelope",
    "unwrap",
]

UNBOUNDED = sys.maxsize
OVERFLOW_POLICIES = ("block", "drop_newest", "drop_oldest", "fail")

# The agent's life as its mailbox sees it: open, draining (takes nothing new, hands out what it
# holds, then stops), closed. ``AgentRef.state`` returns these strings.
RUNNING, STOPPING, STOPPED = "running", "stopping", "stopped"

ASK, STOP, START = 0, 1, 2

# The mailbox's state, kept in the slots of the class that inherits ``Mailbox`` (see there).
MAILBOX_SLOTS = ("_cap", "_dropped", "_overflow", "_q", "_room_waiters", "_state")


class Envelope:
    """A request that needs more than delivery: an ask (with its reply slot), a stop, a start."""

    __slots__ = ("kind", "msg", "reply")

    def __init__(self, kind: int, msg: Any = None, reply: Any = None) -> None:
        self.kind = kind
        self.msg = msg
        self.reply = reply


def fail_envelope(msg: Any, error: BaseException) -> None:
    """Fail the asker of ``msg`` (when it is an ask) with ``error`` instead of leaving it waiting."""
    if type(msg) is Envelope and msg.kind == ASK:
        msg.reply.fail(error)


def unwrap(msg: Any) -> Any:
    """The user's message inside ``msg`` (an envelope's payload, or ``msg`` itself)."""
    return msg.msg if type(msg) is Envelope else msg


class Mailbox:
    """A bounded queue of messages with an overflow policy (the base of ``AgentRef``).

    The attributes below are declared here and stored in the subclass's slots: ``AgentRef`` lists
    them in its own ``__slots__`` (``MAILBOX_SLOTS``) and fills them in its ``__init__``. One slot
    block per object because the garbage collector visits slots class by class: a second block
    here cost 150 instructions per spawn, 0.5 %, in collection passes alone. The subclass also
    provides ``name`` and ``_refuse``.
    """

    if TYPE_CHECKING:  # the type checker is told where the slots live; Python sees none here
        __slots__ = MAILBOX_SLOTS
    else:
        __slots__ = ()

    _q: deque[Any]
    _cap: int
    _overflow: str
    _dropped: int
    # Threads mode: how many senders wait for room (an int); asyncio mode: their futures (a list,
    # or 0 when none). Checked after every drained batch, so it stays falsy when nobody waits.
    _room_waiters: Any
    _state: str

    @property
    def name(self) -> str:
        raise NotImplementedError

    def _refuse(self, msg: Any) -> bool:
        """A message for a mailbox that is no longer open. False: it was handled (not queued)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ a full mailbox

    def _make_room(self, msg: Any) -> bool:
        """Slow path of a full (or stopped) mailbox. True: append ``msg`` now; False: it was handled."""
        if self._state != RUNNING:
            return self._refuse(msg)
        policy = self._overflow
        if policy == "drop_newest":
            self._dropped += 1
            fail_envelope(msg, self._full_error())
            return False
        if policy == "drop_oldest":
            try:
                old = self._q.popleft()
            except IndexError:  # capacity 0, or drained meanwhile by a worker
                if self._cap > 0:
                    return True
                self._dropped += 1
                fail_envelope(msg, self._full_error())
                return False
            self._dropped += 1
            fail_envelope(old, self._full_error())
            return True
        raise self._full_error()

    def _full_error(self) -> MailboxFull:
        return MailboxFull(
            f"mailbox of agent {self.name!r} is full (capacity {self._cap}); use send() to wait "
            f"for room, raise capacity, or spawn with overflow='drop_oldest'/'drop_newest'"
        )

    # ------------------------------------------------------------------ waiting for room

    def _wait_room_blocking(self, room: threading.Condition, n: int, timeout: float | None) -> bool:
        """Block until ``n`` messages fit or the mailbox closes; False on timeout (threads mode)."""
        with room:
            self._room_waiters += 1
            try:
                return room.wait_for(
                    lambda: self._state != RUNNING or len(self._q) + n <= self._cap, timeout
                )
            finally:
                self._room_waiters -= 1

    async def _wait_room_async(self, new_future: Callable[[], Any], n: int) -> None:
        """Wait until ``n`` messages fit or the mailbox closes (asyncio mode)."""
        while self._state == RUNNING and len(self._q) + n > self._cap:
            fut = new_future()
            if not self._room_waiters:
                self._room_waiters = []
            self._room_waiters.append(fut)
            await fut

    def _wake_waiting_tasks(self) -> None:
        """Wake every task waiting in ``_wait_room_async`` (they re-check the room)."""
        waiters = self._room_waiters
        self._room_waiters = 0
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    # ------------------------------------------------------------------ statistics

    @property
    def mailbox_depth(self) -> int:
        return len(self._q)

    def mailbox_statistics(self) -> MailboxStats:
        depth = len(self._q)
        cap = None if self._cap == UNBOUNDED or self._state != RUNNING else self._cap
        return MailboxStats(
            depth=depth,
            capacity=cap,
            saturation=(depth / cap) if cap else 0.0,
            dropped=self._dropped,
            overflow=self._overflow,
        )
