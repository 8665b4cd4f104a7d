"""database_queries: the runtime's SQLite store against raw sqlite3 on the same file layout.

The 1 M-row database is built once and cached in the temp directory (a file named after its row
count and layout version), because pyperf starts many worker processes and building it takes
seconds. Set PERFKIT_BENCH_ROWS to use a smaller one (the smoke tests do).
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter, perf_counter_ns

from perfkit_bench import benchmark, timer
from perfkit_runtime import Store

ROWS = int(os.environ.get("PERFKIT_BENCH_ROWS", "1000000"))
AGENTS = 1000
LAYOUT = 1  # bump when the cached file's contents change
PAYLOAD = b"\x80\x05\x95" + bytes(range(40))  # ~ a small pickled message
CACHE = Path(tempfile.gettempdir()) / "perfkit-bench-cache"


def _rows(n: int, start: int = 0) -> Iterator[tuple[str, str | None, float, str, bytes]]:
    for i in range(start, start + n):
        yield (f"agent-{i % AGENTS}", None, 1.7e9 + i, "pickle", PAYLOAD)


def big_db() -> Path:
    """Path of the cached store holding ROWS messages (built on first use, atomically)."""
    path = CACHE / f"messages-{ROWS}-v{LAYOUT}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with Store(tmp, synchronous="OFF") as store:
        step = 100_000
        for start in range(0, ROWS, step):
            store.append_messages(_rows(min(step, ROWS - start), start))
        with store.connection() as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)
    return path


@contextmanager
def fresh_store(**options: object) -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "s.db", **options) as store:  # type: ignore[arg-type]
        yield store


def _ids(n: int, seed: int = 7) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, ROWS) for _ in range(n)]


# ------------------------------------------------------------------ point queries


@benchmark("database_queries.point_query", target="database", kind="latency", params={"rows": ROWS})
def point_query_latency() -> dict[str, float]:
    """Latency of 5000 random point queries (Store.get_message) on the big database."""
    ids = _ids(5000)
    samples: list[int] = []
    with Store(big_db()) as store:
        get = store.get_message
        for i in ids[:200]:  # warm the page cache and the pool
            get(i)
        t0 = perf_counter()
        for i in ids:
            s = perf_counter_ns()
            get(i)
            samples.append(perf_counter_ns() - s)
        elapsed = perf_counter() - t0
    samples.sort()
    n = len(samples)
    return {
        "p50": samples[n // 2] / 1e9,
        "p95": samples[int(n * 0.95)] / 1e9,
        "p99": samples[int(n * 0.99)] / 1e9,
        "throughput": n / elapsed,
    }


@benchmark(
    "database_queries.store.point_query",
    target="database",
    params={"rows": ROWS},
    reference="database_queries.reference.sqlite3_point_query",
    clock="wall",
)
def store_point_query(loops: int) -> float:
    """One Store.get_message by id (pool checkout included)."""
    ids = _ids(loops)
    with Store(big_db()) as store:
        get = store.get_message
        t0 = timer()
        for i in ids:
            get(i)
        return timer() - t0


@benchmark(
    "database_queries.reference.sqlite3_point_query",
    target="database",
    params={"rows": ROWS},
    clock="wall",
)
def sqlite3_point_query(loops: int) -> float:
    """Reference: raw sqlite3 fetching the same row by primary key on one connection."""
    ids = _ids(loops)
    conn = sqlite3.connect(big_db())
    try:
        sql = "SELECT id, agent, sender, ts, codec, payload FROM messages WHERE id = ?"
        execute = conn.execute
        t0 = timer()
        for i in ids:
            execute(sql, (i,)).fetchone()
        return timer() - t0
    finally:
        conn.close()


@benchmark(
    "database_queries.last_n", target="database", params={"rows": ROWS, "n": 20}, clock="wall"
)
def last_n(loops: int) -> float:
    """The last 20 messages of one agent (index on (agent, id), newest first)."""
    rng = random.Random(3)
    agents = [f"agent-{rng.randrange(AGENTS)}" for _ in range(loops)]
    with Store(big_db()) as store:
        last = store.last_messages
        t0 = timer()
        for agent in agents:
            last(agent, 20)
        return timer() - t0


# ------------------------------------------------------------------ indexed vs unindexed

SMALL = min(ROWS, 100_000)  # an unindexed scan of 1 M rows per query would take minutes per run


def _by_agent_db(indexed: bool) -> Path:
    path = CACHE / f"by-agent-{SMALL}-{'idx' if indexed else 'noidx'}-v{LAYOUT}.db"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    conn = sqlite3.connect(tmp)
    with conn:
        conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, agent TEXT, ts REAL, payload BLOB)")
        conn.executemany(
            "INSERT INTO m (agent, ts, payload) VALUES (?, ?, ?)",
            ((a, ts, p) for a, _, ts, _, p in _rows(SMALL)),
        )
        if indexed:
            conn.execute("CREATE INDEX m_agent ON m (agent, id)")
    conn.close()
    os.replace(tmp, path)
    return path


@benchmark(
    "database_queries.by_agent.{index}",
    target="database",
    params={"rows": SMALL},
    params_grid={"index": ["indexed", "unindexed"]},
    clock="wall",
)
def by_agent(loops: int, *, index: str) -> float:
    """Fetch the last 20 rows of one agent, with and without an (agent, id) index."""
    conn = sqlite3.connect(_by_agent_db(index == "indexed"))
    rng = random.Random(5)
    try:
        sql = "SELECT id, payload FROM m WHERE agent = ? ORDER BY id DESC LIMIT 20"
        agents = [f"agent-{rng.randrange(AGENTS)}" for _ in range(loops)]
        t0 = timer()
        for agent in agents:
            conn.execute(sql, (agent,)).fetchall()
        return timer() - t0
    finally:
        conn.close()


# ------------------------------------------------------------------ connection handling


@benchmark(
    "database_queries.connection.pooled", target="database", params={"rows": ROWS}, clock="wall"
)
def connection_pooled(loops: int) -> float:
    """A point query through the Store's connection pool."""
    return store_point_query(loops)


@benchmark(
    "database_queries.connection.per_query",
    target="database",
    params={"rows": ROWS},
    reference="database_queries.connection.pooled",
    clock="wall",
)
def connection_per_query(loops: int) -> float:
    """The same query opening and closing a sqlite3 connection each time."""
    ids = _ids(loops)
    path = big_db()
    sql = "SELECT id, agent, sender, ts, codec, payload FROM messages WHERE id = ?"
    t0 = timer()
    for i in ids:
        conn = sqlite3.connect(path)
        conn.execute(sql, (i,)).fetchone()
        conn.close()
    return timer() - t0


# ------------------------------------------------------------------ writes and commits


@benchmark("database_queries.commit.single", target="database", clock="wall")
def commit_single(loops: int) -> float:
    """One row per transaction (Store.append_message, WAL, synchronous=NORMAL): 1/value = tx/s."""
    with fresh_store() as store:
        append = store.append_message
        t0 = timer()
        for i in range(loops):
            append("agent-1", PAYLOAD, timestamp=float(i), codec="pickle")
        return timer() - t0


@benchmark("database_queries.commit.batched", target="database", inner_loops=100, clock="wall")
def commit_batched(loops: int) -> float:
    """100 rows per transaction (Store.append_messages); the value is per row."""
    with fresh_store() as store:
        t0 = timer()
        for i in range(loops):
            store.append_messages(_rows(100, i * 100))
        return timer() - t0


@benchmark(
    "database_queries.store.insert",
    target="database",
    inner_loops=1000,
    reference="database_queries.reference.sqlite3_insert",
    clock="wall",
)
def store_insert(loops: int) -> float:
    """Batched inserts through the Store, 1000 rows per transaction (value: per row)."""
    with fresh_store() as store:
        batches = [list(_rows(1000, i * 1000)) for i in range(loops)]
        t0 = timer()
        for batch in batches:
            store.append_messages(batch)
        return timer() - t0


@benchmark(
    "database_queries.reference.sqlite3_insert", target="database", inner_loops=1000, clock="wall"
)
def sqlite3_insert(loops: int) -> float:
    """Reference: raw sqlite3 executemany of the same rows into the same schema and pragmas."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "raw.db"
        with Store(target):  # lay down the same schema and indexes, then write without the Store
            pass
        conn = sqlite3.connect(target, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        sql = "INSERT INTO messages (agent, sender, ts, codec, payload) VALUES (?, ?, ?, ?, ?)"
        batches = [list(_rows(1000, i * 1000)) for i in range(loops)]
        try:
            t0 = timer()
            for batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(sql, batch)
                conn.execute("COMMIT")
            return timer() - t0
        finally:
            conn.close()
