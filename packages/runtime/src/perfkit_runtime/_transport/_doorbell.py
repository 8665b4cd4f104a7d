"""Waking a sleeping reader: a flag in shared memory and an eventfd, rung only when needed.

Each process that reads rings owns one doorbell. Before it sleeps it raises its flag, checks its
rings once more, and waits on the eventfd; a producer that has published a frame looks at the flag
and writes the eventfd only when the flag is up. A reader that is busy or spinning costs its
producers one load per flush and no system call.

The lost wake-up: x86 may let a load pass an earlier store to another address. The producer
stores ``head`` and then loads ``flag``; the reader stores ``flag`` and then loads ``head``. If
both loads were served before both stores became visible, the producer would see no sleeper and
the reader no data, and the reader would sleep on a message. :func:`fence` puts a locked
instruction (a full barrier on x86) between the store and the load on both sides, which rules
that out. The wait has a timeout all the same (``SAFETY_TIMEOUT``): on a platform whose fence is
weaker the cost of a missed bell is a bounded delay, never a hang.
"""

from __future__ import annotations

import math
import os
import select
import threading
from collections.abc import Callable

__all__ = ["SAFETY_TIMEOUT", "Doorbell", "fence"]

# A sleeping reader re-checks its rings at least this often even when no bell rings.
SAFETY_TIMEOUT = 0.1

_barrier = threading.Lock()


def fence() -> None:
    """A full memory barrier: acquiring a lock is a locked read-modify-write (CPython's lock is a
    POSIX semaphore; glibc takes it with ``lock cmpxchg``), which x86 never reorders loads past."""
    _barrier.acquire()
    _barrier.release()


class Doorbell:
    """The flag (one u64 in shared memory, on its own cache line) and the eventfd of one reader.

    Create it before forking; every process then holds the same eventfd. ``ring()`` is the
    producer's half, ``wait()`` the reader's.
    """

    __slots__ = ("_flag", "_poll", "fd")

    SIZE = 64  # bytes of segment one doorbell takes (its flag alone on a cache line)

    def __init__(self, buf: memoryview, offset: int) -> None:
        if offset % 64:
            raise ValueError(f"doorbell offset must be a multiple of 64, got {offset}")
        self._flag = buf[offset : offset + 8].cast("Q")
        self._flag[0] = 0
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._poll = select.poll()
        self._poll.register(self.fd, select.POLLIN)

    def watch(self, fd: int) -> None:
        """Also end ``wait()`` when ``fd`` becomes readable (a lifeline pipe, a pidfd)."""
        self._poll.register(fd, select.POLLIN)

    @property
    def sleeping(self) -> bool:
        """True while the reader is in ``wait()`` (its flag is up): a ``ring()`` now wakes it."""
        return bool(self._flag[0])

    def ring(self) -> bool:
        """Producer: after publishing, wake the reader if it sleeps. True when it was woken."""
        fence()
        if self._flag[0]:
            os.eventfd_write(self.fd, 1)
            return True
        return False

    def wait(self, has_work: Callable[[], bool], timeout: float | None) -> bool:
        """Reader: sleep until rung, ``timeout`` (capped at SAFETY_TIMEOUT) or a watched fd.

        ``has_work()`` is called after the flag is up: when it finds data the reader does not
        sleep. Returns True when something (a bell, data, an extra fd) may need attention.
        """
        flag = self._flag
        flag[0] = 1
        fence()
        try:
            if has_work():
                return True
            limit = SAFETY_TIMEOUT if timeout is None else min(timeout, SAFETY_TIMEOUT)
            events = self._poll.poll(math.ceil(max(0.0, limit) * 1000))
        finally:
            flag[0] = 0
        if events:
            self.drain()
            return True
        return False

    def drain(self) -> None:
        """Reset the eventfd's counter (the bell rang while we were awake, or we woke)."""
        try:
            os.eventfd_read(self.fd)
        except BlockingIOError:
            pass

    def close(self) -> None:
        self._flag.release()
        try:
            os.close(self.fd)
        except OSError:
            pass
