"""Message history: a bounded, in-memory record of delivered messages, encoded as it is recorded.

This module owns :class:`History` and its records. A history keeps the newest messages within two
bounds, a count and a total of payload bytes, evicting the oldest first and counting what it evicts.
Messages are stored encoded (``pickle`` by default): the bytes are a snapshot that later mutation
of the message cannot change, they are what :meth:`History.persist` writes to a :class:`Store`, and
they make the byte bound exact.

:meth:`History.record` sits on the runtime's delivery path when history is enabled, so it does the
least it can: encode, stamp, append under one lock, evict only when over a bound.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from time import time as _now
from typing import TYPE_CHECKING, Any

from perfkit_runtime._codec import Codec, get_codec

if TYPE_CHECKING:
    from perfkit_runtime._store import Store

__all__ = ["History", "HistoryRecord", "HistoryStats"]


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One recorded message.

    ``payload`` is the message encoded by the history's codec: read it back with
    :meth:`History.decode`. ``seq`` numbers the records of one history from 1, in recording order.
    """

    seq: int
    timestamp: float
    recipient: str
    sender: str | None
    payload: bytes


# The generated __init__ of a frozen dataclass sets each field through object.__setattr__, measured
# at 0.6-1.1 µs for these five fields: most of record()'s 1.5 µs budget. Setting the slots through
# their descriptors on a bare instance builds the same object in ~0.35 µs.
_new_record = object.__new__


def _slot_setter(field: str) -> Callable[[HistoryRecord, Any], None]:
    setter: Callable[[HistoryRecord, Any], None] = HistoryRecord.__dict__[field].__set__
    return setter


_set_seq = _slot_setter("seq")
_set_timestamp = _slot_setter("timestamp")
_set_recipient = _slot_setter("recipient")
_set_sender = _slot_setter("sender")
_set_payload = _slot_setter("payload")


@dataclass(frozen=True, slots=True)
class HistoryStats:
    """A snapshot of a history: what it holds, what it evicted, and its bounds."""

    records: int
    nbytes: int  # sum of the stored payload sizes
    evicted: int  # records dropped to stay within max_messages / max_bytes, since creation
    max_messages: int
    max_bytes: int
    codec: str


class History:
    """The newest messages, at most ``max_messages`` of them and ``max_bytes`` of payload in total.

    Safe to record from several threads: one lock orders ``seq`` and the stored records alike.
    """

    def __init__(
        self,
        *,
        max_messages: int = 10_000,
        # 8 MiB: 10,000 messages of ~800 encoded bytes; with small messages the count binds first.
        max_bytes: int = 8 * 1024 * 1024,
        codec: str | Codec = "pickle",
    ) -> None:
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"max_messages must be an int >= 1, not {max_messages!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be an int >= 1, not {max_bytes!r}")
        if isinstance(codec, str):
            codec = get_codec(codec)
        elif not isinstance(codec, Codec):
            raise TypeError(
                f"codec must be a codec name or a Codec (name, encode, decode), not "
                f"{type(codec).__qualname__}"
            )
        self._codec = codec
        self._encode = codec.encode
        self._max_messages = max_messages
        self._max_bytes = max_bytes
        self._records: deque[HistoryRecord] = deque()
        self._nbytes = 0
        self._evicted = 0
        self._seq = 0
        self._persisted_seq = 0  # every record with seq <= this has been written by persist()
        self._lock = threading.Lock()
        # One persist() at a time, so that no record is written twice.
        self._persist_lock = threading.Lock()

    def record(
        self,
        recipient: str,
        message: Any,
        sender: str | None = None,
        timestamp: float | None = None,
    ) -> HistoryRecord:
        """Encode and store ``message``; evict the oldest records while over a bound.

        An :class:`EncodeError` propagates and nothing is stored. A message larger than
        ``max_bytes`` on its own is recorded and evicted at once (returned, counted in ``evicted``).
        """
        payload = self._encode(message)
        record = _new_record(HistoryRecord)
        _set_timestamp(record, _now() if timestamp is None else timestamp)
        _set_recipient(record, recipient)
        _set_sender(record, sender)
        _set_payload(record, payload)
        records = self._records
        with self._lock:
            self._seq = seq = self._seq + 1
            _set_seq(record, seq)
            records.append(record)
            nbytes = self._nbytes + len(payload)
            # The count bound is the one hit on every call once the history is full: one record in,
            # one out, inline, since a call to _evict() alone costs ~0.15 µs.
            if len(records) > self._max_messages:
                nbytes -= len(records.popleft().payload)
                self._evicted += 1
            self._nbytes = nbytes
            if nbytes > self._max_bytes:
                self._evict()
        return record

    def _evict(self) -> None:
        """Drop the oldest records until both bounds hold (lock held)."""
        records = self._records
        while records and (len(records) > self._max_messages or self._nbytes > self._max_bytes):
            self._nbytes -= len(records.popleft().payload)
            self._evicted += 1

    def decode(self, record: HistoryRecord) -> Any:
        """The message ``record`` holds, decoded with this history's codec."""
        return self._codec.decode(record.payload)

    def query(
        self,
        agent: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[HistoryRecord]:
        """Records oldest first, filtered: ``agent`` is the recipient or the sender,
        ``since <= timestamp < until``, and ``limit`` keeps the newest N that match."""
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise ValueError(f"limit must be an int >= 0 or None, not {limit!r}")
        with self._lock:
            records = list(self._records)
        if agent is not None or since is not None or until is not None:
            records = [
                r
                for r in records
                if (agent is None or r.recipient == agent or r.sender == agent)
                and (since is None or r.timestamp >= since)
                and (until is None or r.timestamp < until)
            ]
        if limit is not None:
            records = records[len(records) - limit :] if limit else []
        return records

    def messages(
        self,
        agent: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int | None = None,
    ) -> list[Any]:
        """The decoded messages of :meth:`query` with the same filters, oldest first."""
        decode = self._codec.decode
        return [decode(r.payload) for r in self.query(agent, since, until, limit)]

    def persist(self, store: Store) -> int:
        """Write the records not written by an earlier call into ``store``, in one transaction.

        Returns how many were written. Records evicted before a call are not written.
        """
        with self._persist_lock:
            with self._lock:
                watermark = self._persisted_seq
                new: list[HistoryRecord] = []
                for r in reversed(self._records):  # ordered by seq: stop at the first old one
                    if r.seq <= watermark:
                        break
                    new.append(r)
            if not new:
                return 0
            new.reverse()
            codec = self._codec.name
            count = store.append_messages(
                (r.recipient, r.sender, r.timestamp, codec, r.payload) for r in new
            )
            self._persisted_seq = new[-1].seq
            return count

    def clear(self) -> None:
        """Drop every record. ``seq`` keeps counting; cleared records count as neither evicted nor
        persisted."""
        with self._lock:
            self._records.clear()
            self._nbytes = 0

    def __len__(self) -> int:
        return len(self._records)

    @property
    def nbytes(self) -> int:
        """Sum of the stored payload sizes."""
        return self._nbytes

    @property
    def evicted(self) -> int:
        """Records dropped to stay within the bounds since the history was created."""
        return self._evicted

    @property
    def codec(self) -> Codec:
        return self._codec

    def statistics(self) -> HistoryStats:
        """A consistent snapshot of counts, bounds and the codec name."""
        with self._lock:
            return HistoryStats(
                records=len(self._records),
                nbytes=self._nbytes,
                evicted=self._evicted,
                max_messages=self._max_messages,
                max_bytes=self._max_bytes,
                codec=self._codec.name,
            )

    def __repr__(self) -> str:
        return (
            f"<History {len(self._records)}/{self._max_messages} records, "
            f"{self._nbytes}/{self._max_bytes} bytes, codec={self._codec.name!r}>"
        )
