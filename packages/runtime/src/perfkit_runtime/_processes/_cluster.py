"""The parent's side of processes mode: starting workers, the parent's ends of the rings, the hub.

The hub is one daemon thread of the parent. It reads what workers send the parent (replies,
acknowledgements, dead letters, agents that stopped), flushes outboxes whose oldest message has
waited ``flush_delay``, and watches each worker through a pidfd: a worker that dies is restarted
(:meth:`Cluster.recover`). A thread that asks reads the rings itself while it spins, so a reply
needs no wake-up of the hub.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from itertools import count
from typing import TYPE_CHECKING, Any, Protocol

from perfkit_runtime._codec import Codec
from perfkit_runtime._exceptions import (
    AgentStopped,
    AskTimeout,
    MailboxFull,
    PerfkitRuntimeError,
    WorkerError,
)
from perfkit_runtime._processes._ref import ProcessRef, set_resolver
from perfkit_runtime._processes._worker import BUSY, INFLIGHT, readable, run_worker
from perfkit_runtime._processes._zygote import Zygote
from perfkit_runtime._transport import (
    ASK,
    CONTROL,
    REPLY,
    Mesh,
    Outbox,
    Ring,
    RingFull,
    decode_frame,
    fence,
    ring_bytes,
)

if TYPE_CHECKING:
    from perfkit_runtime._router import Router
    from perfkit_runtime._statistics import AgentStats

__all__ = ["Cluster", "Parent"]

logger = logging.getLogger("perfkit_runtime")


class Parent(Protocol):
    """The delivery a cluster works for, as the cluster sees it (``ProcessesDelivery`` is one)."""

    router: Router

    def stop(self, ref: Any) -> None: ...

    def wait_stopped(self, ref: Any, timeout: float | None) -> bool: ...

    def agent_stopped(self, gid: int, counters: tuple[int, int, int]) -> None: ...

    def name_of(self, gid: int) -> str: ...

    def crashed(self, k: int) -> tuple[list[Any], list[Any]]: ...


class _Slot:
    """A reply someone waits for: a pre-acquired lock released by whoever delivers it."""

    __slots__ = ("error", "lock", "ready", "value", "worker")

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.ready = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.lock = threading.Lock()
        self.lock.acquire()

    def done(self, value: Any) -> None:
        if not self.ready:
            self.value = value
            self.ready = True
            self.lock.release()

    def fail(self, error: BaseException) -> None:
        if not self.ready:
            self.error = error
            self.ready = True
            self.lock.release()


def check_shared_memory(processes: int, capacity: int) -> None:
    """Refuse a segment larger than /dev/shm can hold: touching pages past its size kills the
    toucher with SIGBUS, long after the segment was created without complaint."""
    need = processes * (processes - 1) * ring_bytes(capacity)
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if need > free:
        raise WorkerError(
            f"the workers' rings need {need / 2**20:.0f} MiB of shared memory but /dev/shm has "
            f"{free / 2**20:.0f} MiB free: lower workers= or ring_bytes=, or enlarge /dev/shm "
            "(docker run --shm-size)"
        )


class Cluster:
    """Workers 1..N, the zygote that forks them, and the parent's ends of their rings."""

    def __init__(self, rt: Parent, workers: int, codec: Codec, opts: dict[str, Any]) -> None:
        check_shared_memory(workers + 1, opts["ring_bytes"])
        self.rt = rt
        self.n = workers
        self.codec = codec
        self.closed = False
        self.may_block = True  # a full ring makes the parent wait (workers buffer instead)
        self.closing = False  # set when close begins: a worker exiting then is no crash
        self.flush_delay: float = opts["flush_delay"]
        self.spin: float = opts["spin"]
        self.start_timeout: float = opts["start_timeout"]
        self.mesh = Mesh(workers + 1, opts["ring_bytes"])
        self.bell = self.mesh.bell(0)
        self.inbound = [(k, self.mesh.ring(k, 0)) for k in range(1, workers + 1)]
        self.out = {
            k: Outbox(self.mesh.ring(0, k), self.mesh.bell(k), codec, opts["limit"], self._room(k))
            for k in range(1, workers + 1)
        }
        self.rlock = threading.Lock()  # one reader of the parent's inbound rings at a time
        self._spin_lock = threading.Lock()
        self._spinners = 0
        self._hub_flag = self.mesh.status(0)  # word 0: the parent's doorbell flag
        self.admin = threading.RLock()  # spawns, stops and recoveries, one at a time
        self.waiting: dict[int, _Slot] = {}
        self.rids = count(1)
        self.drops: Counter[int] = Counter()
        self.armed = False
        self.ready: set[int] = set()
        self.pids: dict[int, int] = {}
        self.pidfds: dict[int, int] = {}
        self._hub_stop = False
        self._lifeline_r, self._lifeline_w = os.pipe()
        worker_opts = {
            "spin": self.spin,
            "limit": opts["limit"],
            "batch": opts["batch"],
            "timing": opts["timing"],
            "dead_letter_limit": opts["dead_letter_limit"],
            "lifeline": self._lifeline_r,
        }

        def body(index: int, restarted: bool) -> None:  # pragma: no cover - in a worker
            run_worker(index, self.mesh, codec, {**worker_opts, "restarted": restarted})

        set_resolver(self)
        try:
            self.zygote = Zygote(body, close=(self._lifeline_w,))
        except OSError as exc:
            self._release()
            raise WorkerError(f"cannot fork the worker processes: {exc}") from exc
        try:
            for k in range(1, workers + 1):
                self._start(k, restarted=False)
                self.send(k, ("init", [], []), ahead=True)
            self._await_ready(set(range(1, workers + 1)))
        except BaseException:
            self.shutdown()
            raise
        self._hub = threading.Thread(target=self._run_hub, name="perfkit-runtime-hub", daemon=True)
        self._hub.start()

    # ------------------------------------------------------------------ workers

    def _start(self, k: int, restarted: bool) -> None:
        try:
            pid = self.zygote.fork_worker(k, restarted)
        except OSError as exc:
            raise WorkerError(f"worker {k} could not start: fork failed ({exc})") from exc
        self.pids[k] = pid
        self.pidfds[k] = os.pidfd_open(pid)
        self.bell.watch(self.pidfds[k])

    def _await_ready(self, pending: set[int]) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not pending <= self.ready:
            with self.rlock:
                self._read()
            for k in pending - self.ready:
                if _exited(self.pidfds[k]):
                    raise WorkerError(
                        f"worker {k} (pid {self.pids[k]}) exited during start-up; its error is on "
                        "stderr (logger 'perfkit_runtime')"
                    )
            if time.monotonic() >= deadline:
                raise WorkerError(
                    f"workers {sorted(pending - self.ready)} did not start within "
                    f"{self.start_timeout}s; raise start_timeout= or lower workers="
                )
            self.bell.wait(self._has_inbound, 0.01)

    def alive(self, k: int) -> bool:
        fd = self.pidfds.get(k)
        return fd is not None and not _exited(fd)

    def _room(self, k: int) -> Callable[[], bool]:
        def wait() -> bool:
            if self._hub_stop or not self.alive(k):
                return False
            os.sched_yield()
            return True

        return wait

    # ------------------------------------------------------------------ Host protocol (refs)

    def arm(self, out: Outbox) -> None:
        if not self.armed:
            self.armed = True
            self.bell.ring()  # wake the hub if it sleeps, so the delayed flush happens

    def dropped(self, gid: int) -> None:
        self.drops[gid] += 1

    def resolve(self, gid: int) -> Any:
        return self.rt.router.lookup(gid)

    def wait_room(self, out: Outbox, deadline: float | None) -> bool:
        while True:
            with out.lock:
                if out.flush():
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.00005)

    def ask(self, ref: ProcessRef, msg: Any, timeout: float | None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        rid = next(self.rids)
        slot = _Slot(ref.worker)
        self.waiting[rid] = slot
        out = ref._out
        try:
            with out.lock:
                out.add_record(ASK, [ref.id, rid, msg])
                sent = out.flush()
            if not sent and not self.wait_room(out, deadline):
                raise MailboxFull(f"no room toward agent {ref.name!r} within {timeout}s")
            self._await(slot, deadline)
        finally:
            self.waiting.pop(rid, None)
        if not slot.ready:
            raise AskTimeout(
                f"agent {ref.name!r} did not reply within {timeout}s; raise the timeout or check "
                "that its handler returns"
            )
        if slot.error is not None:
            raise slot.error
        return slot.value

    def _await(self, slot: _Slot, deadline: float | None) -> None:
        """Spin (reading the rings ourselves, yielding the CPU) for ``spin`` s, then sleep."""
        pc = time.perf_counter
        end = pc() + self.spin
        yield_ = os.sched_yield
        has_inbound = self._has_inbound
        self._quiet_hub(True)
        try:
            while not slot.ready and pc() < end:
                if has_inbound() and self.rlock.acquire(False):
                    try:
                        self._read()
                    finally:
                        self.rlock.release()
                if not slot.ready:
                    yield_()
        finally:
            self._quiet_hub(False)
        while not slot.ready:
            wait = 0.002 if deadline is None else min(0.002, deadline - time.monotonic())
            if wait <= 0:
                return
            if slot.lock.acquire(timeout=wait):
                return
            if self.rlock.acquire(False):  # the hub is busy (a restart): read ourselves
                try:
                    self._read()
                finally:
                    self.rlock.release()

    def _quiet_hub(self, spinning: bool) -> None:
        """While a thread spins on the rings the hub's doorbell flag stays down, so replies do not
        wake the hub (whose wake-up would then fight the spinner for the GIL). The last spinner
        puts the flag back, fences, and rings the bell itself if data came meanwhile: the hub's
        own protocol, run on its behalf."""
        with self._spin_lock:
            self._spinners += 1 if spinning else -1
            if spinning:
                self._hub_flag[0] = 0
                return
            if self._spinners:
                return
            self._hub_flag[0] = 1
        fence()
        if self._has_inbound():
            os.eventfd_write(self.bell.fd, 1)

    def request(self, k: int, op: str, *args: Any, timeout: float | None = None) -> Any:
        """A control request to worker ``k`` that it acknowledges; returns its answer."""
        rid = next(self.rids)
        slot = _Slot(k)
        self.waiting[rid] = slot
        try:
            self.send(k, (op, rid, *args))
            deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
            self._await(slot, deadline)
        finally:
            self.waiting.pop(rid, None)
        if not slot.ready:
            raise WorkerError(f"worker {k} did not answer {op!r} in time")
        if slot.error is not None:
            raise slot.error
        return slot.value

    def send(self, k: int, obj: Any, ahead: bool = False) -> None:
        out = self.out[k]
        with out.lock:
            out.control(obj, ahead)

    def broadcast(self, obj: Any) -> None:
        for k in self.out:
            if self.alive(k):
                self.send(k, obj)

    def agent_statistics(self, ref: ProcessRef) -> AgentStats:
        stats = self.request(ref.worker, "stats", ref.id)
        if stats is None:
            raise AgentStopped(f"agent {ref.name!r} has stopped")
        return stats  # type: ignore[no-any-return]

    def dead_letter(self, address: str, msg: Any, reason: str) -> None:
        self.rt.router.dead_letters.add(address, msg, reason)

    def stop(self, ref: ProcessRef) -> None:
        self.rt.stop(ref)

    def wait_stopped(self, ref: ProcessRef, timeout: float | None) -> bool:
        return bool(self.rt.wait_stopped(ref, timeout))

    # ------------------------------------------------------------------ reading

    def _has_inbound(self) -> bool:
        return any(ring.pending() for _, ring in self.inbound)

    def _read(self) -> int:
        """Handle every frame waiting for the parent (hold ``rlock``)."""
        frames = 0
        for src, ring in self.inbound:
            while (got := ring.get()) is not None:
                kind, view = got
                try:
                    value = decode_frame(kind, view, self.codec)
                finally:
                    ring.consume(view)
                frames += 1
                if kind == CONTROL:
                    self._control(src, value)
                else:
                    self._replies(value)
        return frames

    def _replies(self, records: list[Any]) -> None:
        waiting = self.waiting
        for i in range(0, len(records), 2):
            if records[i] == REPLY:
                rid, value = records[i + 1]
                slot = waiting.get(rid)
                if slot is not None:
                    slot.done(value)

    def _control(self, src: int, obj: Any) -> None:
        op = obj[0]
        if op in ("ack", "fail"):
            slot = self.waiting.get(obj[1])
            if slot is not None:
                (slot.done if op == "ack" else slot.fail)(obj[2])
        elif op == "ready":
            self.ready.add(obj[1])
        elif op == "dead":
            add = self.rt.router.dead_letters.add
            for address, msg, reason in obj[1]:
                add(address, msg, reason)
        elif op == "stopped":
            for gid, counters in obj[1]:
                self.rt.agent_stopped(gid, counters)

    # ------------------------------------------------------------------ the hub thread

    def _run_hub(self) -> None:
        while not self._hub_stop:
            try:
                with self.rlock:
                    frames = self._read()
                self._flush_stale()
                for k, fd in list(self.pidfds.items()):
                    if not self.closing and _exited(fd):
                        self.recover(k)
            except Exception as exc:  # a bug in the runtime itself: keep the hub alive
                logger.critical("processes-mode hub failed: %r", exc, exc_info=exc)
                frames = 0
            if not frames:
                self.bell.wait(self._has_inbound, self.flush_delay if self.armed else None)

    def _flush_stale(self) -> None:
        # Every wake-up looks at every outbox (N ints), armed or not: a message is never
        # stranded by a race between a tell arming the hub and the hub disarming.
        self.armed = False
        now = time.perf_counter()
        for out in self.out.values():
            if out.count and now - out.since >= self.flush_delay:
                with out.lock:
                    out.flush()
            if out.count:
                self.armed = True

    def flush_all(self, deadline: float | None) -> bool:
        for out in self.out.values():
            if out.count and not self.wait_room(out, deadline):
                return False
        return True

    # ------------------------------------------------------------------ idle and closing

    def _snapshot(self) -> int | None:
        """Sum of every ring's head when every ring is empty and no worker holds messages."""
        total = 0
        for ring in self.mesh.rings():
            head, tail = ring.positions()
            if head != tail:
                return None
            total += head
        for k in range(1, self.n + 1):
            if self.alive(k) and self.mesh_status(k, BUSY):
                return None
        if any(out.count for out in self.out.values()):
            return None
        return total

    def mesh_status(self, k: int, word: int) -> int:
        status = self.mesh.status(k)
        try:
            return int(status[word])
        finally:
            status.release()

    def wait_idle(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.flush_all(deadline):
            return False
        delay = 0.00005
        while True:
            first = self._snapshot()
            if first is not None and self._snapshot() == first:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.005)

    def close_workers(self, timeout: float) -> tuple[int, dict[str, int]]:
        self.closing = True
        stopped = 0
        leftover: dict[str, int] = {}
        for k in range(1, self.n + 1):
            if not self.alive(k):
                continue
            try:
                n, left = self.request(k, "close", timeout, timeout=timeout + 1.0)
            except PerfkitRuntimeError as exc:
                logger.warning("worker %d did not close cleanly: %s", k, exc)
                continue
            stopped += n
            leftover.update(left)
        return stopped, leftover

    def shutdown(self) -> None:
        """Stop the hub, end every process we started, unmap the segment (idempotent)."""
        self.closed = self.closing = True
        self._hub_stop = True
        hub = getattr(self, "_hub", None)
        if hub is not None and hub is not threading.current_thread():
            os.eventfd_write(self.bell.fd, 1)
            hub.join(2.0)
        deadline = time.monotonic() + 1.0
        for fd in self.pidfds.values():
            while not _exited(fd) and time.monotonic() < deadline:
                time.sleep(0.002)
            if not _exited(fd):
                try:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        zygote = getattr(self, "zygote", None)
        if zygote is not None:
            zygote.close()
        self._release()

    def _release(self) -> None:
        for fd in (*self.pidfds.values(), self._lifeline_r, self._lifeline_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.pidfds.clear()
        self._hub_flag.release()
        self.mesh.close()

    # ------------------------------------------------------------------ a worker died

    def recover(self, k: int) -> None:
        """Worker ``k`` died: count what it held as dead letters, restart it, re-create agents."""
        with self.admin:
            fd = self.pidfds.pop(k)
            os.close(fd)
            logger.error("worker %d (pid %d) died; restarting it", k, self.pids[k])
            inflight = self.mesh_status(k, INFLIGHT)
            lost = AgentStopped(f"the worker process {k} hosting the agent died before it replied")
            for slot in list(self.waiting.values()):
                if slot.worker == k:
                    slot.fail(lost)
            dead = self.rt.router.dead_letters
            for _ in range(inflight):
                dead.add(f"worker-{k}", None, "worker crashed")
            out = self.out[k]
            # Our own ring to k stays locked until "init" is in it: a tell or ask made meanwhile
            # waits, then lands after the agents are re-created instead of before.
            with out.lock:
                for src in range(self.n + 1):
                    if src != k:
                        self._drain_dead(src, k)
                specs, routes = self.rt.crashed(k)
                self.ready.discard(k)
                self._start(k, restarted=True)
                out.control(("init", specs, routes), ahead=True)
            self._await_ready({k})

    def _drain_dead(self, src: int, k: int) -> None:
        """Read what ``src`` left in the ring to the dead worker ``k``: every message a dead
        letter, every ask failed, every spawn request failed."""
        view: Ring = self.mesh.view(src, k)
        try:
            while (got := view.get()) is not None:
                kind, data = got
                try:
                    value = decode_frame(kind, data, self.codec)
                finally:
                    view.consume(data)
                if kind == CONTROL:
                    self._lost_control(src, k, value)
                else:
                    self._lost_records(src, value)
        except RingFull:
            pass
        finally:
            view.release()

    def _lost_control(self, src: int, k: int, value: Any) -> None:
        if value[0] == "spawn" and src == 0:
            slot = self.waiting.get(value[1])
            if slot is not None:
                slot.fail(WorkerError(f"worker {k} died before the agent started"))

    def _lost_records(self, src: int, records: list[Any]) -> None:
        dead = self.rt.router.dead_letters
        names = self.rt.name_of
        for i in range(0, len(records), 2):
            tag, payload = records[i], records[i + 1]
            if tag >= 0:
                for msg in payload:
                    dead.add(names(tag), msg, "worker crashed")
            elif tag == ASK:
                gid, rid, msg = payload
                dead.add(names(gid), msg, "worker crashed")
                lost = AgentStopped(f"agent {names(gid)!r} was lost with its worker")
                if src != 0:
                    self.send(src, ("fail", rid, lost))
                elif (slot := self.waiting.get(rid)) is not None:
                    slot.fail(lost)


_exited = readable  # a pidfd becomes readable when its process exits
