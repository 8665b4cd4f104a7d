"""``Runtime(mode="processes")``: agents on N worker processes, the same API as one process.

The parent process keeps the address book (names, ids, groups, topics) with a
:class:`ProcessRef` per agent, and sends every change to the workers, whose copies hold a ref to
each agent on another worker. Spawning sends the class and arguments (pickled) to the worker
chosen by ``placement=`` or by a consistent hash of the agent's name, and waits for it to be
constructed and started there, so construction errors are raised by ``spawn`` as in one process.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from collections.abc import Callable, Iterable
from typing import Any

from perfkit_runtime._agent import Agent
from perfkit_runtime._codec import get_codec
from perfkit_runtime._exceptions import ModeError, RuntimeClosed, SpawnError
from perfkit_runtime._hashring import HashRing
from perfkit_runtime._processes._cluster import Cluster
from perfkit_runtime._processes._ref import ProcessRef
from perfkit_runtime._ref import OVERFLOW_POLICIES, SUPERVISION_POLICIES
from perfkit_runtime._router import Group
from perfkit_runtime._runtime import DEFAULT_BATCH, CloseReport, Runtime
from perfkit_runtime._statistics import RouterStats, RuntimeStats

__all__ = ["DEFAULT_RING_BYTES", "ProcessRuntime"]

logger = logging.getLogger("perfkit_runtime")

# 1 MiB per ring: a frame of 512 small messages is ~10 KB, so a ring holds about fifty of them
# (one frame may be up to half a ring). Pages are touched only as far as traffic reaches, and
# with N workers the segment holds (N + 1) * N rings.
DEFAULT_RING_BYTES = 1 << 20
# A message waits at most about this long in a batch before the hub flushes it.
DEFAULT_FLUSH_DELAY = 0.0005
# Spinning before sleeping: 100 µs, yielding the CPU on every turn (measured here: an ask round
# trip of ~15 µs when both sides spin, 20-200 µs when one of them has to be woken).
DEFAULT_SPIN = 0.0001


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class ProcessRuntime(Runtime):
    """The processes-mode runtime; created by ``Runtime(mode="processes", workers=N)``."""

    def __init__(
        self,
        mode: str = "processes",
        *,
        workers: int | None = None,
        codec: str = "pickle",
        ring_bytes: int = DEFAULT_RING_BYTES,
        batch: int = DEFAULT_BATCH,
        timing: bool = False,
        history: Any = None,
        dead_letter_limit: int = 1000,
        close_timeout: float = 5.0,
        flush_delay: float = DEFAULT_FLUSH_DELAY,
        spin: float = DEFAULT_SPIN,
        start_timeout: float = 30.0,
    ) -> None:
        if history is not None:
            raise ModeError(
                "message history records in one process; use mode='threads' with history=, or "
                "record in the agents themselves"
            )
        n = default_workers() if workers is None else workers
        if n < 1:
            raise ValueError(f"workers must be at least 1, got {n}")
        super().__init__("sync", batch=batch, timing=timing, dead_letter_limit=dead_letter_limit)
        self.mode = "processes"
        self.close_timeout = close_timeout
        self.workers = n
        self.codec = get_codec(codec)
        self._placement: HashRing[int] = HashRing()
        for k in range(1, n + 1):
            self._placement.add(f"worker-{k}", k)
        self._specs: dict[int, tuple[Any, ...]] = {}
        self._stop_events: dict[int, threading.Event] = {}
        self._retired_counts = [0, 0, 0]
        opts = {
            "ring_bytes": ring_bytes,
            "limit": batch * 2,
            "batch": batch,
            "timing": timing,
            "dead_letter_limit": dead_letter_limit,
            "flush_delay": flush_delay,
            "spin": spin,
            "start_timeout": start_timeout,
        }
        self._cluster = Cluster(self, n, self.codec, opts)

    # ------------------------------------------------------------------ spawning

    def spawn(
        self,
        cls: type[Agent],
        *args: Any,
        name: str | None = None,
        capacity: int | None = None,
        overflow: str = "block",
        supervision: str = "resume",
        placement: object = None,
        **kwargs: Any,
    ) -> Any:
        """Start an agent on a worker process (``placement``: a worker number 0..N-1, or a key
        hashed onto one; default: the agent's name hashed); returns its :class:`ProcessRef`."""
        if self._closed:
            raise RuntimeClosed("cannot spawn: the runtime is closed; create a new Runtime")
        if cls not in self._checked:
            self._check_class(cls)
        _check_options(capacity, overflow, supervision)
        if name is not None and self.router.name_taken(name):
            raise SpawnError(
                f"the name {name!r} is taken; pick another or stop the agent that has it first"
            )
        with self._cluster.admin:
            gid = next(self._ids)
            label = name if name is not None else f"{cls.__name__.lower()}-{gid}"
            worker = self._place(label if placement is None else placement)
            options = {"capacity": capacity, "overflow": overflow, "supervision": supervision}
            spec = (gid, name, cls, args, kwargs, options, 0)
            _check_portable(cls, spec)
            try:
                self._cluster.request(worker, "spawn", spec)
            except TypeError as exc:
                raise SpawnError(
                    f"cannot construct {cls.__name__}: {exc}; pass its arguments to spawn()"
                ) from exc
            except AttributeError as exc:
                raise SpawnError(
                    f"worker {worker - 1} cannot find {cls.__module__}.{cls.__qualname__} ({exc}): "
                    "define agent classes before creating a processes-mode Runtime, or in an "
                    "importable module"
                ) from exc
            out = self._cluster.out[worker]
            ref = ProcessRef(
                self._cluster, gid, name, cls.__name__, worker, out, overflow, capacity
            )
            self.router.register(ref, name)  # type: ignore[arg-type]
            self._specs[gid] = spec
            self._cluster.broadcast(("register", [_entry(ref)]))
        return ref

    def _place(self, key: object) -> int:
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < self.workers:
                raise SpawnError(
                    f"placement={key} is not a worker number; use 0..{self.workers - 1} or a key"
                )
            return key + 1
        return self._placement.lookup(key)

    def pool(self, *args: Any, **kwargs: Any) -> Any:
        raise ModeError("pools recycle instances in one process; use spawn() in processes mode")

    # ------------------------------------------------------------------ address book changes

    def group(
        self,
        name: str,
        members: Iterable[Any] = (),
        strategy: str = "round_robin",
        *,
        key: Callable[[Any], object] | None = None,
    ) -> Group:
        members = list(members)
        group = super().group(name, members, strategy, key=key)
        portable_key = key if _pickles(key) else None
        self._cluster.broadcast(("group", name, strategy, [m.id for m in members], portable_key))
        return group

    def subscribe(self, topic: str, ref: Any) -> None:
        super().subscribe(topic, ref)
        self._cluster.broadcast(("subscribe", topic, ref.id))

    def unsubscribe(self, topic: str, ref: Any) -> bool:
        found = super().unsubscribe(topic, ref)
        self._cluster.broadcast(("unsubscribe", topic, ref.id))
        return found

    def stop(self, ref: Any) -> None:
        """Stop an agent after the messages already sent to it; later ones are dead letters."""
        if ref.state != "running":
            return
        ref._state = "stopping"
        self._cluster.send(ref.worker, ("stop", ref.id))

    def wait_stopped(self, ref: Any, timeout: float | None = None) -> bool:
        if ref.state == "stopped":
            return True
        event = self._stop_events.setdefault(ref.id, threading.Event())
        if ref.state == "stopped":
            return True
        return event.wait(timeout)

    def agent_stopped(self, gid: int, counters: tuple[int, int, int]) -> None:
        """A worker reports that one of its agents stopped (rt.stop or supervision 'stop')."""
        ref = self.router._by_id.get(gid)
        self._specs.pop(gid, None)
        for i, n in enumerate(counters):
            self._retired_counts[i] += n
        if ref is not None:
            ref._state = "stopped"
            self.router.forget(ref)
        self._cluster.broadcast(("forget", gid))
        event = self._stop_events.pop(gid, None)
        if event is not None:
            event.set()

    def name_of(self, gid: int) -> str:
        ref = self.router._by_id.get(gid)
        return ref.name if ref is not None else f"agent-{gid}"

    def crashed(self, k: int) -> tuple[list[Any], list[Any]]:
        """Worker ``k`` died: the specs of its agents to re-create and the address book to replay.

        Supervision decides: ``stop`` agents stay stopped; ``resume`` and ``restart`` agents are
        re-created from their spawn arguments (the instance died with the process), counted as
        restarts.
        """
        specs = []
        for gid, spec in list(self._specs.items()):
            ref = self.router._by_id.get(gid)
            if ref is None or ref.worker != k:  # type: ignore[attr-defined]
                continue
            if spec[5]["supervision"] == "stop":
                self.agent_stopped(gid, (0, 0, 0))
                continue
            spec = (*spec[:6], spec[6] + 1)
            self._specs[gid] = spec
            specs.append(spec)
        return specs, self._routes()

    def _routes(self) -> list[Any]:
        router = self.router
        routes: list[Any] = [("register", [_entry(r) for r in router.agents()])]
        for topic, subscribers in router._topics.items():
            routes += [("subscribe", topic, gid) for gid in subscribers]
        for group in router._groups.values():
            key = getattr(group, "_key", None)
            gids = [m.id for m in group.members]
            routes.append(
                ("group", group.name, group.strategy, gids, key if _pickles(key) else None)
            )
        return routes

    # ------------------------------------------------------------------ waiting and closing

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every ring is empty and no worker holds a message; False on timeout."""
        return self._cluster.wait_idle(timeout)

    async def wait_idle_async(self, timeout: float | None = None) -> bool:
        raise ModeError("processes mode waits with rt.wait_idle(timeout)")

    def close(self, timeout: float | None = None) -> CloseReport:
        """Drain within ``timeout``, stop every agent on every worker, end the workers."""
        if self._close_report is not None:
            return self._close_report
        timeout = self.close_timeout if timeout is None else timeout
        refs = self.router.agents()
        idle = self._cluster.wait_idle(timeout)
        self._closed = True
        try:
            _, leftover = self._cluster.close_workers(max(0.5, timeout))
        finally:
            self._cluster.shutdown()
        for ref in refs:
            ref._state = "stopped"
            self.router.forget(ref)
        report = CloseReport(stopped=len(refs), leftover=leftover, timed_out=not idle)
        if leftover:
            logger.warning("runtime closed with unhandled messages (dead letters): %s", leftover)
        self._close_report = report
        return report

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> RuntimeStats:
        out, errors, dropped = self._retired_counts
        depth = agents = 0
        dropped += sum(self._cluster.drops.values())
        for k in range(1, self.workers + 1):
            if not self._cluster.alive(k):
                continue
            (n, handled, failed, lost, queued), drops = self._cluster.request(k, "stats", None)
            out += handled
            errors += failed
            dropped += lost + sum(drops.values())
            depth += queued
            agents += n

        router = self.router.statistics()
        return RuntimeStats(
            mode=self.mode,
            agents=len(self.router.agents()),
            messages_in=out + depth,
            messages_out=out,
            errors=errors,
            dropped=dropped,
            dead_letters=self.router.dead_letters.total,
            mailbox_depth=depth,
            router=RouterStats(**{**_fields(router), "agents": len(self.router.agents())}),
        )

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<Runtime mode='processes' workers={self.workers} "
            f"agents={len(self.router.agents())} {state}>"
        )


def _fields(stats: RouterStats) -> dict[str, Any]:
    return {name: getattr(stats, name) for name in stats.__dataclass_fields__}


def _entry(ref: Any) -> tuple[Any, ...]:
    capacity = None if ref._unbounded else 1
    return (ref.id, ref._name, ref._cls_name, ref.worker, ref._overflow, capacity)


def _check_options(capacity: int | None, overflow: str, supervision: str) -> None:
    if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
        raise SpawnError(f"capacity must be a positive int or None, got {capacity!r}")
    if overflow not in OVERFLOW_POLICIES:
        raise SpawnError(
            f"unknown overflow policy {overflow!r}; choose one of {', '.join(OVERFLOW_POLICIES)}"
        )
    if supervision not in SUPERVISION_POLICIES:
        raise SpawnError(
            f"unknown supervision policy {supervision!r}; "
            f"choose one of {', '.join(SUPERVISION_POLICIES)}"
        )


def _check_portable(cls: type[Agent], spec: tuple[Any, ...]) -> None:
    try:
        pickle.dumps(spec, 5)
    except Exception as exc:
        raise SpawnError(
            f"cannot send {cls.__name__} and its arguments to a worker process (pickle: {exc}); "
            "define the class at module level and pass picklable arguments"
        ) from exc


def _pickles(value: Any) -> bool:
    try:
        pickle.dumps(value, 5)
    except Exception:
        return False
    return True
