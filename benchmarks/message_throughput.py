"""message_throughput: how fast messages move — per mode, per codec, per batch size, per router,
across processes and on Ray.

Drained throughput: the producer tells ``inner_loops`` messages to one agent and the clock stops
when the agent has handled all of them, so the value is the full cost per message. Reference
implementations (a bare asyncio.Queue pair and pykka) run the same workload in the same suite so
the report can show ratios measured side by side.
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing as mp
import os
import queue
from collections import deque
from collections.abc import Callable
from typing import Any

from _common import CPU_CHANNELS, Count, Idle, run_async

from perfkit_bench import benchmark, timer
from perfkit_runtime import Agent, Runtime, get_codec

# 10,000 messages per loop: long enough that per-loop overhead (wait_idle, loop start) is below
# 1 % of the measured time even in sync mode, short enough for --fast smoke runs.
BATCH = 10_000


# ------------------------------------------------------------------ tell, drained, per mode


@benchmark(
    "message_throughput.tell.sync",
    target="routing",
    inner_loops=BATCH,
    channels=CPU_CHANNELS,
    clock="thread",
)
def tell_sync(loops: int) -> float:
    """tell() to one agent in sync mode (each message handled before tell returns)."""
    with Runtime("sync") as rt:
        ref = rt.spawn(Count)
        tell = ref.tell
        t0 = timer()
        for _ in range(loops):
            for i in range(BATCH):
                tell(i)
        elapsed = timer() - t0
        assert ref._agent.n == loops * BATCH
    return elapsed


@benchmark("message_throughput.tell.threads", target="routing", inner_loops=BATCH, clock="process")
def tell_threads(loops: int) -> float:
    """tell() to one agent in threads mode, until a worker has handled every message."""
    with Runtime("threads") as rt:
        ref = rt.spawn(Count)
        tell = ref.tell
        t0 = timer()
        for _ in range(loops):
            for i in range(BATCH):
                tell(i)
            rt.wait_idle()
        elapsed = timer() - t0
        assert ref._agent.n == loops * BATCH
    return elapsed


@benchmark(
    "message_throughput.tell.asyncio",
    target="routing",
    inner_loops=BATCH,
    reference="message_throughput.reference.asyncio_queue",
    clock="thread",
)
def tell_asyncio(loops: int) -> float:
    """tell() to one agent in asyncio mode, until it has handled every message."""

    async def main() -> float:
        async with Runtime("asyncio") as rt:
            ref = rt.spawn(Count)
            tell = ref.tell
            t0 = timer()
            for _ in range(loops):
                for i in range(BATCH):
                    tell(i)
                await rt.wait_idle_async()
            elapsed = timer() - t0
            assert ref._agent.n == loops * BATCH
            return elapsed

    return run_async(main())


@benchmark(
    "message_throughput.reference.asyncio_queue",
    target="routing",
    inner_loops=BATCH,
    clock="thread",
)
def asyncio_queue_pair(loops: int) -> float:
    """Reference: a bare asyncio.Queue with one producer and one consumer task, same count."""

    async def main() -> float:
        q: asyncio.Queue[int] = asyncio.Queue()
        handled = 0

        async def consumer(n: int) -> None:
            nonlocal handled
            get = q.get
            for _ in range(n):
                await get()
                handled += 1

        t0 = timer()
        for _ in range(loops):
            task = asyncio.create_task(consumer(BATCH))
            put = q.put_nowait
            for i in range(BATCH):
                put(i)
            await task
        elapsed = timer() - t0
        assert handled == loops * BATCH
        return elapsed

    return run_async(main())


# ------------------------------------------------------------------ ask round trips


@benchmark(
    "message_throughput.ask.asyncio",
    target="routing",
    reference="message_throughput.reference.asyncio_pingpong",
    clock="thread",
)
def ask_asyncio(loops: int) -> float:
    """await ref.ask(): one request/reply round trip in asyncio mode."""

    async def main() -> float:
        async with Runtime("asyncio") as rt:
            ask = rt.spawn(Idle).ask
            t0 = timer()
            for i in range(loops):
                await ask(i)
            return timer() - t0

    return run_async(main())


@benchmark("message_throughput.reference.asyncio_pingpong", target="routing", clock="thread")
def asyncio_pingpong(loops: int) -> float:
    """Reference: a ping-pong over two bare asyncio.Queues and a server task."""

    async def main() -> float:
        requests: asyncio.Queue[int | None] = asyncio.Queue()
        replies: asyncio.Queue[int] = asyncio.Queue()

        async def server() -> None:
            while (msg := await requests.get()) is not None:
                replies.put_nowait(msg)

        task = asyncio.create_task(server())
        t0 = timer()
        for i in range(loops):
            requests.put_nowait(i)
            await replies.get()
        elapsed = timer() - t0
        requests.put_nowait(None)
        await task
        return elapsed

    return run_async(main())


@benchmark("message_throughput.ask.sync", target="routing", channels=CPU_CHANNELS, clock="thread")
def ask_sync(loops: int) -> float:
    """ref.ask() in sync mode."""
    with Runtime("sync") as rt:
        ask = rt.spawn(Idle).ask
        t0 = timer()
        for i in range(loops):
            ask(i)
        return timer() - t0


@benchmark(
    "message_throughput.ask.threads",
    target="routing",
    reference="message_throughput.reference.pykka_ask",
    clock="wall",
)
def ask_threads(loops: int) -> float:
    """ref.ask() in threads mode: a round trip through a worker thread."""
    with Runtime("threads") as rt:
        ask = rt.spawn(Idle).ask
        t0 = timer()
        for i in range(loops):
            ask(i, timeout=10)
        return timer() - t0


# ------------------------------------------------------------------ reference: pykka


def _pykka_counter() -> Any:
    import pykka

    class Counter(pykka.ThreadingActor):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.n = 0

        def on_receive(self, message: Any) -> Any:
            if message == "count?":
                return self.n
            self.n += 1
            return None

    return Counter.start()


@benchmark(
    "message_throughput.reference.pykka_tell", target="routing", inner_loops=BATCH, clock="process"
)
def pykka_tell(loops: int) -> float:
    """Reference: pykka 4.5 ThreadingActor.tell, drained (an ask after the batch waits for it)."""
    ref = _pykka_counter()
    try:
        t0 = timer()
        for _ in range(loops):
            for i in range(BATCH):
                ref.tell(i)
            ref.ask("count?")
        elapsed = timer() - t0
    finally:
        ref.stop()
    return elapsed


@benchmark(
    "message_throughput.tell.threads_vs_pykka",
    target="routing",
    inner_loops=BATCH,
    reference="message_throughput.reference.pykka_tell",
    clock="process",
)
def tell_threads_vs_pykka(loops: int) -> float:
    """The pykka workload on the runtime: threads mode, tell a batch, then one ask waits for it."""
    with Runtime("threads") as rt:
        ref = rt.spawn(_CountAsk)
        tell = ref.tell
        t0 = timer()
        for _ in range(loops):
            for i in range(BATCH):
                tell(i)
            ref.ask("count?", timeout=30)
        return timer() - t0


class _CountAsk(Agent):
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def handle(self, msg: Any) -> Any:
        if msg == "count?":
            return self.n
        self.n += 1
        return None


@benchmark("message_throughput.reference.pykka_ask", target="routing", clock="wall")
def pykka_ask(loops: int) -> float:
    """Reference: pykka 4.5 ask round trip."""
    ref = _pykka_counter()
    try:
        t0 = timer()
        for _ in range(loops):
            ref.ask("count?")
        return timer() - t0
    finally:
        ref.stop()


# ------------------------------------------------------------------ serialization

MESSAGE = {
    "id": 12345,
    "kind": "order",
    "customer": "c-0042",
    "qty": 3,
    "tags": ["a", "b"],
    "price": 19.99,
}
CODECS = ["json", "orjson", "pickle", "msgpack"]


@benchmark(
    "message_throughput.serialize.{codec}.encode",
    target="serialization",
    params_grid={"codec": CODECS},
    channels=CPU_CHANNELS,
    clock="thread",
)
def encode(loops: int, *, codec: str) -> float:
    """Encode one small order message with the codec."""
    enc = get_codec(codec).encode
    msg = MESSAGE
    t0 = timer()
    for _ in range(loops):
        enc(msg)
    return timer() - t0


@benchmark(
    "message_throughput.serialize.{codec}.decode",
    target="serialization",
    params_grid={"codec": CODECS},
    channels=CPU_CHANNELS,
    clock="thread",
)
def decode(loops: int, *, codec: str) -> float:
    """Decode the same message."""
    c = get_codec(codec)
    data = c.encode(MESSAGE)
    dec = c.decode
    t0 = timer()
    for _ in range(loops):
        dec(data)
    return timer() - t0


@benchmark(
    "message_throughput.serialize.{codec}.size",
    target="serialization",
    kind="bytes",
    params_grid={"codec": CODECS},
)
def encoded_size(*, codec: str) -> float:
    """Encoded size of the message, in bytes."""
    return float(len(get_codec(codec).encode(MESSAGE)))


# ------------------------------------------------------------------ batching


@benchmark(
    "message_throughput.batch.b{size}",
    target="routing",
    inner_loops=BATCH,
    params_grid={"size": [1, 10, 100, 1000]},
    clock="process",
)
def batching(loops: int, *, size: int) -> float:
    """tell_batch() in batches of ``size`` to a threads-mode agent, drained (value: per message)."""
    items = list(range(size))
    per_loop = BATCH // size
    with Runtime("threads") as rt:
        ref = rt.spawn(Count)
        t0 = timer()
        for _ in range(loops):
            for _ in range(per_loop):
                ref.tell_batch(items)
            rt.wait_idle()
        return timer() - t0


# ------------------------------------------------------------------ routing algorithms

ROUTES = ["direct", "topic", "round_robin", "consistent_hash", "broadcast"]


@benchmark(
    "message_throughput.route.{algorithm}",
    target="routing",
    inner_loops=BATCH,
    params_grid={"algorithm": ROUTES},
    channels=CPU_CHANNELS,
    clock="thread",
)
def routing(loops: int, *, algorithm: str) -> float:
    """Route one message by the algorithm to a group of 8 agents (sync mode; broadcast: to all 8)."""
    with Runtime("sync") as rt:
        _routing_targets(rt, algorithm)
        keys = [f"user-{i}" for i in range(BATCH)]
        tell = rt.tell
        publish = rt.publish
        t0 = timer()
        for _ in range(loops):
            if algorithm == "direct":
                for i in range(BATCH):
                    tell("target", i)
            elif algorithm == "topic":
                for i in range(BATCH):
                    publish("t", i)
            elif algorithm == "consistent_hash":
                for key in keys:
                    tell("g", key, key)
            else:
                for i in range(BATCH):
                    tell("g", i)
        return timer() - t0


def _routing_targets(rt: Runtime, algorithm: str) -> None:
    """``routing``'s set-up: 8 members (a group for the group algorithms, subscribers of topic
    ``t``) and the direct target."""
    members = rt.spawn_many(Count, 8)
    rt.spawn(Count, name="target")
    if algorithm in ("round_robin", "consistent_hash", "broadcast"):
        rt.group("g", members, algorithm)
    for m in members:
        rt.subscribe("t", m)


# ------------------------------------------------------------------ queue implementations

QUEUES = ["deque", "simplequeue", "queue", "asyncio_queue", "mailbox"]


# Two declarations of one grid: the event-loop variant gets the time channel only (CPU_CHANNELS).
@benchmark(
    "message_throughput.queue.{impl}",
    target="routing",
    inner_loops=BATCH,
    params_grid={"impl": ["asyncio_queue"]},
    clock="thread",
)
@benchmark(
    "message_throughput.queue.{impl}",
    target="routing",
    inner_loops=BATCH,
    params_grid={"impl": [q for q in QUEUES if q != "asyncio_queue"]},
    channels=CPU_CHANNELS,
    clock="thread",
)
def queues(loops: int, *, impl: str) -> float:
    """Put then get BATCH items through one queue implementation, in one thread (raw overhead)."""
    if impl == "asyncio_queue":
        return _asyncio_queue(loops)
    if impl == "mailbox":
        return _mailbox(loops)
    put, get = _put_get(impl)
    t0 = timer()
    for _ in range(loops):
        for i in range(BATCH):
            put(i)
        for _ in range(BATCH):
            get()
    return timer() - t0


def _asyncio_queue(loops: int) -> float:
    async def main() -> float:
        q: asyncio.Queue[int] = asyncio.Queue()
        t0 = timer()
        for _ in range(loops):
            for i in range(BATCH):
                q.put_nowait(i)
            for _ in range(BATCH):
                q.get_nowait()
        return timer() - t0

    return run_async(main())


def _mailbox(loops: int) -> float:
    # The runtime's mailbox as the runtime uses it: tell (enqueue + schedule) then the
    # worker-side drain, here run by the sync dispatcher from inside one handler.
    with Runtime("sync") as rt:
        sink = rt.spawn(Count)

        class Producer(Agent):
            def handle(self, n: int) -> None:
                tell = sink.tell
                for i in range(n):
                    tell(i)

        producer = rt.spawn(Producer)
        t0 = timer()
        for _ in range(loops):
            producer.tell(BATCH)
        return timer() - t0


def _put_get(impl: str) -> tuple[Callable[[int], object], Callable[[], object]]:
    """The bound put and get of a thread queue (``deque``, ``simplequeue``, ``queue``)."""
    if impl == "deque":
        d: deque[int] = deque()
        return d.append, d.popleft
    if impl == "simplequeue":
        sq: queue.SimpleQueue[int] = queue.SimpleQueue()
        return sq.put, sq.get
    qq: queue.Queue[int] = queue.Queue()
    return qq.put, qq.get


# ------------------------------------------------------------------ across processes
#
# processes mode against the IPC a Python program would otherwise reach for, one producer process
# and one consumer process, small tuples, drained: multiprocessing.Queue, multiprocessing.Pipe and
# faster-fifo, each message sent on its own as the runtime's tell is. Measured on the project's VM
# before the mode existed: Queue 192 k msg/s, Pipe 199 k/s, faster-fifo 208 k/s (docs/benchmarks.md).

IPC_BATCH = 20_000  # messages per loop: a whole ring's worth many times over, ~20 ms at 1 M/s


class _Tally(Agent):
    """Counts messages and answers with the count (drains the processes-mode benchmarks)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def handle(self, msg: Any) -> Any:
        if msg == "n?":
            return self.n
        self.n += 1
        return None


@benchmark(
    "message_throughput.tell.processes",
    target="routing",
    inner_loops=IPC_BATCH,
    reference="message_throughput.reference.mp_queue",
)
@benchmark(
    "message_throughput.tell.processes_vs_faster_fifo",
    target="routing",
    inner_loops=IPC_BATCH,
    reference="message_throughput.reference.faster_fifo",
)
def tell_processes(loops: int) -> float:
    """tell() of small tuples to an agent on a worker process, drained by an ask per loop."""
    with Runtime("processes", workers=1) as rt:
        ref = rt.spawn(_Tally)
        ref.ask("n?", timeout=30)
        tell = ref.tell
        t0 = timer()
        for _ in range(loops):
            for i in range(IPC_BATCH):
                tell((i, "x"))
            ref.ask("n?", timeout=60)
        elapsed = timer() - t0
        assert ref.ask("n?", timeout=60) == loops * IPC_BATCH
    return elapsed


def _drained_ipc(loops: int, put: Callable[[Any], None], consume: Callable[[Any], None]) -> float:
    """Time ``loops`` x IPC_BATCH puts of small tuples until a consumer process has taken them."""
    ctx = mp.get_context("fork")
    done_r, done_w = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=consume, args=(done_w,), daemon=True)
    proc.start()
    try:
        t0 = timer()
        for _ in range(loops):
            for i in range(IPC_BATCH):
                put((i, "x"))
            put(None)
            assert done_r.recv() == IPC_BATCH
        return timer() - t0
    finally:
        put(False)
        proc.join(10)


def _consume(get: Callable[[], Any]) -> Callable[[Any], None]:
    def consume(done: Any) -> None:
        n = 0
        while (msg := get()) is not False:
            if msg is None:
                done.send(n)
                n = 0
            else:
                n += 1

    return consume


@benchmark("message_throughput.reference.mp_queue", target="routing", inner_loops=IPC_BATCH)
def mp_queue(loops: int) -> float:
    """Reference: multiprocessing.Queue, one producer and one consumer process, drained."""
    q: Any = mp.get_context("fork").Queue()
    return _drained_ipc(loops, q.put, _consume(q.get))


@benchmark("message_throughput.reference.mp_pipe", target="routing", inner_loops=IPC_BATCH)
def mp_pipe(loops: int) -> float:
    """Reference: multiprocessing.Pipe (one direction), one message per send, drained."""
    recv, send = mp.get_context("fork").Pipe(duplex=False)
    return _drained_ipc(loops, send.send, _consume(recv.recv))


@benchmark("message_throughput.reference.faster_fifo", target="routing", inner_loops=IPC_BATCH)
def faster_fifo_queue(loops: int) -> float:
    """Reference: faster-fifo's Queue (a shared-memory ring behind a lock), one message per put."""
    import faster_fifo

    q = faster_fifo.Queue(max_size_bytes=16 * 2**20)
    return _drained_ipc(loops, q.put, _consume(q.get))


@benchmark(
    "message_throughput.ask.processes",
    target="routing",
    reference="message_throughput.reference.mp_pipe_pingpong",
)
def ask_processes(loops: int) -> float:
    """ref.ask() to an agent on a worker process: one round trip through the rings."""
    with Runtime("processes", workers=1) as rt:
        ask = rt.spawn(Idle).ask
        for i in range(100):  # the worker's first frames and the parent's first spins
            ask(i, timeout=10)
        t0 = timer()
        for i in range(loops):
            ask(i, timeout=10)
        return timer() - t0


@benchmark("message_throughput.reference.mp_pipe_pingpong", target="routing")
def mp_pipe_pingpong(loops: int) -> float:
    """Reference: a round trip over a multiprocessing.Pipe to an echoing process."""
    ctx = mp.get_context("fork")
    mine, theirs = ctx.Pipe()

    def echo(conn: Any) -> None:
        while (msg := conn.recv()) is not None:
            conn.send(msg)

    proc = ctx.Process(target=echo, args=(theirs,), daemon=True)
    proc.start()
    try:
        for i in range(100):
            mine.send(i)
            mine.recv()
        t0 = timer()
        for i in range(loops):
            mine.send(i)
            mine.recv()
        return timer() - t0
    finally:
        mine.send(None)
        proc.join(10)


# ------------------------------------------------------------------ on Ray (declared when Ray is installed)
#
# Ray mode against raw Ray actor calls, in the same run: one fire-and-forget call per message (a
# Ray program's tell), and a ray.get round trip per call (its ask). Measured on the project's VM
# (Ray 2.60, local, 2 CPUs): 2.1 k calls/s and 1.09 ms. Each benchmark starts a local Ray in its
# worker process (about 10 s, outside the timed loops); `nox -s "tests(package='runtime-ray')"`
# smoke-runs them, the benchmarks session does not install Ray.

RAY_BATCH = 20_000
RAY_RAW_BATCH = 500  # raw calls are ~1000x slower per message: fewer keep a loop near 0.25 s


def _ray_echo_actor() -> Any:
    import ray

    @ray.remote(num_cpus=0)
    class Echo:
        def __init__(self) -> None:
            self.n = 0

        def tell(self, msg: Any) -> None:
            self.n += 1

        def ask(self, msg: Any) -> Any:
            return msg

        def count(self) -> int:
            return self.n

    actor = Echo.remote()  # type: ignore[attr-defined]
    ray.get(actor.count.remote())
    return actor


def _local_ray() -> Any:
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    return ray


if importlib.util.find_spec("ray") is not None:

    @benchmark(
        "message_throughput.tell.ray",
        target="routing",
        inner_loops=RAY_BATCH,
        reference="message_throughput.reference.ray_calls",
    )
    def tell_ray(loops: int) -> float:
        """tell() of small tuples to an agent on a Ray host actor, drained by an ask per loop."""
        with Runtime("ray") as rt:
            ref = rt.spawn(_Tally)
            ref.ask("n?", timeout=60)
            tell = ref.tell
            t0 = timer()
            for _ in range(loops):
                for i in range(RAY_BATCH):
                    tell((i, "x"))
                ref.ask("n?", timeout=120)
            return timer() - t0

    @benchmark(
        "message_throughput.reference.ray_calls", target="routing", inner_loops=RAY_RAW_BATCH
    )
    def ray_calls(loops: int) -> float:
        """Reference: one fire-and-forget Ray actor call per message, drained by a ray.get."""
        ray = _local_ray()
        actor = _ray_echo_actor()
        t0 = timer()
        for _ in range(loops):
            for i in range(RAY_RAW_BATCH):
                actor.tell.remote((i, "x"))
            ray.get(actor.count.remote())
        return timer() - t0

    @benchmark(
        "message_throughput.ask.ray",
        target="routing",
        reference="message_throughput.reference.ray_get",
    )
    def ask_ray(loops: int) -> float:
        """ref.ask() to an agent on a Ray host actor: one actor call and its reply."""
        with Runtime("ray") as rt:
            ask = rt.spawn(Idle).ask
            for i in range(20):
                ask(i, timeout=60)
            t0 = timer()
            for i in range(loops):
                ask(i, timeout=60)
            return timer() - t0

    @benchmark("message_throughput.reference.ray_get", target="routing")
    def ray_get(loops: int) -> float:
        """Reference: ray.get(actor.ask.remote(i)), one raw Ray actor round trip."""
        ray = _local_ray()
        actor = _ray_echo_actor()
        for i in range(20):
            ray.get(actor.ask.remote(i))
        t0 = timer()
        for i in range(loops):
            ray.get(actor.ask.remote(i))
        return timer() - t0
