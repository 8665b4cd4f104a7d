"""The one way perfkit-report writes: an immediate transaction, all or nothing.

``BEGIN IMMEDIATE`` takes the write lock up front. A deferred ``BEGIN`` (what ``db.atomic()`` and
Python's sqlite3 issue) starts as a reader and upgrades at its first write; in WAL mode that upgrade
fails at once with "database is locked" when another writer committed in between, without waiting
for the busy timeout. Taking the lock first makes concurrent ingests queue behind each other
instead of failing. sqlite-utils calls made inside the block (``insert_all`` ...) nest as
savepoints, so they join this transaction rather than committing on their own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database

from perfkit_report._exceptions import StoreBusy

__all__ = ["write_transaction"]


@contextmanager
def write_transaction(db: Database, what: str) -> Iterator[Database]:
    """Run the block in one immediate transaction: commit on success, roll back on any exception.

    ``what`` names the operation for the StoreBusy message.
    """
    if db.conn.in_transaction:
        raise RuntimeError("write_transaction() does not nest; a transaction is already open")
    try:
        db.conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreBusy(
                f"{what}: the history database stayed locked by another process past the busy "
                "timeout; retry when the other ingest/prune has finished"
            ) from exc
        raise
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _rollback(db: Database) -> None:
    # An error such as SQLITE_FULL may already have ended the transaction.
    if db.conn.in_transaction:
        db.conn.execute("ROLLBACK")
