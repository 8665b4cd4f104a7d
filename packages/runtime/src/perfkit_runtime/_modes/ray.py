"""Ray mode: agents on Ray host actors, on one machine or a cluster (``Runtime(mode="ray")``).

``address=None`` starts a local Ray (``num_cpus`` from the machine, no dashboard) and shuts it
down on close; ``address="auto"`` or ``"ray://host:10001"`` joins a running cluster. ``hosts``
host actors (default: the cluster's CPU count), each holding the agents placed on it by
``placement=`` or a consistent hash of the name.

Supervision on Ray's actor restarts: host actors are created with ``max_restarts`` (default
unbounded). When one dies, Ray starts it again; the hub notices (a failed call, or a new pid),
counts the messages of the calls that failed as dead letters, and re-creates the host's agents
under their policies: ``stop`` agents stay stopped, ``resume``/``restart`` agents are built again
from their spawn arguments and counted as restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from perfkit_runtime._codec import Codec
from perfkit_runtime._exceptions import (
    AgentStopped,
    AskTimeout,
    EncodeError,
    ModeError,
    SpawnError,
)
from perfkit_runtime._hashring import HashRing
from perfkit_runtime._modes import available_cpus
from perfkit_runtime._modes.delivery import AgentTotals, CloseReport
from perfkit_runtime._modes.remote_delivery import RemoteDelivery
from perfkit_runtime._ray._cloudpickle import CloudpickleCodec, cloudpickle_encode
from perfkit_runtime._ray._host import ASK, Host
from perfkit_runtime._ray._ref import Box, RayRef, set_resolver
from perfkit_runtime._statistics import AgentStats

if TYPE_CHECKING:
    from perfkit_runtime._modes.delivery import ModeRuntime

__all__ = ["RayDelivery"]

logger = logging.getLogger("perfkit_runtime")

# A batch waits at most this long for more messages before the hub sends it: an actor call costs
# ~0.4 ms of the driver's time here, so a few ms keep calls few without making a lone tell slow.
DEFAULT_FLUSH_DELAY = 0.002
# Messages per actor call: measured here, 100 k tells to one agent ran at 144 k msg/s in calls of
# 512 and 166 k msg/s in calls of 4096 (an actor call costs ~0.4 ms of the driver either way).
RAY_LIMIT = 4096
# How often the hub asks each host for its pid, to notice a host Ray restarted while idle.
_LIVENESS_PERIOD = 0.5


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ModeError(
            "mode='ray' needs Ray, which is not installed: pip install 'perfkit-runtime[ray]'"
        ) from exc
    return ray


class RayDelivery(RemoteDelivery):
    """The delivery of ``Runtime(mode="ray")``: host actors and the driver's batches to them."""

    mode: ClassVar[str] = "ray"
    plain_hooks: ClassVar[str] = "ray mode runs plain 'def' hooks"
    place_word: ClassVar[str] = "host"

    def __init__(
        self,
        runtime: ModeRuntime,
        *,
        address: str | None = None,
        hosts: int | None = None,
        flush_delay: float = DEFAULT_FLUSH_DELAY,
        max_restarts: int = -1,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        if runtime.history is not None:
            raise ModeError("message history records in one process; use mode='threads'")
        ray = _import_ray()
        self._ray = ray
        self.runtime = runtime
        self.router = runtime.router
        self.closed = False
        self.report: CloseReport | None = None
        self.codec: Codec = CloudpickleCodec()
        self._owns_ray = False
        if not ray.is_initialized():
            options = {"include_dashboard": False, "log_to_driver": False, **(init_options or {})}
            if address is None:
                options.setdefault("num_cpus", available_cpus())
            else:
                options["address"] = address
            ray.init(**options)
            self._owns_ray = address is None
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.hosts = max(1, cpus if hosts is None else hosts)
        self.flush_delay = flush_delay
        actor = ray.remote(
            num_cpus=0, max_restarts=max_restarts, max_task_retries=0, scheduling_strategy="SPREAD"
        )(Host)
        self._handles = [actor.remote(k) for k in range(self.hosts)]
        self._boxes = [Box(k, RAY_LIMIT) for k in range(self.hosts)]
        self._placement: HashRing[int] = HashRing()
        for k in range(self.hosts):
            self._placement.add(f"host-{k}", k)
        self._specs: dict[int, tuple[Any, ...]] = {}
        self._pids = ray.get([h.setup.remote(self._handles, [], []) for h in self._handles])
        self._inflight: list[tuple[Any, int, list[Any]]] = []
        self._inflight_lock = threading.Lock()
        self._reap_lock = threading.Lock()  # one reaper at a time: the list is away meanwhile
        self._admin = threading.RLock()
        self._calls = 0  # actor calls the driver has made (monotonic: idle detection)
        self._retired = [0, 0, 0]
        self._armed = threading.Event()
        self._hub_stop = False
        set_resolver(self)
        self._hub = threading.Thread(target=self._run_hub, name="perfkit-runtime-ray", daemon=True)
        self._hub.start()

    # ------------------------------------------------------------------ RayHost protocol

    def submit(self, box: Box) -> None:
        with box.sending:
            with box.lock:
                records, n = box.take()
            if n:
                self._deliver(box.host, records)

    def _deliver(self, host: int, records: list[Any]) -> None:
        self._calls += 1
        ref = self._handles[host].deliver.remote(records)
        with self._inflight_lock:
            self._inflight.append((ref, host, records))

    def arm(self, box: Box) -> None:
        self._armed.set()

    def ask(self, ref: RayRef, msg: Any, timeout: float | None) -> Any:
        ray = self._ray
        box = self._boxes[ref.host]
        with box.sending:
            with box.lock:
                records, _n = box.take()
            # Not tracked among the calls in flight: the asker waits for this one itself.
            self._calls += 1
            call = self._handles[ref.host].call.remote([*records, ASK, [ref.id, msg]])
        try:
            status, value = ray.get(call, timeout=timeout)
        except ray.exceptions.GetTimeoutError:
            raise AskTimeout(
                f"agent {ref.name!r} did not reply within {timeout}s; raise the timeout or check "
                "that its handler returns"
            ) from None
        except ray.exceptions.RayActorError as exc:
            raise AgentStopped(
                f"the host actor of agent {ref.name!r} died before it replied ({exc})"
            ) from None
        if status == "err":
            raise value
        return value

    def dead_letter(self, address: str, msg: Any, reason: str) -> None:
        self.router.dead_letters.add(address, msg, reason)

    def agent_statistics(self, ref: RayRef) -> AgentStats:
        stats = self._ray.get(self._handles[ref.host].control.remote("stats", ref.id))
        if stats is None:
            raise AgentStopped(f"agent {ref.name!r} has stopped")
        return stats  # type: ignore[no-any-return]

    def wait_stopped(self, ref: Any, timeout: float | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        while ref.state != "stopped":
            self._collect(self._ray.get(self._handles[ref.host].control.remote("report")))
            if ref.state == "stopped":
                break
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def resolve(self, gid: int) -> Any:
        return self.router.lookup(gid)

    # ------------------------------------------------------------------ spawning

    def _spawn_at(self, host: int, spec: tuple[Any, ...]) -> RayRef:
        ident, name, cls = spec[:3]
        try:
            cloudpickle_encode(spec)
        except EncodeError as exc:
            raise SpawnError(f"cannot send {cls.__name__} and its arguments: {exc}") from exc
        with self._admin:
            self.submit(self._boxes[host])
            status, err = self._ray.get(self._handles[host].control.remote("spawn", spec))
            if status == "err":
                if isinstance(err, TypeError):
                    raise SpawnError(
                        f"cannot construct {cls.__name__}: {err}; pass its arguments to spawn()"
                    ) from err
                raise err
            ref = RayRef(self, ident, name, cls.__name__, self._boxes[host])
            self._specs[ident] = spec
            self._broadcast("register", [(ident, name, cls.__name__, host)])
        return ref

    def _broadcast(self, op: str, *args: Any) -> None:
        for k, handle in enumerate(self._handles):
            self.submit(self._boxes[k])
            handle.control.remote(op, *args)

    def changed(self, change: tuple[Any, ...]) -> None:
        self._broadcast(*change)

    def _send_stop(self, ref: Any) -> None:
        self.submit(self._boxes[ref.host])
        self._handles[ref.host].control.remote("stop", ref.id)

    def _collect(self, report: tuple[int, int, list[Any], list[Any]]) -> tuple[int, int]:
        calls, running, dead, stopped = report
        for address, msg, reason in dead:
            self.router.dead_letters.add(address, msg, reason)
        for gid, counters in stopped:
            self.agent_stopped(gid, counters)
        return calls, running

    # ------------------------------------------------------------------ the hub: delays, faults

    def _run_hub(self) -> None:
        next_check = time.monotonic() + _LIVENESS_PERIOD
        while True:
            self._armed.wait(self.flush_delay if self._armed.is_set() else 0.05)
            if self._hub_stop:
                return
            try:
                self._flush_stale()
                self._reap()
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + _LIVENESS_PERIOD
                    self._check_hosts()
            except Exception as exc:  # keep the hub alive; a bug in the runtime itself
                logger.critical("ray-mode hub failed: %r", exc, exc_info=exc)

    def _flush_stale(self) -> None:
        self._armed.clear()
        now = time.perf_counter()
        for box in self._boxes:
            if box.count and now - box.since >= self.flush_delay:
                self.submit(box)
            if box.count:
                self._armed.set()

    def _reap(self) -> None:
        """Drop finished calls; a call that failed because its host died: dead letters."""
        with self._reap_lock:
            self._reap_locked()

    def _reap_locked(self) -> None:
        ray = self._ray
        with self._inflight_lock:
            calls = self._inflight
            self._inflight = []
        if not calls:
            return
        refs = [c[0] for c in calls]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=False)
        finished = set(done)
        keep = []
        for call in calls:
            if call[0] not in finished:
                keep.append(call)
                continue
            try:
                ray.get(call[0], timeout=0)
            except ray.exceptions.RayActorError:
                self._lost(call[1], call[2])
            except Exception:  # an ask's own error reached its asker
                pass
        with self._inflight_lock:
            self._inflight[:0] = keep

    def _lost(self, host: int, records: list[Any]) -> None:
        dead = self.router.dead_letters
        for i in range(0, len(records), 2):
            tag, payload = records[i], records[i + 1]
            msgs = [payload[1]] if tag == ASK else payload
            gid = payload[0] if tag == ASK else tag
            ref = self._ref(gid)
            for msg in msgs:
                dead.add(ref.name if ref is not None else gid, msg, "worker crashed")

    def _check_hosts(self) -> None:
        ray = self._ray
        calls = [h.pid.remote() for h in self._handles]
        for k, call in enumerate(calls):
            try:
                pid = ray.get(call, timeout=30)
            except ray.exceptions.RayActorError:
                continue  # being restarted: checked again next time
            if pid != self._pids[k]:
                self._recover(k)

    def _recover(self, k: int) -> None:
        """Ray restarted host ``k``: re-create its agents under their policies."""
        with self._admin:
            logger.error("ray host actor %d was restarted; re-creating its agents", k)
            self._reap()
            specs = self._respawn_specs(k)
            routes = self._routes()
            self._pids[k] = self._ray.get(
                self._handles[k].setup.remote(self._handles, specs, routes)
            )

    def _entry(self, ref: Any) -> tuple[Any, ...]:
        return (ref.id, ref._name, ref._cls_name, ref.host)

    # ------------------------------------------------------------------ waiting and closing

    def _flush_all(self) -> None:
        for box in self._boxes:
            if box.count:
                self.submit(box)

    def wait_idle(self, timeout: float | None) -> bool:
        """Until no actor call is running anywhere (every message handled); False on timeout."""
        ray = self._ray
        deadline = None if timeout is None else time.monotonic() + timeout
        self._flush_all()
        last = None
        while True:
            self._reap()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                reports = ray.get([h.control.remote("report") for h in self._handles], timeout=left)
            except ray.exceptions.GetTimeoutError:
                return False
            with self._reap_lock:
                calls, running = self._calls, len(self._inflight)
            for report in reports:
                c, r = self._collect(report)
                calls += c
                running += r
            # Idle: no call anywhere still running, and no call made since the last round.
            if not running and calls == last:
                return True
            last = calls if not running else None
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.001)

    async def wait_idle_async(self, timeout: float | None) -> bool:
        raise ModeError("ray mode waits with rt.wait_idle(timeout)")

    async def aclose(self, timeout: float) -> CloseReport:
        return self.close(timeout)

    def close(self, timeout: float) -> CloseReport:
        if self.report is not None:
            return self.report
        refs = self.router.agents()
        idle = self.wait_idle(timeout)
        self.closed = True
        self._hub_stop = True
        self._armed.set()
        self._hub.join(2.0)
        leftover: dict[str, int] = {}
        ray = self._ray
        try:
            results = ray.get(
                [h.control.remote("close", timeout) for h in self._handles], timeout=timeout + 5
            )
            for _, left in results:
                leftover.update(left)
        except Exception as exc:
            logger.warning("ray hosts did not close cleanly: %r", exc)
        for handle in self._handles:
            ray.kill(handle)
        if self._owns_ray:
            ray.shutdown()
        for ref in refs:
            ref._state = "stopped"
            self.router.forget(ref)
        self.report = CloseReport(stopped=len(refs), leftover=leftover, timed_out=not idle)
        return self.report

    # ------------------------------------------------------------------ statistics

    def statistics(self) -> AgentTotals:
        out, errors, dropped = self._retired
        depth = 0
        ray = self._ray
        for _agents, handled, failed, lost, queued in ray.get(
            [h.control.remote("stats", None) for h in self._handles]
        ):
            out += handled
            errors += failed
            dropped += lost
            depth += queued
        for report in ray.get([h.control.remote("report") for h in self._handles]):
            self._collect(report)
        return AgentTotals(len(self.router.agents()), out, errors, dropped, depth)
