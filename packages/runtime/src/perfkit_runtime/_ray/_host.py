"""The host actor: one Ray actor holding the agents placed on it, in a sync-mode runtime.

Its address book, like a worker's in processes mode, holds a :class:`RayRef` for every agent on
another host, so a handler's ``self.runtime.tell(...)`` routes the same way everywhere. What the
handlers of one call send to another host leaves as one actor call when the call ends.

A host that Ray restarted after its process died (``max_restarts``) knows it from Ray's runtime
context; it keeps what arrives until the driver has re-created its agents (``setup``).
"""

from __future__ import annotations

import logging
import os
import time
from itertools import count
from typing import Any

from perfkit_runtime._codec import Codec
from perfkit_runtime._exceptions import AgentStopped, AskTimeout, ModeError
from perfkit_runtime._modes.sync import ReportingDelivery
from perfkit_runtime._ray._cloudpickle import CloudpickleCodec
from perfkit_runtime._ray._ref import Box, RayRef, set_resolver
from perfkit_runtime._router import DeadLetters
from perfkit_runtime._runtime import Runtime

__all__ = ["ASK", "Host"]

logger = logging.getLogger("perfkit_runtime")

ASK = -1
_LIMIT = 512


class _CollectedDeadLetters(DeadLetters):
    __slots__ = ("new",)

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.new: list[tuple[str, Any, str]] = []

    def add(self, address: object, message: Any, reason: str) -> None:
        super().add(address, message, reason)
        self.new.append((str(address), message, reason))


class HostRuntime(Runtime):
    """The runtime agents see on a host: the address book is changed by the driver only."""

    def __init__(self, host: Host, dead_letters: DeadLetters) -> None:
        super().__init__("sync")
        self.router.dead_letters = dead_letters
        self._delivery = self.delivery = ReportingDelivery(self, host, RayRef)

    def create(self, gid: int, cls: type[Any], args: Any, kwargs: Any, **options: Any) -> Any:
        """Spawn an agent under the id the driver gave it."""
        self._ids = count(gid)
        return Runtime.spawn(self, cls, *args, **options, **kwargs)

    def spawn(self, *args: Any, **kwargs: Any) -> Any:
        raise ModeError(_DRIVER_ONLY.format(what="spawn"))

    def group(self, *args: Any, **kwargs: Any) -> Any:
        raise ModeError(_DRIVER_ONLY.format(what="group"))

    def subscribe(self, topic: str, ref: Any) -> None:
        raise ModeError(_DRIVER_ONLY.format(what="subscribe"))

    def unsubscribe(self, topic: str, ref: Any) -> bool:
        raise ModeError(_DRIVER_ONLY.format(what="unsubscribe"))


_DRIVER_ONLY = (
    "in ray mode {what}() runs in the driver (where the Runtime was created); agents reach "
    "other agents by name, ref, group or topic"
)


class Host:
    """The body of a host actor (wrapped with ``ray.remote`` by the driver)."""

    def __init__(self, index: int) -> None:
        import ray

        self.index = index
        self.codec: Codec = CloudpickleCodec()
        self.closed = False
        self.dead = _CollectedDeadLetters(1000)
        self.rt = HostRuntime(self, self.dead)
        self.local: dict[int, Any] = {}
        self.refs: dict[int, Any] = {}
        self.handles: list[Any] = []
        self.boxes: dict[int, Box] = {}
        self.calls = 0  # actor calls this host has made (monotonic: idle detection)
        self.outgoing: list[tuple[Any, list[Any]]] = []  # calls not known to be finished
        self.stopped: list[tuple[int, tuple[int, int, int]]] = []
        self.waiting: list[list[Any]] | None = None
        if ray.get_runtime_context().was_current_actor_reconstructed:
            self.waiting = []  # restarted by Ray: hold the mail until setup() re-creates agents
        set_resolver(self)

    # ------------------------------------------------------------------ RayHost protocol

    def submit(self, box: Box) -> None:
        with box.lock:
            records, n = box.take()
        if n:
            self.calls += 1
            self.outgoing.append((self.handles[box.host].deliver.remote(records), records))

    def arm(self, box: Box) -> None:
        pass  # flushed when the current call ends

    def ask(self, ref: RayRef, msg: Any, timeout: float | None) -> Any:
        import ray

        box = self.boxes[ref.host]
        with box.lock:
            records, _n = box.take()
        self.calls += 1
        call = self.handles[ref.host].call.remote([*records, ASK, [ref.id, msg]])
        try:
            status, value = ray.get(call, timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            raise AskTimeout(
                f"agent {ref.name!r} did not reply within {timeout}s; raise the timeout"
            ) from None
        if status == "err":
            raise value
        return value

    def dead_letter(self, address: str, msg: Any, reason: str) -> None:
        self.dead.add(address, msg, reason)

    def agent_statistics(self, ref: RayRef) -> Any:
        raise ModeError("statistics of agents on other hosts are read from the driver")

    def wait_stopped(self, ref: RayRef, timeout: float | None) -> bool:
        raise ModeError("wait_stopped() on an agent of another host runs in the driver")

    def resolve(self, gid: int) -> Any:
        ref = self.refs.get(gid)
        if ref is None:
            raise AgentStopped(f"agent id {gid} in a message is not known here (stopped?)")
        return ref

    # ------------------------------------------------------------------ actor methods

    def setup(self, handles: list[Any], specs: list[Any], routes: list[Any]) -> int:
        self.handles = handles
        self.boxes = {k: Box(k, _LIMIT) for k in range(len(handles)) if k != self.index}
        for spec in specs:
            self._create(spec)
        for route in routes:
            self.control(*route)
        waiting, self.waiting = self.waiting, None
        for records in waiting or ():
            self._deliver(records)
        self._flush()
        return os.getpid()

    def deliver(self, records: list[Any]) -> int:
        if self.waiting is not None:
            self.waiting.append(records)
            return 0
        n = self._deliver(records)
        self._flush()
        return n

    def call(self, records: list[Any]) -> tuple[str, Any]:
        """Deliver the tells in ``records``, then answer the ask that ends them."""
        gid, msg = records[-1]
        self._deliver(records[:-2])
        ref = self.local.get(gid)
        try:
            if ref is None:
                raise AgentStopped(f"agent id {gid} has stopped; spawn a new one to ask it")
            result: tuple[str, Any] = ("ok", ref.ask(msg))
        except Exception as exc:
            result = ("err", exc)
        self._flush()
        return result

    def control(self, op: str, *args: Any) -> Any:
        return getattr(self, f"_c_{op}")(*args)

    def pid(self) -> int:
        return os.getpid()

    # ------------------------------------------------------------------ delivering

    def _deliver(self, records: list[Any]) -> int:
        local = self.local
        n = 0
        for i in range(0, len(records), 2):
            gid, msgs = records[i], records[i + 1]
            n += len(msgs)
            ref = local.get(gid)
            if ref is None:
                for msg in msgs:
                    self.dead.add(gid, msg, "agent stopped")
            elif len(msgs) == 1:
                ref.tell(msgs[0])
            else:
                ref.tell_batch(msgs)
        return n

    def _flush(self) -> None:
        for box in self.boxes.values():
            if box.count:
                self.submit(box)

    # ------------------------------------------------------------------ control

    def _create(self, spec: tuple[Any, ...]) -> None:
        gid, name, cls, args, kwargs, options, restarts = spec
        ref = self.rt.create(gid, cls, args, kwargs, name=name, **options)
        ref._restarts = restarts
        self.local[gid] = ref
        self.refs[gid] = ref

    def _c_spawn(self, spec: tuple[Any, ...]) -> tuple[str, Any]:
        try:
            self._create(spec)
        except Exception as exc:
            return ("err", exc)
        return ("ok", None)

    def _c_register(self, entries: list[tuple[Any, ...]]) -> None:
        for gid, name, cls_name, host in entries:
            if host == self.index:
                continue
            ref = RayRef(self, gid, name, cls_name, self.boxes[host])
            self.refs[gid] = ref
            self.rt.router.register(ref, name)  # type: ignore[arg-type]

    def _c_forget(self, gid: int) -> None:
        ref = self.refs.pop(gid, None)
        if ref is not None and gid not in self.local:
            self.rt.router.forget(ref)

    def _c_subscribe(self, topic: str, gid: int) -> None:
        if gid in self.refs:
            self.rt.router.subscribe(topic, self.refs[gid])

    def _c_unsubscribe(self, topic: str, gid: int) -> None:
        if gid in self.refs:
            self.rt.router.unsubscribe(topic, self.refs[gid])

    def _c_group(self, name: str, strategy: str, gids: list[int], key: Any) -> None:
        members = [self.refs[g] for g in gids if g in self.refs]
        Runtime.group(self.rt, name, members, strategy, key=key)

    def _c_stop(self, gid: int) -> None:
        ref = self.local.get(gid)
        if ref is not None:
            Runtime.stop(self.rt, ref)

    def _c_stats(self, gid: int | None) -> Any:
        if gid is not None:
            ref = self.local.get(gid)
            return None if ref is None else ref.statistics()
        return self.rt.delivery.totals(list(self.local.values()))

    def _c_report(self) -> tuple[int, int, list[Any], list[Any]]:
        """Calls made so far, calls still running, new dead letters, agents that stopped."""
        import ray

        if self.outgoing:
            refs = [ref for ref, _ in self.outgoing]
            done, _ = ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
            finished = set(done)
            for ref, records in self.outgoing:
                if ref in finished:
                    try:
                        ray.get(ref, timeout=0)
                    except ray.exceptions.RayActorError:
                        for i in range(0, len(records), 2):
                            for msg in records[i + 1]:
                                self.dead.add(records[i], msg, "worker crashed")
            self.outgoing = [c for c in self.outgoing if c[0] not in finished]
        dead, self.dead.new = self.dead.new, []
        stopped, self.stopped = self.stopped, []
        return self.calls, len(self.outgoing), dead, stopped

    def _c_close(self, timeout: float) -> tuple[int, dict[str, int]]:
        for gid, ref in list(self.refs.items()):
            if gid not in self.local:
                self.rt.router.forget(ref)
        start = time.monotonic()
        report = self.rt.close(timeout)
        logger.debug("host %d closed in %.3fs", self.index, time.monotonic() - start)
        return report.stopped, report.leftover

    def agent_stopped(self, ref: Any, counters: tuple[int, int, int]) -> None:
        self.local.pop(ref.id, None)
        self.refs.pop(ref.id, None)
        self.stopped.append((ref.id, counters))
