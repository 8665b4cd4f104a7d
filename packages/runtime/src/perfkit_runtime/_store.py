"""The SQLite store: one file of agents' messages and saved state, and the connection pool to it.

This module owns the on-disk schema (versioned below), the bounded pool of ``sqlite3`` connections
and every SQL statement the runtime runs. It uses the stdlib ``sqlite3`` only.

The file is opened in WAL mode so that readers never block the one writer; ``synchronous`` trades
durability for speed (NORMAL, the default, loses at most the last transactions on power loss, never
integrity). Each pooled connection is used by one thread at a time: a caller checks one out, runs
its statements and hands it back.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from perfkit_runtime._exceptions import StoreClosed, StoreCorrupt, StoreError

__all__ = ["Store", "StoreStats", "StoredMessage"]

# Schema versions. Bump on any change to a table or index; a file with another version is refused
# (StoreCorrupt) rather than migrated.
#   1 (2026-11-27): messages, agent_state, perfkit_store_meta; index messages(agent, id).
SCHEMA_VERSION = 1

_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS perfkit_store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS messages ("
    " id INTEGER PRIMARY KEY, agent TEXT NOT NULL, sender TEXT, ts REAL NOT NULL,"
    " codec TEXT NOT NULL, payload BLOB NOT NULL)",
    # (agent, id) serves "the last N messages of agent X" as an index range read backwards: no scan,
    # no sort. Point lookups by id need nothing more: id is the rowid.
    "CREATE INDEX IF NOT EXISTS messages_agent_id ON messages (agent, id)",
    "CREATE TABLE IF NOT EXISTS agent_state ("
    " agent TEXT PRIMARY KEY, state BLOB NOT NULL, updated REAL NOT NULL)",
)

_COLUMNS = "id, agent, sender, ts, codec, payload"
_INSERT_MESSAGE = "INSERT INTO messages (agent, sender, ts, codec, payload) VALUES (?, ?, ?, ?, ?)"
_GET_MESSAGE = f"SELECT {_COLUMNS} FROM messages WHERE id = ?"
_LAST_MESSAGES = f"SELECT {_COLUMNS} FROM messages WHERE agent = ? ORDER BY id DESC LIMIT ?"
_MESSAGES_BETWEEN = (
    f"SELECT {_COLUMNS} FROM messages WHERE agent = ? AND ts >= ? AND ts < ? ORDER BY id"
)
_COUNT_ALL = "SELECT count(*) FROM messages"
_COUNT_AGENT = "SELECT count(*) FROM messages WHERE agent = ?"
_SAVE_STATE = (
    "INSERT INTO agent_state (agent, state, updated) VALUES (?, ?, ?)"
    " ON CONFLICT (agent) DO UPDATE SET state = excluded.state, updated = excluded.updated"
)
_LOAD_STATE = "SELECT state FROM agent_state WHERE agent = ?"


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One row of the ``messages`` table; ``payload`` is encoded by the codec named ``codec``."""

    id: int
    agent: str
    sender: str | None
    timestamp: float
    codec: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoreStats:
    """A snapshot of a store: its pool and the number of stored messages."""

    path: str
    pool_size: int
    connections_open: int
    in_use: int
    waits: int  # times a caller found every connection in use and had to wait
    messages: int
    synchronous: str


def _sqlite_error(path: str, exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        fix = "another writer held the lock past the timeout; raise timeout or shorten its writes"
    elif "readonly" in text or "unable to open" in text:
        fix = "check that the directory exists and is writable"
    else:
        fix = f"check the file with: sqlite3 {path} 'PRAGMA integrity_check'"
    return StoreError(f"store {path}: {text}: {fix}")


class Store:
    """A perfkit store in one SQLite file, safe to share between threads.

    Connections are opened lazily up to ``pool_size``; a caller that finds all of them in use waits
    up to ``timeout`` seconds (the same timeout is SQLite's busy timeout for the write lock).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        pool_size: int = 4,
        timeout: float = 5.0,
    ) -> None:
        path = os.fspath(path)
        if path == ":memory:" or path.startswith("file:"):
            # Every pooled connection would open its own empty in-memory database.
            raise ValueError(
                f"Store needs a file path, not {path!r}: pass a path in a temporary dir"
            )
        if not isinstance(synchronous, str) or synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}"
            )
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size must be an int >= 1, not {pool_size!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout >= 0:
            raise ValueError(f"timeout must be a number of seconds >= 0, not {timeout!r}")
        self._path = path
        self._synchronous = synchronous.upper()
        self._pool_size = pool_size
        self._timeout = float(timeout)
        self._idle: list[sqlite3.Connection] = []  # LIFO: the most recently used has warm caches
        self._opened = 0  # connections created and not yet closed, idle or in use
        self._waiting = 0
        self._waits = 0
        self._closed = False
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        conn = self._connect()
        try:
            self._open_schema(conn)
        except BaseException:
            conn.close()
            raise
        self._opened = 1
        self._idle.append(conn)

    # -- pool ----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: autocommit; transactions are explicit BEGIN IMMEDIATE, so a
            # writer takes the write lock up front instead of failing to upgrade a read lock later.
            conn = sqlite3.connect(
                self._path,
                timeout=self._timeout,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._not_a_store(exc) from exc
        return conn

    def _not_a_store(self, exc: sqlite3.Error) -> StoreError:
        if type(exc) is sqlite3.DatabaseError:  # "file is not a database", "malformed"
            return StoreCorrupt(
                f"{self._path} is not a perfkit store ({exc}); move it away or pass another path"
            )
        return _sqlite_error(self._path, exc)

    def _open_schema(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                if "perfkit_store_meta" in tables:
                    row = conn.execute(
                        "SELECT value FROM perfkit_store_meta WHERE key = 'schema_version'"
                    ).fetchone()
                    found = row[0] if row else None
                    if found != str(SCHEMA_VERSION):
                        raise StoreCorrupt(
                            f"{self._path} is a perfkit store of schema version {found}, this "
                            f"perfkit-runtime reads version {SCHEMA_VERSION}; move it away or pass "
                            f"another path"
                        )
                elif tables:
                    raise StoreCorrupt(
                        f"{self._path} is a SQLite database but not a perfkit store (no "
                        f"perfkit_store_meta table); move it away or pass another path"
                    )
                else:
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO perfkit_store_meta (key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise self._not_a_store(exc) from exc
        if mode != "wal":
            raise StoreError(
                f"store {self._path}: SQLite refused WAL mode (journal_mode is {mode}); "
                f"put the store on a local filesystem"
            )

    def _acquire(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise self._closed_error()
            if self._idle:
                return self._idle.pop()
            if self._opened >= self._pool_size:
                self._wait_for_idle()
                if self._idle:
                    return self._idle.pop()
            self._opened += 1  # reserve the slot; the connect itself runs outside the lock
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._opened -= 1
                self._freed.notify()
            raise

    def _wait_for_idle(self) -> None:
        """Wait (lock held) until a connection is idle or a slot is free; raise on timeout."""
        self._waits += 1
        self._waiting += 1
        try:
            deadline = time.monotonic() + self._timeout
            while not self._idle and self._opened >= self._pool_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreError(
                        f"store {self._path}: no connection free within {self._timeout:g} s, all "
                        f"{self._pool_size} in use; raise pool_size or release connections"
                    )
                self._freed.wait(remaining)
                if self._closed:
                    raise self._closed_error()
        finally:
            self._waiting -= 1

    def _release(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._closed:
                self._opened -= 1
                conn.close()
                return
            self._idle.append(conn)
            if self._waiting:
                self._freed.notify()

    def _closed_error(self) -> StoreClosed:
        return StoreClosed(f"store {self._path} is closed; open a new Store to use the file")

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Check out a connection for reads (autocommit); it returns to the pool on exit."""
        conn = self._acquire()
        try:
            yield conn
        finally:
            self._release(conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one transaction (BEGIN IMMEDIATE): commit, or roll back on error."""
        conn = self._acquire()
        try:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _sqlite_error(self._path, exc) from exc
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            try:
                conn.commit()
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.rollback()
                raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)

    # -- messages ------------------------------------------------------------------------------

    def append_message(
        self,
        agent: str,
        payload: bytes,
        *,
        sender: str | None = None,
        timestamp: float | None = None,
        codec: str = "",
    ) -> int:
        """Store one message (its own transaction) and return its id."""
        if timestamp is None:
            timestamp = time.time()
        conn = self._acquire()
        try:
            cursor = conn.execute(_INSERT_MESSAGE, (agent, sender, timestamp, codec, payload))
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)
        rowid = cursor.lastrowid
        assert rowid is not None  # an INSERT that succeeded always sets it
        return rowid

    def append_messages(self, rows: Iterable[tuple[str, str | None, float, str, bytes]]) -> int:
        """Store ``(agent, sender, ts, codec, payload)`` rows in one transaction; count them."""
        conn = self._acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                count = conn.executemany(_INSERT_MESSAGE, rows).rowcount
                conn.commit()
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)
        return max(count, 0)  # executemany over no rows reports -1 on some SQLite builds

    def get_message(self, id: int) -> StoredMessage | None:
        """The message with this id, or None."""
        conn = self._acquire()
        try:
            row = conn.execute(_GET_MESSAGE, (id,)).fetchone()
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)
        return None if row is None else StoredMessage(*row)

    def last_messages(self, agent: str, n: int) -> list[StoredMessage]:
        """The ``n`` most recent messages to ``agent``, newest first."""
        return self._select(_LAST_MESSAGES, (agent, n))

    def messages_between(self, agent: str, since: float, until: float) -> list[StoredMessage]:
        """Messages to ``agent`` with ``since <= timestamp < until``, oldest first."""
        return self._select(_MESSAGES_BETWEEN, (agent, since, until))

    def _select(self, sql: str, params: tuple[object, ...]) -> list[StoredMessage]:
        conn = self._acquire()
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)
        return [StoredMessage(*row) for row in rows]

    def count_messages(self, agent: str | None = None) -> int:
        """How many messages the store holds, for one agent or for all."""
        conn = self._acquire()
        try:
            if agent is None:
                row = conn.execute(_COUNT_ALL).fetchone()
            else:
                row = conn.execute(_COUNT_AGENT, (agent,)).fetchone()
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)
        count: int = row[0]
        return count

    # -- agent state ---------------------------------------------------------------------------

    def save_state(self, agent: str, state: bytes) -> None:
        """Store ``state`` as the saved state of ``agent``, replacing any earlier one."""
        conn = self._acquire()
        try:
            conn.execute(_SAVE_STATE, (agent, state, time.time()))
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)

    def load_state(self, agent: str) -> bytes | None:
        """The saved state of ``agent``, or None if it has none."""
        conn = self._acquire()
        try:
            row = conn.execute(_LOAD_STATE, (agent,)).fetchone()
        except sqlite3.Error as exc:
            raise _sqlite_error(self._path, exc) from exc
        finally:
            self._release(conn)
        if row is None:
            return None
        state: bytes = row[0]
        return state

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._path

    @property
    def closed(self) -> bool:
        return self._closed

    def statistics(self) -> StoreStats:
        """A snapshot of the pool and the message count (the count runs a query)."""
        messages = self.count_messages()
        with self._lock:
            opened, idle, waits = self._opened, len(self._idle), self._waits
        return StoreStats(
            path=self._path,
            pool_size=self._pool_size,
            connections_open=opened,
            in_use=opened - idle,
            waits=waits,
            messages=messages,
            synchronous=self._synchronous,
        )

    def close(self) -> None:
        """Close idle connections now and in-use ones on release. Calling it again does nothing."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._freed.notify_all()
        for conn in idle:
            conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"pool_size={self._pool_size}"
        return f"<Store {self._path!r} {state}>"
