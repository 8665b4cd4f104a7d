"""The multi-process transport: shared-memory rings between processes, batching, wake-ups.

A private room of perfkit-runtime with one concern, moving encoded messages between the processes
of ``Runtime(mode="processes")``; it knows nothing of agents beyond their ids.

- ``_ring``: a single-producer/single-consumer byte ring in shared memory, lock-free;
- ``_doorbell``: waking a sleeping reader (a flag and an eventfd; the fence against lost wake-ups);
- ``_mesh``: one segment per runtime holding a ring per ordered pair of processes and the
  doorbells, unlinked as soon as it exists;
- ``_batch``: the frame format and the producer-side batching buffer.
"""

from __future__ import annotations

from perfkit_runtime._transport._batch import (
    ASK,
    CONTROL,
    DATA,
    REPLY,
    Outbox,
    count_messages,
    decode_frame,
)
from perfkit_runtime._transport._doorbell import SAFETY_TIMEOUT, Doorbell, fence
from perfkit_runtime._transport._mesh import Mesh
from perfkit_runtime._transport._ring import MORE, RESET, Ring, RingFull, ring_bytes

__all__ = [
    "ASK",
    "CONTROL",
    "DATA",
    "MORE",
    "REPLY",
    "RESET",
    "SAFETY_TIMEOUT",
    "Doorbell",
    "Mesh",
    "Outbox",
    "Ring",
    "RingFull",
    "count_messages",
    "decode_frame",
    "fence",
    "ring_bytes",
]
