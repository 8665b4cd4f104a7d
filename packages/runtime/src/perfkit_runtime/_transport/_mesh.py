"""The shared memory of one multi-process runtime: a ring per ordered pair of processes and a
doorbell per process, all in one ``multiprocessing.shared_memory`` segment.

Process 0 is the parent (the one that created the Runtime), 1..N the workers. The segment holds,
for every ordered pair (src, dst) with src != dst, one ring that only src writes and only dst
reads, and for every process the flag of its doorbell::

    [ bell 0 | bell 1 | ... | bell N | ring 0->1 | ring 0->2 | ... | ring N->N-1 ]

A bell is one 64-byte line: word 0 is the doorbell's flag, words 1-7 a status the owning process
publishes (``status()``): whether it is busy, how many messages it holds, for idle detection and
crash accounting by the parent.

Lifecycle: the segment is created, mapped and **unlinked at once**, before any process is forked.
Forked processes inherit the mapping, so nothing needs the name again, and nothing is left in
/dev/shm whatever happens later: a close, an exception, a SIGKILL of a worker or of the parent.
The memory itself is freed by the kernel when the last process that maps it exits.
"""

from __future__ import annotations

from multiprocessing import shared_memory

from perfkit_runtime._transport._doorbell import Doorbell
from perfkit_runtime._transport._ring import Ring, ring_bytes

__all__ = ["Mesh"]


class Mesh:
    """Rings between ``processes`` processes (parent included), each of ``capacity`` data bytes."""

    __slots__ = ("_bells", "_rings", "_shm", "capacity", "processes", "segment_name")

    def __init__(self, processes: int, capacity: int) -> None:
        if processes < 2:
            raise ValueError(f"a mesh needs at least 2 processes, got {processes}")
        self.processes = processes
        self.capacity = capacity
        pairs = processes * (processes - 1)
        size = processes * Doorbell.SIZE + pairs * ring_bytes(capacity)
        self._shm = shared_memory.SharedMemory(create=True, size=size)
        self.segment_name = self._shm.name
        # Unlinked before anything can fail or fork: the mapping lives on, the name does not.
        self._shm.unlink()
        buf = self._buf()
        self._bells: list[Doorbell] = []
        self._rings: dict[tuple[int, int], Ring] = {}
        try:
            for p in range(processes):
                self._bells.append(Doorbell(buf, p * Doorbell.SIZE))
            offset = processes * Doorbell.SIZE
            for src in range(processes):
                for dst in range(processes):
                    if src != dst:
                        self._rings[src, dst] = Ring(buf, offset, capacity)
                        offset += ring_bytes(capacity)
        except BaseException:
            self.close()
            raise

    def ring(self, src: int, dst: int) -> Ring:
        """The ring that ``src`` writes and ``dst`` reads."""
        return self._rings[src, dst]

    def bell(self, process: int) -> Doorbell:
        """The doorbell of ``process`` (rung by the producers of its inbound rings)."""
        return self._bells[process]

    def status(self, process: int) -> memoryview:
        """The 8 u64 words of ``process``'s doorbell line: word 0 is the doorbell flag, words
        1-7 belong to the runtime (busy flag, messages in hand, ...). Release it when done."""
        offset = process * Doorbell.SIZE
        return self._buf()[offset : offset + Doorbell.SIZE].cast("Q")

    def reset_ring(self, src: int, dst: int) -> Ring:
        """A fresh view of a ring after its producer or consumer was replaced (a restarted
        worker): the new side picks up the head and tail that the shared header holds."""
        old = self._rings[src, dst]
        buf = self._buf()
        offset = self._offset(src, dst)
        old.release()
        ring = Ring(buf, offset, self.capacity)
        self._rings[src, dst] = ring
        return ring

    def view(self, src: int, dst: int) -> Ring:
        """A second, independent view of a ring, for a process that takes over one side of it
        for a while (the parent reading what a killed worker left); release it when done."""
        return Ring(self._buf(), self._offset(src, dst), self.capacity)

    def rings(self) -> list[Ring]:
        return list(self._rings.values())

    def _buf(self) -> memoryview:
        buf = self._shm.buf
        if buf is None:
            raise ValueError("the shared-memory segment is closed")
        return buf

    def _offset(self, src: int, dst: int) -> int:
        index = src * (self.processes - 1) + (dst if dst < src else dst - 1)
        return self.processes * Doorbell.SIZE + index * ring_bytes(self.capacity)

    def close(self) -> None:
        """Release every view and unmap the segment in this process (idempotent)."""
        for ring in self._rings.values():
            ring.release()
        self._rings.clear()
        for bell in self._bells:
            bell.close()
        self._bells.clear()
        self._shm.close()
