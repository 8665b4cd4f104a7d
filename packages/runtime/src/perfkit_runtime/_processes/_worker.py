"""A worker process of processes mode: its agents, its rings, its loop.

A worker hosts its agents in a sync-mode runtime of its own (the same mailboxes, supervision and
statistics as ``Runtime("sync")``), whose address book also holds a :class:`ProcessRef` for every
agent on another worker, so ``self.runtime.tell("ledger", x)`` in a handler routes exactly as in
one process. It reads its inbound rings (one from the parent, one from each other worker) in a
loop; each data frame is a batch of runs, handed to the agents' mailboxes a run at a time. What
the handlers send to other processes is buffered per destination and flushed once per frame.

When every ring is empty it spins for ``spin`` seconds, yielding the CPU on each turn (on a
shared 2-core VM waking a sleeping process costs 20-200 µs, while a spinning reader answers in a
few), then sleeps on its doorbell.

Status words (the worker's line beside its doorbell, read by the parent): BUSY while it holds a
frame's messages, INFLIGHT how many (counted as dead letters if it is killed).
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import time
from collections import Counter
from itertools import count
from typing import Any

from perfkit_runtime._codec import Codec
from perfkit_runtime._exceptions import AgentStopped, AskTimeout, MailboxFull, ModeError
from perfkit_runtime._modes.sync import ReportingDelivery
from perfkit_runtime._portable import check_message, pickles
from perfkit_runtime._processes._ref import ProcessRef, set_resolver
from perfkit_runtime._router import DeadLetters
from perfkit_runtime._runtime import Runtime
from perfkit_runtime._transport import (
    ASK,
    CONTROL,
    REPLY,
    Mesh,
    Outbox,
    count_messages,
    decode_frame,
)

__all__ = ["BUSY", "INFLIGHT", "Worker", "readable", "run_worker"]

logger = logging.getLogger("perfkit_runtime")

BUSY, INFLIGHT = 1, 2  # status words


class _ReportedDeadLetters(DeadLetters):
    """The worker's dead letters: counted here and reported to the parent, which keeps the total."""

    __slots__ = ("_worker",)

    def __init__(self, worker: Worker, limit: int) -> None:
        super().__init__(limit)
        self._worker = worker

    def add(self, address: object, message: Any, reason: str) -> None:
        super().add(address, message, reason)
        self._worker.dead.append((str(address), message, reason))


class WorkerRuntime(Runtime):
    """The runtime agents see inside a worker: routing works across workers; changes to the
    address book (spawn, groups, topics) belong to the parent process."""

    def __init__(self, worker: Worker, batch: int, timing: bool, dead_letters: DeadLetters) -> None:
        super().__init__("sync", batch=batch, timing=timing)
        self.router.dead_letters = dead_letters
        self._delivery = self.delivery = ReportingDelivery(self, worker, ProcessRef)
        self._worker = worker

    def create(self, gid: int, cls: type[Any], args: Any, kwargs: Any, **options: Any) -> Any:
        """Spawn an agent under the id the parent gave it."""
        self._ids = count(gid)
        return Runtime.spawn(self, cls, *args, **options, **kwargs)

    def spawn(self, *args: Any, **kwargs: Any) -> Any:
        raise ModeError(_PARENT_ONLY.format(what="spawn"))

    def group(self, *args: Any, **kwargs: Any) -> Any:
        raise ModeError(_PARENT_ONLY.format(what="group"))

    def subscribe(self, topic: str, ref: Any) -> None:
        raise ModeError(_PARENT_ONLY.format(what="subscribe"))

    def unsubscribe(self, topic: str, ref: Any) -> bool:
        raise ModeError(_PARENT_ONLY.format(what="unsubscribe"))

    def stop(self, ref: Any) -> None:
        if isinstance(ref, ProcessRef):
            self._worker.out[ref.worker].control(("stop", ref.id))
        else:
            super().stop(ref)


_PARENT_ONLY = (
    "in processes mode {what}() runs in the parent process (where the Runtime was created); "
    "agents reach other agents by name, ref, group or topic"
)


class Worker:
    """Everything one worker process owns."""

    def __init__(self, index: int, mesh: Mesh, codec: Codec, options: dict[str, Any]) -> None:
        self.index = index
        self.mesh = mesh
        self.codec = codec
        self.closed = False
        self.may_block = False  # never wait on another worker's ring: buffer instead
        self.running = True
        self.spin: float = options["spin"]
        self.bell = mesh.bell(index)
        self.status = mesh.status(index)
        for word in range(8):
            self.status[word] = 0
        procs = range(mesh.processes)
        self.inbound = [(src, mesh.reset_ring(src, index)) for src in procs if src != index]
        self.out: dict[int, Outbox] = {}
        for dst in procs:
            if dst != index:
                ring = mesh.reset_ring(index, dst)
                self.out[dst] = Outbox(ring, mesh.bell(dst), codec, options["limit"], self._room)
        dead = _ReportedDeadLetters(self, options["dead_letter_limit"])
        self.rt = WorkerRuntime(self, options["batch"], options["timing"], dead)
        self.local: dict[int, Any] = {}  # gid -> this worker's own refs
        self.refs: dict[int, Any] = {}  # gid -> every agent's ref (own and remote)
        self.replies: dict[int, list[Any]] = {}
        self.rids = count(1)
        self.dead: list[tuple[str, Any, str]] = []
        self.stopped: list[tuple[int, tuple[int, int, int]]] = []
        self.drops: Counter[int] = Counter()
        self.depth = 0
        self.lifeline = options["lifeline"]
        self.bell.watch(self.lifeline)
        self.ready = False
        if options["restarted"]:
            for out in self.out.values():
                out._ring.announce_restart()

    # ------------------------------------------------------------------ Host protocol

    def arm(self, out: Outbox) -> None:
        pass  # flushed at the end of every frame

    def dropped(self, gid: int) -> None:
        self.drops[gid] += 1

    def resolve(self, gid: int) -> Any:
        ref = self.refs.get(gid)
        if ref is None:
            raise AgentStopped(f"agent id {gid} in a message is not known here (stopped?)")
        return ref

    def wait_room(self, out: Outbox, deadline: float | None) -> bool:
        while not out.flush():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.0001)
        return True

    def ask(self, ref: ProcessRef, msg: Any, timeout: float | None) -> Any:
        """An ask from a handler to another worker's agent: pump our rings until the reply."""
        rid = next(self.rids)
        slot: list[Any] = []
        self.replies[rid] = slot
        out = self.out[ref.worker]
        out.add_record(ASK, [ref.id, rid, msg])
        out.flush(block=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not slot:
                if not self.pump() and not slot:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise AskTimeout(
                            f"agent {ref.name!r} did not reply within {timeout}s; raise the timeout"
                        )
                    self.bell.wait(self.has_work, 0.001)
        finally:
            self.replies.pop(rid, None)
        ok, value = slot
        if not ok:
            raise value
        return value

    def agent_statistics(self, ref: ProcessRef) -> Any:
        raise ModeError("statistics of agents on other workers are read from the parent process")

    def dead_letter(self, address: str, msg: Any, reason: str) -> None:
        self.rt.router.dead_letters.add(address, msg, reason)

    def stop(self, ref: ProcessRef) -> None:
        self.rt.stop(ref)

    def wait_stopped(self, ref: ProcessRef, timeout: float | None) -> bool:
        raise ModeError("wait_stopped() on an agent of another worker runs in the parent process")

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        # The parent's ring first, alone, until "init" has re-created our agents and the
        # address book: frames from other workers may be for those agents.
        _, first = self.inbound[0]
        while not self.ready:
            got = first.get()
            if got is None:
                self.bell.wait(lambda: first.pending() > 0, None)
                if readable(self.lifeline):
                    return
                continue
            kind, view = got
            value = decode_frame(kind, view, self.codec)
            first.consume(view)
            if kind == CONTROL:
                self.control(0, value)
            else:
                self.deliver(0, value)
            self.flush()
        while self.running:
            if self.pump():
                continue
            if self.spin and self._spin():
                continue
            self.bell.wait(self.has_work, None)
            if readable(self.lifeline):
                return  # the parent is gone: nobody can read our work any more

    def has_work(self) -> bool:
        return any(ring.pending() for _, ring in self.inbound)

    def _spin(self) -> bool:
        end = time.perf_counter() + self.spin
        yield_ = os.sched_yield
        while time.perf_counter() < end:
            for _, ring in self.inbound:
                if ring.pending():
                    return True
            yield_()
        return False

    def pump(self) -> int:
        """Handle every frame waiting in the inbound rings once; returns how many."""
        frames = 0
        status = self.status
        self.depth += 1
        try:
            for src, ring in self.inbound:
                while (got := ring.get()) is not None:
                    kind, view = got
                    status[BUSY] = 1
                    try:
                        value = decode_frame(kind, view, self.codec)
                    finally:
                        n = 0 if kind == CONTROL else count_messages(value)
                        status[INFLIGHT] += n
                        ring.consume(view)
                    frames += 1
                    if kind == CONTROL:
                        self.control(src, value)
                    else:
                        self.deliver(src, value)
                    self.flush()
                    status[INFLIGHT] -= n
        finally:
            self.depth -= 1
        if frames and not self.depth and not self._pending():
            status[BUSY] = 0
        return frames

    def _pending(self) -> bool:
        return any(out.count for out in self.out.values())

    def flush(self) -> None:
        if self.dead:
            dead, self.dead = self.dead, []
            self.out[0].control(("dead", _portable_letters(dead)))
        if self.stopped:
            stopped, self.stopped = self.stopped, []
            self.out[0].control(("stopped", stopped))
        for out in self.out.values():
            if out.count:
                out.flush()

    def _room(self) -> bool:
        """Wait callback of a blocking write: the reader will make room unless it is gone."""
        if readable(self.lifeline):
            return False
        time.sleep(0.00005)
        return True

    # ------------------------------------------------------------------ data

    def deliver(self, src: int, records: list[Any]) -> None:
        local = self.local
        for i in range(0, len(records), 2):
            tag = records[i]
            payload = records[i + 1]
            if tag >= 0:
                ref = local.get(tag)
                if ref is None:
                    for msg in payload:
                        self.rt.router.dead_letters.add(tag, msg, "agent stopped")
                    continue
                try:
                    if len(payload) == 1:
                        ref.tell(payload[0])
                    else:
                        ref.tell_batch(payload)
                except MailboxFull:
                    self.drops[tag] += len(payload)
            elif tag == ASK:
                self.answer(src, *payload)
            elif tag == REPLY:
                slot = self.replies.get(payload[0])
                if slot is not None:
                    slot[:] = [True, payload[1]]

    def answer(self, src: int, gid: int, rid: int, msg: Any) -> None:
        ref = self.local.get(gid)
        out = self.out[src]
        try:
            if ref is None:
                raise AgentStopped(f"agent id {gid} has stopped; spawn a new one to ask it")
            value = ref.ask(msg)
            check_message(self.codec, value, f"the asker of {ref.name}")
        except Exception as exc:
            out.control(("fail", rid, _portable(exc)))
            return
        out.add_record(REPLY, [rid, value])

    # ------------------------------------------------------------------ control

    def control(self, src: int, obj: Any) -> None:
        op = obj[0]
        getattr(self, f"_c_{op}")(src, *obj[1:])

    def _c_fail(self, src: int, rid: int, exc: BaseException) -> None:
        slot = self.replies.get(rid)
        if slot is not None:
            slot[:] = [False, exc]

    def _c_init(self, src: int, agents: list[Any], routes: list[Any]) -> None:
        for spec in agents:
            self._create(spec)
        for route in routes:
            self.control(src, route)
        self.ready = True
        self.out[0].control(("ready", self.index, os.getpid()))

    def _c_spawn(self, src: int, req: int, spec: tuple[Any, ...]) -> None:
        try:
            self._create(spec)
        except BaseException as exc:
            self.out[src].control(("fail", req, _portable(exc)))
            return
        self.out[src].control(("ack", req, None))

    def _create(self, spec: tuple[Any, ...]) -> None:
        gid, name, cls, args, kwargs, options, restarts = spec
        ref = self.rt.create(gid, cls, args, kwargs, name=name, **options)
        ref._restarts = restarts
        self.local[gid] = ref
        self.refs[gid] = ref

    def _c_register(self, src: int, entries: list[tuple[Any, ...]]) -> None:
        router = self.rt.router
        for gid, name, cls_name, worker, overflow, capacity in entries:
            if worker == self.index:
                continue
            out = self.out[worker]
            ref = ProcessRef(self, gid, name, cls_name, worker, out, overflow, capacity)
            self.refs[gid] = ref
            router.register(ref, name)  # type: ignore[arg-type]

    def _c_forget(self, src: int, gid: int) -> None:
        ref = self.refs.pop(gid, None)
        if ref is not None and gid not in self.local:
            self.rt.router.forget(ref)

    def _c_subscribe(self, src: int, topic: str, gid: int) -> None:
        ref = self.refs.get(gid)
        if ref is not None:
            self.rt.router.subscribe(topic, ref)

    def _c_unsubscribe(self, src: int, topic: str, gid: int) -> None:
        ref = self.refs.get(gid)
        if ref is not None:
            self.rt.router.unsubscribe(topic, ref)

    def _c_group(self, src: int, name: str, strategy: str, gids: list[int], key: Any) -> None:
        members = [self.refs[g] for g in gids if g in self.refs]
        Runtime.group(self.rt, name, members, strategy, key=key)

    def _c_stop(self, src: int, gid: int) -> None:
        ref = self.local.get(gid)
        if ref is not None:
            Runtime.stop(self.rt, ref)

    def _c_stats(self, src: int, req: int, gid: int | None) -> None:
        if gid is None:
            value: Any = (self._totals(), dict(self.drops))
        else:
            ref = self.local.get(gid)
            value = None if ref is None else ref.statistics()
        self.out[src].control(("ack", req, value))

    def _totals(self) -> tuple[int, int, int, int, int]:
        return self.rt.delivery.totals(list(self.local.values()))

    def _c_close(self, src: int, req: int, timeout: float) -> None:
        router = self.rt.router
        for gid, ref in list(self.refs.items()):
            if gid not in self.local:
                router.forget(ref)
        report = self.rt.close(timeout)
        self.flush()
        self.out[src].control(("ack", req, (report.stopped, report.leftover)))
        self.running = False

    def agent_stopped(self, ref: Any, counters: tuple[int, int, int]) -> None:
        self.local.pop(ref.id, None)
        self.refs.pop(ref.id, None)
        self.stopped.append((ref.id, counters))


def readable(fd: int) -> bool:
    """Whether ``fd`` has something to read (a pipe's end closed, a pidfd's process exited)."""
    return bool(select.select([fd], [], [], 0)[0])


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it pickles, else a RuntimeError that says what it was."""
    try:
        pickle.loads(pickle.dumps(exc, 5))
    except Exception:
        return RuntimeError(f"{type(exc).__qualname__}: {exc}")
    return exc


def _portable_letters(dead: list[tuple[str, Any, str]]) -> list[tuple[str, Any, str]]:
    try:
        pickle.dumps(dead, 5)
    except Exception:
        return [(a, m if pickles(m) else repr(m), r) for a, m, r in dead]
    return dead


def run_worker(index: int, mesh: Mesh, codec: Codec, options: dict[str, Any]) -> None:
    """The body of a worker process (forked): never returns."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        worker = Worker(index, mesh, codec, options)
        set_resolver(worker)
        worker.run()
    except BaseException:
        logger.exception("worker %d failed", index)
        code = 1
    finally:
        os._exit(code)
