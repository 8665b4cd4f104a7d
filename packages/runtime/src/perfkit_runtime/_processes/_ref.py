"""The handle to an agent that lives in another process (processes mode).

The same class serves the parent (refs returned by ``spawn``) and the workers (their address
book's entries for agents on other workers). What differs, waiting for a reply and asking for
statistics, goes through the ``host``: the parent's :class:`Cluster` or a worker's
:class:`Worker`.

``tell`` is the hot path: a type check that usually proves the message can be encoded, then one
lock and a list append into the outbox of the ring to the agent's worker. The outbox is flushed
as one frame when it holds ``limit`` messages, when someone asks, waits for idle or closes, and
after a short delay.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from perfkit_runtime._exceptions import EncodeError, MailboxFull
from perfkit_runtime._portable import SCALARS, check_message
from perfkit_runtime._remote_ref import RemoteHost, RemoteRef

if TYPE_CHECKING:
    from perfkit_runtime._transport import Outbox

__all__ = ["Host", "ProcessRef"]


class Host(RemoteHost, Protocol):
    """What a ref needs from the process it lives in (the parent's cluster or a worker), besides
    what every remote ref needs."""

    may_block: bool

    def arm(self, out: Outbox) -> None: ...
    def wait_room(self, out: Outbox, deadline: float | None) -> bool: ...
    def dropped(self, gid: int) -> None: ...


class ProcessRef(RemoteRef):
    """Handle to an agent hosted by a worker process: ``tell``, ``send``, ``ask``, batches."""

    __slots__ = (
        "__weakref__",
        "_cls_name",
        "_host",
        "_name",
        "_out",
        "_overflow",
        "_pickle",
        "_state",
        "_unbounded",
        "id",
        "worker",
    )

    mode = "processes"
    _host: Host

    def __init__(
        self,
        host: Host,
        gid: int,
        name: str | None,
        cls_name: str,
        worker: int,
        out: Outbox,
        overflow: str,
        capacity: int | None = None,
    ) -> None:
        self._host = host
        self.id = gid
        self._name = name
        self._cls_name = cls_name
        self.worker = worker
        self._out = out
        self._overflow = overflow
        self._pickle = host.codec.name == "pickle"
        self._unbounded = capacity is None
        self._state = "running"

    # ------------------------------------------------------------------ identity

    def __repr__(self) -> str:
        return f"<ProcessRef {self.name!r} id={self.id} worker={self.worker} {self._state}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # A ref inside a message travels as its id; the receiving process resolves it.
        return (_resolve, (self.id,))

    # ------------------------------------------------------------------ sending

    def tell(self, msg: Any) -> None:
        """Deliver ``msg``; a full ring: an unbounded agent waits for room, others apply the policy."""
        if type(msg) not in SCALARS:
            self._check(msg)
        out = self._out
        out.lock.acquire()
        try:
            if self._state != "running":
                self._stopped_tell(msg)
                return
            if out.count >= out.limit and not out.flush() and not self._when_full(out):
                return
            if out.last == self.id:
                out.run.append(msg)
                out.count += 1
            elif out.count:
                out.add(self.id, msg)
            else:
                out.add(self.id, msg)
                self._host.arm(out)  # after the add: the hub must find the message when it looks
        finally:
            out.lock.release()

    def _check(self, msg: Any) -> None:
        if type(msg) is tuple and self._pickle:
            for item in msg:  # the common plain tuple, without a call per item
                if type(item) not in SCALARS:
                    break
            else:
                return
        check_message(self._host.codec, msg, self.name)

    def send(self, msg: Any, timeout: float | None = None) -> None:
        """Deliver ``msg``, waiting for room in the ring when it is full (policy ``block``)."""
        if self._state != "running":
            self._refuse()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                self.tell(msg)
                return
            except MailboxFull:
                if self._overflow != "block":
                    raise
            if not self._host.wait_room(self._out, deadline):
                raise MailboxFull(
                    f"no room toward agent {self.name!r} within {timeout}s; raise the timeout "
                    "or let its worker catch up"
                )

    def send_batch(self, msgs: Iterable[Any], timeout: float | None = None) -> None:
        for msg in msgs:
            self.send(msg, timeout)

    def _when_full(self, out: Outbox) -> bool:
        """Batch and ring are full. True: buffer the message now; False: it was dropped.

        An unbounded agent's sender in the parent waits for the worker to make room
        (backpressure, as a pipe gives); a worker keeps buffering instead, since waiting on
        another worker that may be waiting on it could deadlock. A bounded agent's policy
        applies."""
        if not self._unbounded:
            return self._full(out)
        if self._host.may_block:
            # Imported here: `import perfkit_runtime` exports ProcessRef and must not load the
            # shared-memory transport for it.
            from perfkit_runtime._transport import RingFull

            try:
                out.flush(block=True)
            except RingFull:  # the worker died: the batch stays for its successor
                pass
        return True

    def _full(self, out: Outbox) -> bool:
        """Batch and ring are full. True: buffer the message now; False: it was dropped."""
        policy = self._overflow
        if policy == "drop_newest":
            self._host.dropped(self.id)
            return False
        if policy == "drop_oldest":
            oldest = out.drop_oldest()
            if oldest is not None:
                self._host.dropped(oldest[0])
            return True
        raise MailboxFull(
            f"the ring toward agent {self.name!r} (worker {self.worker}) is full; use send() to "
            "wait for room, raise ring_bytes, or spawn with overflow='drop_oldest'/'drop_newest'"
        )


# The process's host, set when a worker starts or a parent cluster is created: refs unpickled
# from a message resolve through it.
_resolver: dict[int, Any] = {}


def _resolve(gid: int) -> Any:
    host = _resolver.get(os.getpid())
    if host is None:
        raise EncodeError(f"an agent ref (id {gid}) arrived in a process without a runtime")
    return host.resolve(gid)


def set_resolver(host: Any) -> None:
    _resolver.clear()
    _resolver[os.getpid()] = host
