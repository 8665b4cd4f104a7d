"""A single-producer/single-consumer byte ring in shared memory, without a lock.

Layout of one ring (all integers little-endian, the machine's own order)::

    offset 0    head  u64   bytes ever written; stored only by the producer
    offset 64   tail  u64   bytes ever consumed; stored only by the consumer
    offset 128  data  capacity bytes (a power of two), frames one after another

Head and tail sit on their own 64-byte cache lines, so the two sides never write the same line.
They only grow (64 bits do not wrap in practice); a position in the data is ``index & mask``.

A frame is an 8-byte header, ``u32 length`` and ``u32 flags``, then the payload padded to 8 bytes.
Frames never wrap: one that does not fit before the end leaves a ``WRAP`` marker there and starts
at offset 0. A frame (header and padded payload) is at most half the capacity, so one always fits
in an empty ring whatever the head's position; a longer message travels as several frames, each
but the last flagged ``MORE``, and the reader joins them.

Why no lock is needed: only the producer stores ``head`` and only the consumer stores ``tail``, each
an aligned 8-byte store (one instruction). The producer copies the payload and then publishes the
new head; the consumer reads the head and then the payload. x86-64 keeps stores in program order
and loads in program order (TSO), and CPython performs each of these as a separate C call, so a
consumer that sees the new head sees the frame. (The one reordering x86 allows, a later load
passing an earlier store, matters only for sleeping and waking: see ``_doorbell``.)
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["FRAME_HEADER", "HEADER", "MORE", "RESET", "Ring", "RingFull", "ring_bytes"]

HEADER = 128  # head and tail, one 64-byte cache line each
FRAME_HEADER = 8  # u32 length + u32 flags
MORE = 1 << 8  # flags bit: more frames of the same message follow
RESET = 1 << 9  # flags bit: a new producer took over; drop any message half joined
_KIND = 0xFF  # flags low byte: what the payload is (the link layer's business)
_WRAP = 0xFFFFFFFF  # a length that means "the rest of the buffer is unused: go to offset 0"


class RingFull(Exception):
    """A message longer than half the ring could not be written before ``wait`` gave up."""


def ring_bytes(capacity: int) -> int:
    """Bytes one ring of ``capacity`` data bytes occupies in a segment."""
    return HEADER + capacity


def _pad(n: int) -> int:
    return (n + 7) & ~7


class Ring:
    """One direction between two processes: ``put`` on the producer side, ``get`` on the consumer.

    ``buf`` is the shared segment's memoryview; the ring occupies ``ring_bytes(capacity)`` bytes
    from ``offset`` (a multiple of 64). Both sides build a ``Ring`` over the same bytes; each uses
    only its own half of the methods. ``release()`` drops the views so the segment can close.
    """

    __slots__ = (
        "_ctl",
        "_data",
        "_head",
        "_mask",
        "_partial",
        "_skip",
        "_tail",
        "_tail_seen",
        "_words",
        "capacity",
        "max_frame",
    )

    def __init__(self, buf: memoryview, offset: int, capacity: int) -> None:
        if capacity < 64 or capacity & (capacity - 1):
            raise ValueError(f"ring capacity must be a power of two >= 64, got {capacity}")
        if offset % 64:
            raise ValueError(f"ring offset must be a multiple of 64, got {offset}")
        self.capacity = capacity
        self._mask = capacity - 1
        # The largest payload one frame carries: header plus padded payload <= capacity / 2.
        self.max_frame = capacity // 2 - FRAME_HEADER
        self._ctl = buf[offset : offset + HEADER].cast("Q")
        self._data = buf[offset + HEADER : offset + HEADER + capacity]
        self._words = self._data.cast("I")
        self._head = self._ctl[0]  # producer: its own head (the shared copy lags until publish)
        self._tail_seen = self._ctl[8]  # producer: the consumer's tail when last read
        self._tail = self._ctl[8]  # consumer: its own tail
        self._partial: bytearray | None = None  # consumer: a long message being joined
        self._skip = 0  # consumer: bytes consume() advances past (0 after a joined message)

    def release(self) -> None:
        """Drop the views into shared memory (the segment cannot close while they exist)."""
        self._words.release()
        self._data.release()
        self._ctl.release()

    # ------------------------------------------------------------------ producer side

    def free(self) -> int:
        """Bytes the producer may still write (re-reads the consumer's tail)."""
        self._tail_seen = self._ctl[8]
        return self.capacity - (self._head - self._tail_seen)

    def try_put(self, kind: int, payload: bytes | bytearray | memoryview) -> bool:
        """Write one message if it fits now; False leaves the ring unchanged (the ring is full).

        A message longer than ``max_frame`` needs ``put`` (it may have to wait for the reader).
        """
        n = len(payload)
        if n > self.max_frame:
            raise ValueError(f"{n} bytes exceed one frame ({self.max_frame}); use put()")
        return self._frame(kind, payload, n)

    def put(
        self,
        kind: int,
        payload: bytes | bytearray | memoryview,
        wait: Callable[[], bool],
    ) -> None:
        """Write a message of any length, as several frames when it is longer than one.

        When the ring has no room, ``wait()`` is called (it should let the reader run); it returns
        False to give up, and then :class:`RingFull` is raised. Frames already written stay
        written: a reader joins them only once the last one arrives, so give up only when the
        reader is gone.
        """
        n = len(payload)
        step = self.max_frame
        if n <= step:
            while not self._frame(kind, payload, n):
                if not wait():
                    raise RingFull(f"no room for {n} bytes in a ring of {self.capacity}")
            return
        view = memoryview(payload).cast("B")
        with view:
            for start in range(0, n, step):
                chunk = view[start : start + step]
                flags = kind | (MORE if start + step < n else 0)
                while not self._frame(flags, chunk, len(chunk)):
                    if not wait():
                        raise RingFull(
                            f"no room for the rest of a {n}-byte message in a ring of "
                            f"{self.capacity}"
                        )

    def announce_restart(self) -> None:
        """A replacement producer (a restarted worker) starts here: the reader drops the pieces
        of a long message that the old producer never finished. Waits for no one: an empty
        frame fits unless the ring is full, and then the reader has nothing half joined."""
        self._frame(RESET, b"", 0)

    def _frame(self, flags: int, payload: bytes | bytearray | memoryview, n: int) -> bool:
        head = self._head
        pos = head & self._mask
        need = FRAME_HEADER + _pad(n)
        waste = 0
        if pos + need > self.capacity:
            waste = self.capacity - pos
        used = head - self._tail_seen
        if used + waste + need > self.capacity:
            self._tail_seen = self._ctl[8]  # the cached tail was stale: read the real one
            used = head - self._tail_seen
            if used + waste + need > self.capacity:
                return False
        words = self._words
        if waste:
            words[pos >> 2] = _WRAP
            pos = 0
            head += waste
        self._data[pos + FRAME_HEADER : pos + FRAME_HEADER + n] = payload
        w = pos >> 2
        words[w] = n
        words[w + 1] = flags
        head += need
        self._head = head
        self._ctl[0] = head  # publish: the frame above is complete before this store
        return True

    def positions(self) -> tuple[int, int]:
        """The shared head and tail as stored now (for an observer that is neither side)."""
        ctl = self._ctl
        return ctl[0], ctl[8]

    # ------------------------------------------------------------------ consumer side

    def pending(self) -> int:
        """Bytes written and not yet consumed (0: empty)."""
        return self._ctl[0] - self._tail

    def get(self) -> tuple[int, memoryview] | None:
        """The next whole message as ``(kind, payload)``, or None when there is none yet.

        The payload is a view into the ring (or of a joined copy): decode it, then call
        ``consume()`` before the next ``get``; until then the producer cannot reuse the bytes.
        """
        ctl = self._ctl
        words = self._words
        while True:
            head = ctl[0]
            tail = self._tail
            if head == tail:
                return None
            pos = tail & self._mask
            n = words[pos >> 2]
            if n == _WRAP:
                tail += self.capacity - pos
                self._tail = tail
                ctl[8] = tail
                continue
            flags = words[(pos >> 2) + 1]
            start = pos + FRAME_HEADER
            if flags & RESET:
                self._partial = None
                tail += FRAME_HEADER
                self._tail = tail
                ctl[8] = tail
                continue
            if not flags & MORE and self._partial is None:
                self._skip = FRAME_HEADER + _pad(n)
                return flags & _KIND, self._data[start : start + n]
            # One frame of a long message: copy it out and let the producer go on.
            if self._partial is None:
                self._partial = bytearray()
            self._partial += self._data[start : start + n]
            tail += FRAME_HEADER + _pad(n)
            self._tail = tail
            ctl[8] = tail
            if not flags & MORE:
                whole = self._partial
                self._partial = None
                self._skip = 0  # its frames were consumed as they arrived
                return flags & _KIND, memoryview(whole)

    def consume(self, view: memoryview) -> None:
        """Release the message ``get`` returned: its bytes may be overwritten from now on."""
        view.release()
        if self._skip:
            self._tail += self._skip
            self._skip = 0
            self._ctl[8] = self._tail
