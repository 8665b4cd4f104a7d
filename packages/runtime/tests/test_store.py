"""The SQLite store: schema and file checks, pool, transactions, queries, threads, persisted history."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from perfkit_runtime import (
    History,
    Store,
    StoreClosed,
    StoreCorrupt,
    StoredMessage,
    StoreError,
    StoreStats,
    get_codec,
)
from perfkit_runtime._store import _GET_MESSAGE, _LAST_MESSAGES, SCHEMA_VERSION


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store(path) as s:
        yield s


# -- opening -----------------------------------------------------------------------------------


def test_new_file_gets_wal_and_the_requested_synchronous(path: Path) -> None:
    with Store(path, synchronous="full", timeout=2.5) as store, store.connection() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (2500,)


@pytest.mark.parametrize(("mode", "value"), [("OFF", 0), ("NORMAL", 1), ("FULL", 2), ("EXTRA", 3)])
def test_synchronous_applies_to_every_pooled_connection(path: Path, mode: str, value: int) -> None:
    with Store(path, synchronous=mode, pool_size=2) as store:
        with store.connection() as first, store.connection() as second:
            assert first is not second
            for conn in (first, second):
                assert conn.execute("PRAGMA synchronous").fetchone() == (value,)
        assert store.statistics().synchronous == mode


def test_schema_has_tables_index_and_version(store: Store) -> None:
    with store.connection() as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        version = conn.execute(
            "SELECT value FROM perfkit_store_meta WHERE key = 'schema_version'"
        ).fetchone()
    assert {"messages", "agent_state", "perfkit_store_meta", "messages_agent_id"} <= names
    assert version == (str(SCHEMA_VERSION),)


def test_data_survives_close_and_reopen(path: Path) -> None:
    with Store(path) as store:
        first = store.append_message("a", b"one", sender="b", timestamp=1.0, codec="pickle")
        store.save_state("a", b"state")
    with Store(path) as store:
        assert store.get_message(first) == StoredMessage(first, "a", "b", 1.0, "pickle", b"one")
        assert store.load_state("a") == b"state"
        assert store.append_message("a", b"two") == first + 1


@pytest.mark.parametrize(
    "content", [os.urandom(4096), b"hello, I am a text file\n" * 200], ids=["random", "text"]
)
def test_file_that_is_not_a_database_is_store_corrupt(path: Path, content: bytes) -> None:
    path.write_bytes(content)
    with pytest.raises(StoreCorrupt) as info:
        Store(path)
    message = str(info.value)
    assert message.startswith(f"{path} is not a perfkit store (file is not a database)")
    assert message.endswith("move it away or pass another path")
    assert path.read_bytes() == content  # left as it was


def test_sqlite_database_of_another_program_is_store_corrupt(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt, match="is a SQLite database but not a perfkit store"):
        Store(path)


def test_other_schema_version_is_store_corrupt(path: Path) -> None:
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE perfkit_store_meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreCorrupt) as info:
        Store(path)
    assert str(info.value) == (
        f"{path} is a perfkit store of schema version 999, this perfkit-runtime reads version "
        f"{SCHEMA_VERSION}; move it away or pass another path"
    )


def test_missing_directory_is_a_store_error_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="check that the directory exists and is writable"):
        Store(tmp_path / "no" / "such" / "dir.db")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"synchronous": "FAST"}, "synchronous must be one of OFF, NORMAL, FULL, EXTRA"),
        ({"pool_size": 0}, "pool_size must be an int >= 1"),
        ({"pool_size": 2.0}, "pool_size must be an int >= 1"),
        ({"timeout": -1}, "timeout must be a number of seconds >= 0"),
        ({"timeout": float("nan")}, "timeout must be a number of seconds >= 0"),
    ],
)
def test_bad_arguments_are_value_errors(path: Path, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Store(path, **kwargs)  # type: ignore[arg-type]
    assert not path.exists()


def test_memory_database_is_refused() -> None:
    with pytest.raises(ValueError, match="Store needs a file path"):
        Store(":memory:")


# -- messages ----------------------------------------------------------------------------------


def test_append_and_get_message(store: Store) -> None:
    before = time.time()
    first = store.append_message("a", b"\x00payload", codec="pickle")
    second = store.append_message("b", b"x", sender="a", timestamp=12.5)
    assert second == first + 1
    message = store.get_message(first)
    assert message is not None
    assert (message.agent, message.sender, message.codec, message.payload) == (
        "a",
        None,
        "pickle",
        b"\x00payload",
    )
    assert before <= message.timestamp <= time.time()
    assert type(message.payload) is bytes
    assert store.get_message(second) == StoredMessage(second, "b", "a", 12.5, "", b"x")
    assert store.get_message(second + 100) is None


def test_append_messages_writes_all_rows_in_one_call(store: Store) -> None:
    rows = [("a", None, float(i), "json", str(i).encode()) for i in range(100)]
    assert store.append_messages(rows) == 100
    assert store.append_messages(iter(rows[:3])) == 3
    assert store.append_messages([]) == 0
    assert store.count_messages() == 103
    assert [m.payload for m in store.last_messages("a", 3)] == [b"2", b"1", b"0"]


def test_last_messages_are_the_newest_of_that_agent_newest_first(store: Store) -> None:
    for i in range(10):
        store.append_message("a" if i % 2 else "b", str(i).encode(), timestamp=float(i))
    assert [m.payload for m in store.last_messages("a", 3)] == [b"9", b"7", b"5"]
    assert [m.payload for m in store.last_messages("b", 100)] == [b"8", b"6", b"4", b"2", b"0"]
    assert store.last_messages("a", 0) == []
    assert store.last_messages("nobody", 5) == []


def _plan(store: Store, sql: str, params: tuple[object, ...]) -> str:
    with store.connection() as conn:
        return " | ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_last_messages_reads_the_agent_index_without_scan_or_sort(store: Store) -> None:
    store.append_messages((f"agent-{i % 50}", None, float(i), "", b"x") for i in range(5_000))
    with store.connection() as conn:
        conn.execute("ANALYZE")
    plan = _plan(store, _LAST_MESSAGES, ("agent-7", 10))
    assert "USING INDEX messages_agent_id (agent=?)" in plan or "USING COVERING INDEX" in plan
    assert "SCAN" not in plan
    assert "TEMP B-TREE" not in plan


def test_get_message_is_a_primary_key_lookup(store: Store) -> None:
    plan = _plan(store, _GET_MESSAGE, (1,))
    assert "USING INTEGER PRIMARY KEY (rowid=?)" in plan


def test_messages_between_is_half_open_and_oldest_first(store: Store) -> None:
    for ts in (1.0, 2.0, 3.0, 4.0):
        store.append_message("a", str(ts).encode(), timestamp=ts)
    store.append_message("b", b"other", timestamp=2.5)
    between = store.messages_between("a", 2.0, 4.0)
    assert [m.timestamp for m in between] == [2.0, 3.0]
    assert store.messages_between("a", 5.0, 9.0) == []


def test_count_messages_overall_and_per_agent(store: Store) -> None:
    store.append_messages(
        [("a", None, 0.0, "", b""), ("a", None, 0.0, "", b""), ("b", None, 0.0, "", b"")]
    )
    assert store.count_messages() == 3
    assert store.count_messages("a") == 2
    assert store.count_messages("zzz") == 0


def test_save_state_replaces_the_earlier_state(store: Store) -> None:
    assert store.load_state("a") is None
    store.save_state("a", b"v1")
    store.save_state("b", b"other")
    store.save_state("a", b"v2")
    assert store.load_state("a") == b"v2"
    assert store.load_state("b") == b"other"
    with store.connection() as conn:
        assert conn.execute("SELECT count(*) FROM agent_state").fetchone() == (2,)


# -- transactions ------------------------------------------------------------------------------


def test_transaction_commits_on_success(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute("INSERT INTO messages (agent, ts, codec, payload) VALUES ('a', 1, '', x'00')")
        conn.execute("INSERT INTO agent_state VALUES ('a', x'01', 1)")
    assert store.count_messages() == 1
    assert store.load_state("a") == b"\x01"


def test_transaction_rolls_back_on_exception(store: Store) -> None:
    def insert_then_fail() -> None:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO messages (agent, ts, codec, payload) VALUES ('a', 1, '', x'00')"
            )
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        insert_then_fail()
    assert store.count_messages() == 0
    with store.connection() as conn:
        assert not conn.in_transaction  # the connection went back to the pool clean
    assert store.statistics().in_use == 0


def test_transaction_takes_the_write_lock_up_front(store: Store) -> None:
    with store.transaction() as conn:
        assert conn.in_transaction
        with (
            closing(sqlite3.connect(store.path, timeout=0)) as other,
            pytest.raises(sqlite3.OperationalError, match="locked"),
        ):
            other.execute("BEGIN IMMEDIATE")


def test_failed_append_messages_writes_nothing(store: Store) -> None:
    rows: list[tuple[str, str | None, float, str, bytes]] = [("a", None, 0.0, "", b"ok")] * 5
    rows.append(("a", None, 0.0, "", None))  # type: ignore[arg-type]  # payload NOT NULL
    with pytest.raises(StoreError, match="NOT NULL constraint failed"):
        store.append_messages(rows)
    assert store.count_messages() == 0


# -- pool and threads --------------------------------------------------------------------------


def test_connections_open_lazily_up_to_pool_size(path: Path) -> None:
    with Store(path, pool_size=3) as store:
        assert store.statistics().connections_open == 1
        with store.connection(), store.connection():
            stats = store.statistics()  # checks out a third connection for its count
            assert (stats.connections_open, stats.in_use) == (3, 2)
        assert store.statistics() == StoreStats(str(path), 3, 3, 0, 0, 0, "NORMAL")


def test_exhausted_pool_waits_then_names_the_fix(path: Path) -> None:
    with Store(path, pool_size=1, timeout=0.05) as store:
        with store.connection():
            started = time.monotonic()
            with pytest.raises(StoreError) as info:
                store.count_messages()
            assert time.monotonic() - started >= 0.04
        assert str(info.value) == (
            f"store {path}: no connection free within 0.05 s, all 1 in use; "
            f"raise pool_size or release connections"
        )
        assert store.count_messages() == 0  # released: usable again
        assert store.statistics().waits == 1


def test_waiting_caller_gets_the_released_connection(path: Path) -> None:
    with Store(path, pool_size=1, timeout=5) as store:
        checked_out = threading.Event()

        def hold() -> None:
            with store.connection():
                checked_out.set()
                time.sleep(0.1)

        holder = threading.Thread(target=hold)
        holder.start()
        checked_out.wait()
        assert store.append_message("a", b"x") == 1
        holder.join()
        assert store.statistics().waits == 1


def test_eight_threads_write_concurrently_and_every_row_lands(path: Path) -> None:
    per_thread = 200
    ids: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)
    shared = Store(path, pool_size=4)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                if i % 50 == 49:
                    shared.append_messages([(f"t{n}", None, float(i), "", b"batch")] * 5)
                else:
                    ids.append(shared.append_message(f"t{n}", f"{n}:{i}".encode(), codec="raw"))
                if i % 20 == 0:
                    shared.last_messages(f"t{n}", 5)
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        singles = per_thread - per_thread // 50
        batched = 5 * (per_thread // 50)
        assert len(set(ids)) == len(ids) == 8 * singles
        assert shared.count_messages() == 8 * (singles + batched)
        for n in range(8):
            assert shared.count_messages(f"t{n}") == singles + batched
        stats = shared.statistics()
        assert stats.connections_open <= 4
        assert stats.in_use == 0
    finally:
        shared.close()


# -- closing -----------------------------------------------------------------------------------


def test_close_is_idempotent_and_later_calls_raise_store_closed(path: Path) -> None:
    store = Store(path)
    store.close()
    store.close()
    assert store.closed
    message = f"store {path} is closed; open a new Store to use the file"
    for call in (
        lambda: store.append_message("a", b"x"),
        lambda: store.get_message(1),
        lambda: store.last_messages("a", 1),
        lambda: store.count_messages(),
        lambda: store.load_state("a"),
        lambda: store.statistics(),
    ):
        with pytest.raises(StoreClosed) as info:
            call()
        assert str(info.value) == message
    with pytest.raises(StoreClosed), store.transaction():
        pass


def test_close_while_a_connection_is_checked_out(path: Path) -> None:
    store = Store(path)
    with store.connection() as conn:
        store.close()
        assert conn.execute("SELECT 1").fetchone() == (1,)  # still usable until released
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")  # closed on release
    with pytest.raises(StoreClosed):
        store.count_messages()


def test_close_wakes_waiters_with_store_closed(path: Path) -> None:
    store = Store(path, pool_size=1, timeout=5)
    raised: list[BaseException] = []

    def wait_for_connection() -> None:
        try:
            store.count_messages()
        except BaseException as exc:
            raised.append(exc)

    with store.connection():
        waiter = threading.Thread(target=wait_for_connection)
        waiter.start()
        deadline = time.monotonic() + 5
        while store._waiting == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        store.close()
        waiter.join(5)
    assert len(raised) == 1
    assert isinstance(raised[0], StoreClosed)


# -- history -----------------------------------------------------------------------------------


def test_history_persist_writes_new_records_and_reopening_shows_them(path: Path) -> None:
    history = History(codec="pickle")
    for i in range(5):
        history.record("orders", ("order", i, {"qty": 2}), sender="client")
    with Store(path) as store:
        assert history.persist(store) == 5
        assert history.persist(store) == 0  # already written
        history.record("orders", ("order", 5, {"qty": 2}))
        history.record("billing", "invoice", sender="orders")
        assert history.persist(store) == 2
    with Store(path) as store:
        assert store.count_messages() == 7
        newest = store.last_messages("orders", 10)
        assert [get_codec(m.codec).decode(m.payload) for m in newest] == [
            ("order", i, {"qty": 2}) for i in reversed(range(6))
        ]
        assert {m.codec for m in newest} == {"pickle"}
        assert newest[-1].sender == "client"
        assert [m.timestamp for m in reversed(newest)] == [
            r.timestamp for r in history.query("orders") if r.recipient == "orders"
        ]
        (billing,) = store.last_messages("billing", 10)
        assert (billing.sender, history.codec.decode(billing.payload)) == ("orders", "invoice")
