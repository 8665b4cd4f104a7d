"""Batching: what travels in one frame, and the producer-side buffer that fills it.

A data frame is one value encoded by the runtime's codec (pickle protocol 5 by default): a flat
list of records, each a tag followed by its payload::

    [agent_id, [msg, msg, ...],      a run of tells to one agent, in the order sent
     ASK,      [agent_id, reply_id, msg],
     REPLY,    [reply_id, value],
     agent_id, [msg, ...], ...]

Agent ids are >= 0; the negative tags mark requests. Runs keep consecutive tells to one agent in
one list, so the reader hands each run to the agent's mailbox in one call. Only ints, lists and
the messages themselves appear, so every codec (json, orjson, msgpack, pickle) can carry a batch.

Control frames (spawning, stopping, statistics, error replies) are pickled objects: they carry
classes and exceptions, which only pickle can, whatever codec the messages use.

An :class:`Outbox` is the buffer in front of one ring. ``tell`` appends to it; ``flush`` encodes
the whole buffer once, writes one frame and rings the reader's doorbell once. A burst of tells
therefore costs one encode call, one copy and at most one wake-up. The owner flushes when the
buffer holds ``limit`` messages, before an ask waits, on ``wait_idle``/``close`` and after a
short delay (``since`` tells how long the oldest buffered message has waited).
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from time import perf_counter
from typing import Any

from perfkit_runtime._codec import Codec
from perfkit_runtime._transport._doorbell import Doorbell
from perfkit_runtime._transport._ring import Ring

__all__ = [
    "ASK",
    "CONTROL",
    "DATA",
    "REPLY",
    "Outbox",
    "count_messages",
    "decode_frame",
]

DATA, CONTROL = 1, 2  # frame kinds
ASK, REPLY = -1, -2  # record tags (agent ids are >= 0)

# 512 messages per frame: measured here, pickling a list of small tuples costs ~25 µs per
# 512 (about 50 ns each) and the per-frame costs (encode call, ring write, flag check) about 3 µs,
# so they fall below 10 % of the message cost; larger batches only add latency to the last
# message of a burst.
DEFAULT_LIMIT = 512


class Outbox:
    """The batching buffer in front of one ring (one producer process, one reader).

    Not thread-safe by itself: a process with several sending threads holds ``lock`` around
    ``add``/``flush`` (the parent process does; a worker's agents all run on one thread).
    """

    __slots__ = (
        "_bell",
        "_encode",
        "_ring",
        "_wait",
        "count",
        "frames",
        "last",
        "last_size",
        "limit",
        "lock",
        "pending",
        "run",
        "since",
    )

    def __init__(
        self,
        ring: Ring,
        bell: Doorbell,
        codec: Codec,
        limit: int = DEFAULT_LIMIT,
        wait: Callable[[], bool] | None = None,
    ) -> None:
        self._ring = ring
        self._bell = bell
        self._encode = codec.encode
        self._wait = wait or _never
        self.limit = limit
        self.lock = threading.Lock()
        self.pending: list[Any] = []
        self.run: list[Any] = []
        self.last = -1  # agent id of the open run (-1: none)
        self.count = 0  # messages buffered
        self.since = 0.0  # perf_counter() when the first buffered message arrived
        self.last_size = 0  # bytes of the last frame: a ring with less room is not worth a try

    def add(self, aid: int, msg: Any) -> None:
        """Buffer a tell to agent ``aid`` (the caller checks ``count < limit`` first)."""
        if self.last != aid:
            if not self.count:
                self.since = perf_counter()
            self.last = aid
            self.run = [msg]
            self.pending += (aid, self.run)
        else:
            self.run.append(msg)
        self.count += 1

    def add_record(self, tag: int, payload: list[Any]) -> None:
        """Buffer an ask or a reply; it closes the open run, so order is kept."""
        if not self.count:
            self.since = perf_counter()
        self.pending += (tag, payload)
        self.last = -1
        self.count += 1

    def flush(self, block: bool = False) -> bool:
        """Write the buffer as one frame. False: the ring is full (the buffer is kept).

        With ``block`` it waits for room (through the ``wait`` callback) instead. A batch longer
        than one frame (more than half the ring) waits for the reader between its pieces.
        """
        if not self.count:
            return True
        ring = self._ring
        if not block and ring.free() < self.last_size:
            return False  # still full: spare the encode
        data = self._encode(self.pending)
        if block:
            ring.put(DATA, data, self._wait)
        elif len(data) <= ring.max_frame:
            if not ring.try_put(DATA, data):
                return False
        elif ring.free() < ring.capacity:
            return False  # a batch longer than a frame starts only in an empty ring
        else:
            ring.put(DATA, data, self._wait)  # the reader takes the first pieces meanwhile
        self.pending = []
        self.run = []
        self.last = -1
        self.count = 0
        self.last_size = min(len(data), ring.max_frame)
        self._bell.ring()
        return True

    def control(self, obj: Any, ahead: bool = False) -> None:
        """Send a control object (pickled) after everything buffered, or ``ahead`` of it (the
        buffer then stays for the next flush); waits for room."""
        if not ahead:
            self.flush(block=True)
        self._ring.put(CONTROL, pickle.dumps(obj, 5), self._wait)
        self._bell.ring()

    def drop_oldest(self) -> tuple[int, Any] | None:
        """Remove the oldest buffered tell (overflow policy ``drop_oldest``): ``(aid, msg)``."""
        pending = self.pending
        for i in range(0, len(pending), 2):
            tag, payload = pending[i], pending[i + 1]
            if tag >= 0 and payload:
                msg = payload.pop(0)
                self.count -= 1
                if not payload:
                    del pending[i : i + 2]
                    if self.run is payload:
                        self.last = -1
                return tag, msg
        return None


def _never() -> bool:
    return False


def decode_frame(kind: int, data: memoryview, codec: Codec) -> Any:
    """The value a frame carries: a list of records (DATA) or a control object (CONTROL)."""
    if kind == CONTROL:
        return pickle.loads(data)
    return codec.decode(data)  # type: ignore[arg-type]


def count_messages(records: list[Any]) -> int:
    """Messages in a decoded data frame: tells in every run plus asks (replies are not messages)."""
    n = 0
    for i in range(0, len(records), 2):
        tag = records[i]
        if tag >= 0:
            n += len(records[i + 1])
        elif tag == ASK:
            n += 1
    return n
