"""Processes mode: agents on N worker processes, the same API as in one process.

The parent process keeps the address book (names, ids, groups, topics) with a ``ProcessRef`` per
agent and sends every change to the workers, whose copies hold a ref to each agent on another
worker. ``ref_class`` sends the class and arguments (pickled) to the worker chosen by
``placement=`` or by a consistent hash of the agent's name, and waits until the agent is built
and started there: errors of the constructor and of ``on_start`` come out of ``spawn`` as in
one process. (The parent also builds the agent once, as ``Runtime.spawn`` does in every mode,
to check the arguments; the worker's instance is the one that runs.)

The machinery lives in ``_processes`` (parent side, workers, zygote) on the shared-memory
transport (``_transport``); docs/runtime.md draws it.
"""

from __future__ import annotations

import logging
import pickle
import threading
from typing import TYPE_CHECKING, Any, ClassVar

from perfkit_runtime._agent import Agent
from perfkit_runtime._codec import get_codec
from perfkit_runtime._exceptions import ModeError, SpawnError
from perfkit_runtime._hashring import HashRing
from perfkit_runtime._modes.delivery import AgentTotals, CloseReport
from perfkit_runtime._modes.remote_delivery import RemoteDelivery
from perfkit_runtime._portable import pickles
from perfkit_runtime._processes._cluster import Cluster
from perfkit_runtime._processes._ref import ProcessRef

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import ModeRuntime

__all__ = ["DEFAULT_RING_BYTES", "ProcessesDelivery"]

logger = logging.getLogger("perfkit_runtime")

# 1 MiB per ring: a frame of 512 small messages is ~10 KB, so a ring holds about fifty of them
# (one frame may be up to half a ring). Pages are touched only as far as traffic reaches; with N
# workers the segment holds (N + 1) * N rings.
DEFAULT_RING_BYTES = 1 << 20
# A message waits at most about this long in a batch before the hub flushes it.
DEFAULT_FLUSH_DELAY = 0.0005
# Spinning before sleeping: 100 µs, yielding the CPU on every turn (measured here: an ask round
# trip of ~15 µs when both sides spin, 20-200 µs when one of them has to be woken).
DEFAULT_SPIN = 0.0001


class ProcessesDelivery(RemoteDelivery):
    """The delivery of ``Runtime(mode="processes")``: a :class:`Cluster` of worker processes."""

    mode: ClassVar[str] = "processes"
    plain_hooks: ClassVar[str] = (
        "processes mode runs plain 'def' hooks (mode='asyncio' runs coroutines, in one process)"
    )
    place_word: ClassVar[str] = "worker"
    first_place: ClassVar[int] = 1  # worker 0 is the parent's seat in the mesh

    def __init__(
        self,
        runtime: ModeRuntime,
        workers: int,
        *,
        codec: str = "pickle",
        ring_bytes: int = DEFAULT_RING_BYTES,
        flush_delay: float = DEFAULT_FLUSH_DELAY,
        spin: float = DEFAULT_SPIN,
        start_timeout: float = 30.0,
    ) -> None:
        if runtime.history is not None:
            raise ModeError(
                "message history records in one process; use mode='threads' with history=, or "
                "record in the agents themselves"
            )
        self.runtime = runtime
        self.router = runtime.router
        self.workers = workers
        self.codec = get_codec(codec)
        self.closed = False
        self.report: CloseReport | None = None
        self._placement: HashRing[int] = HashRing()
        for k in range(1, workers + 1):
            self._placement.add(f"worker-{k}", k)
        self._specs: dict[int, tuple[Any, ...]] = {}
        self._stop_events: dict[int, threading.Event] = {}
        self._retired = [0, 0, 0]
        opts = {
            "ring_bytes": ring_bytes,
            "limit": runtime.batch * 2,
            "batch": runtime.batch,
            "timing": runtime.timing,
            "dead_letter_limit": 1000,
            "flush_delay": flush_delay,
            "spin": spin,
            "start_timeout": start_timeout,
        }
        self.cluster = Cluster(self, workers, self.codec, opts)

    # ------------------------------------------------------------------ the protocol

    def admit(self, cls: type[Agent]) -> None:
        super().admit(cls)
        try:
            pickle.dumps(cls, 5)
        except Exception as exc:
            raise SpawnError(
                f"cannot send {cls.__name__} to a worker process (pickle: {exc}); define the "
                "class at module level"
            ) from exc

    def _spawn_at(self, worker: int, spec: tuple[Any, ...]) -> ProcessRef:
        ident, name, cls, _args, _kwargs, options, _ = spec
        try:
            pickle.dumps(spec, 5)
        except Exception as exc:
            raise SpawnError(
                f"cannot send the arguments of {cls.__name__} to a worker process (pickle: "
                f"{exc}); pass picklable arguments"
            ) from exc
        with self.cluster.admin:
            try:
                self.cluster.request(worker, "spawn", spec)
            except TypeError as exc:
                raise SpawnError(
                    f"cannot construct {cls.__name__}: {exc}; pass its arguments to spawn()"
                ) from exc
            except AttributeError as exc:
                raise SpawnError(
                    f"worker {worker - 1} cannot find {cls.__module__}.{cls.__qualname__} "
                    f"({exc}): define agent classes before creating a processes-mode Runtime, "
                    "or in an importable module"
                ) from exc
            out = self.cluster.out[worker]
            ref = ProcessRef(
                self.cluster,
                ident,
                name,
                cls.__name__,
                worker,
                out,
                options["overflow"],
                options["capacity"],
            )
            self._specs[ident] = spec
            self.cluster.broadcast(("register", [_entry(ref)]))
        return ref

    def _send_stop(self, ref: Any) -> None:
        self.cluster.send(ref.worker, ("stop", ref.id))

    def changed(self, change: tuple[Any, ...]) -> None:
        if change[0] == "group" and not pickles(change[4]):
            change = (*change[:4], None)  # a lambda key stays in the parent (docs/runtime.md)
        self.cluster.broadcast(change)

    def wait_idle(self, timeout: float | None) -> bool:
        return self.cluster.wait_idle(timeout)

    async def wait_idle_async(self, timeout: float | None) -> bool:
        raise ModeError("processes mode waits with rt.wait_idle(timeout)")

    def close(self, timeout: float) -> CloseReport:
        if self.report is not None:
            return self.report
        refs = self.router.agents()
        idle = self.cluster.wait_idle(timeout)
        self.closed = True
        try:
            _, leftover = self.cluster.close_workers(max(0.5, timeout))
        finally:
            self.cluster.shutdown()
        for ref in refs:
            ref._state = "stopped"
            self.router.forget(ref)
        if leftover:
            logger.warning("runtime closed with unhandled messages (dead letters): %s", leftover)
        self.report = CloseReport(stopped=len(refs), leftover=leftover, timed_out=not idle)
        return self.report

    async def aclose(self, timeout: float) -> CloseReport:
        return self.close(timeout)

    def statistics(self) -> AgentTotals:
        out, errors, dropped = self._retired
        depth = 0
        dropped += sum(self.cluster.drops.values())
        for k in range(1, self.workers + 1):
            if not self.cluster.alive(k):
                continue
            (_, handled, failed, lost, queued), drops = self.cluster.request(k, "stats", None)
            out += handled
            errors += failed
            dropped += lost + sum(drops.values())
            depth += queued
        return AgentTotals(len(self.router.agents()), out, errors, dropped, depth)

    # ------------------------------------------------------------------ for refs and the cluster

    def wait_stopped(self, ref: Any, timeout: float | None) -> bool:
        if ref.state == "stopped":
            return True
        event = self._stop_events.setdefault(ref.id, threading.Event())
        if ref.state == "stopped":
            return True
        return event.wait(timeout)

    def agent_stopped(self, gid: int, counters: tuple[int, int, int]) -> None:
        """A worker reports that one of its agents stopped (rt.stop or supervision 'stop')."""
        super().agent_stopped(gid, counters)
        event = self._stop_events.pop(gid, None)
        if event is not None:
            event.set()

    def name_of(self, gid: int) -> str:
        ref = self._ref(gid)
        return ref.name if ref is not None else f"agent-{gid}"

    def crashed(self, k: int) -> tuple[list[Any], list[Any]]:
        """Worker ``k`` died: the specs of its agents to re-create (``_respawn_specs``) and the
        address book to replay."""
        return self._respawn_specs(k), self._routes()

    def _entry(self, ref: Any) -> tuple[Any, ...]:
        return _entry(ref)

    def _sendable_key(self, key: Any) -> Any:
        return key if pickles(key) else None


def _entry(ref: Any) -> tuple[Any, ...]:
    capacity = None if ref._unbounded else 1
    return (ref.id, ref._name, ref._cls_name, ref.worker, ref._overflow, capacity)
