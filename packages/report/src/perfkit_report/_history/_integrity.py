"""Is this file a history perfkit-report may use? Looked at read-only, before anything writes.

A damaged or foreign file is never written to: a history with a damaged page, a file that is not
SQLite, a SQLite file of someone else's (a ``customers`` table), a history written by a newer
perfkit-report. ``History.open`` calls ``inspect`` first, on a connection opened read-only
(``mode=ro``): the file's kind and size, then its schema (foreign? newer?), and when the open
itself is about to write (the switch to WAL, a pending migration) ``PRAGMA quick_check`` too. Only
then is the file opened for writing. A command that writes later (ingest, check, baseline, prune,
ingest-profile, evaluate) runs ``quick_check`` once more on its own connection before its first
write (``History``), so a history failing the check is refused with nothing appended.

Why ``quick_check`` and not ``integrity_check``: it reads every page and checks the b-tree
structure, record formats and constraints, skipping only the cross-check of every index against
its table (the part whose cost grows with the number of indexes). Measured on the 90-day
synthetic history (``benchmarks/toolkit.py``, 29 MB, 900 runs, 90 000 results; warm cache, one
core, load ~5): ``quick_check`` 0.12 s, ``integrity_check`` 0.33 s (medians of 7), once per
writing command. ``perfkit-report doctor`` runs the full ``integrity_check``.

What each finding is (the exception says the fix in its one line):

- not a regular file (a directory, a FIFO, a device): ``InputError`` (exit 2), pass ``--db`` with
  a file;
- missing or empty, for a command that only reads: ``InputError``: no history here yet;
  for one that writes, an empty file is a new database, as SQLite sees it;
- not SQLite (a zeroed or overwritten header), a damaged page, a WAL that does not belong to the
  file: ``StoreCorrupt``: restore a backup, see ``perfkit-report doctor``, or move it away;
- SQLite but not a history: ``StoreCorrupt`` naming its tables;
- a history of a newer perfkit-report: ``SchemaTooNew``: upgrade.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from perfkit_report._exceptions import InputError, StoreBusy, StoreCorrupt, StoreError
from perfkit_report._history._migrations import MIGRATIONS, applied_migrations, refuse_unknown
from perfkit_report._input import path_text

__all__ = ["Diagnosis", "Inspection", "damaged", "diagnose", "inspect", "quick_check"]


@dataclass(frozen=True, slots=True)
class Inspection:
    """What ``inspect`` found out about an existing, usable history file."""

    exists: bool
    checked: bool  # quick_check passed already


def damaged(where: Path | str, exc: sqlite3.DatabaseError | str) -> StoreCorrupt:
    """The one line for a history SQLite itself calls damaged or not a database."""
    return StoreCorrupt(
        f"{path_text(where)}: not a usable SQLite database, or a damaged one ({exc}); restore it "
        f"from a backup, see what is wrong with `perfkit-report doctor --db {path_text(where)}`, "
        "or move it away to start a new history"
    )


def inspect(where: Path, *, create: bool, busy_timeout: float) -> Inspection:
    """Refuse a file the history must not be opened on for writing; see the module docstring."""
    try:
        found = os.stat(where)
    except FileNotFoundError:
        if not create:
            raise _no_history(where, "no history database here") from None
        return Inspection(exists=False, checked=True)
    except OSError as exc:
        raise StoreError(f"{path_text(where)}: cannot look at it ({exc.strerror})") from exc
    if not stat.S_ISREG(found.st_mode):
        raise InputError(
            f"{path_text(where)}: is not a file (a directory, a FIFO or a device); pass --db with "
            "the path of a history file"
        )
    if found.st_size == 0:
        if not create:
            raise _no_history(where, "an empty file, no history yet")
        return Inspection(exists=False, checked=True)
    try:
        with _read_only(where, busy_timeout) as db:
            _refuse_foreign(db, where)
            journal = str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            pending = {m.name for m in MIGRATIONS} - set(applied_migrations(db))
            if journal != "wal" or pending:  # opening will write: check the pages first
                quick_check(db.conn, where)
                return Inspection(exists=True, checked=True)
    except StoreCorrupt as exc:
        raise _with_wal_hint(exc, where) from exc
    return Inspection(exists=True, checked=False)


def _with_wal_hint(exc: StoreCorrupt, where: Path) -> StoreCorrupt:
    """SQLite reads a file together with the WAL beside it: a WAL left there by another
    database (a history restored without removing its old WAL) can be the whole problem."""
    wal = Path(f"{where}-wal")
    if not wal.is_file() or wal.stat().st_size == 0:
        return exc
    return StoreCorrupt(
        f"{exc} (SQLite read it together with {path_text(wal.name)} beside it: if that WAL "
        "file is not this history's, move it away and retry)"
    )


def quick_check(conn: sqlite3.Connection, where: Path | str) -> None:
    """``PRAGMA quick_check`` on ``conn``; StoreCorrupt naming the first problem and the fix."""
    try:
        rows = conn.execute("PRAGMA quick_check(1)").fetchall()
    except sqlite3.DatabaseError as exc:
        raise damaged(where, exc) from exc
    if [tuple(row) for row in rows] != [("ok",)]:
        raise damaged(where, f"quick_check: {_first_problem(str(rows[0][0]))}")


def _first_problem(report: str) -> str:
    """The first line of an integrity report that names a problem (SQLite heads the report
    with ``*** in database main ***``)."""
    lines = [line for line in report.splitlines() if line and not line.startswith("***")]
    return lines[0] if lines else report


def _no_history(where: Path, what: str) -> InputError:
    shown = path_text(where)
    return InputError(
        f"{shown}: {what}; ingest a result file first (perfkit-report ingest --db {shown} FILE) "
        "or pass --db"
    )


@contextmanager
def _read_only(where: Path, busy_timeout: float) -> Iterator[Database]:
    """A read-only connection (``mode=ro``: SQLite refuses to write through it), with SQLite's
    own errors about the file turned into StoreCorrupt."""
    uri = Path(os.path.abspath(where)).as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout)
    except sqlite3.Error as exc:
        raise StoreError(f"{path_text(where)}: cannot open it ({exc}); check the file") from exc
    with closing(conn):
        try:
            yield Database(conn)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusy(
                    f"{path_text(where)}: the history database stayed locked by another process "
                    "past the busy timeout; retry when the other ingest/prune has finished"
                ) from exc
            raise damaged(where, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise damaged(where, exc) from exc


def _refuse_foreign(db: Database, where: Path) -> None:
    """StoreCorrupt for a SQLite file that is someone else's; SchemaTooNew for a newer history."""
    tables = [name for name in db.table_names() if not name.startswith("sqlite_")]
    if tables and "migrations" not in tables:
        raise StoreCorrupt(
            f"{path_text(where)} is a SQLite database but not a perfkit-report history (it has "
            f"tables {', '.join(sorted(tables))} and no migrations table); it was left as it "
            "was: pass --db with a new or existing history file"
        )
    refuse_unknown(applied_migrations(db), [m.name for m in MIGRATIONS], path_text(where))


# -- perfkit-report doctor ---------------------------------------------------------------------

_SQLITE_HEADER = b"SQLite format 3\x00"
_SALVAGE = (
    "restore it from a backup, or salvage what is readable with the sqlite3 shell "
    "(sqlite3 {path} .recover | sqlite3 recovered.db) and check that with "
    "`perfkit-report doctor --db recovered.db`, or move it away to start a new history"
)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """What ``diagnose`` looked at, one line each, and the first problem found with its fix."""

    findings: tuple[str, ...]
    problem: str | None = None


def diagnose(where: Path) -> Diagnosis:
    """Look at a history read-only, from the file's kind to ``PRAGMA integrity_check``; never
    writes. A missing path is an InputError."""
    shown = path_text(where)
    try:
        found = os.stat(where)
    except FileNotFoundError:
        raise _no_history(where, "no history database here") from None
    if not stat.S_ISREG(found.st_mode) or found.st_size == 0:
        inspect(where, create=False, busy_timeout=0)  # raises the InputError commands raise
    findings = [f"{shown}: {found.st_size} bytes"]
    with open(where, "rb") as stream:
        header = stream.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        return Diagnosis(
            (*findings, f"header: {header[:16]!r}, not SQLite's"),
            f"{shown}: not a SQLite database (its header is gone or was never there); "
            + _SALVAGE.format(path=shown),
        )
    try:
        with _read_only(where, busy_timeout=5.0) as db:
            return _diagnose_database(db, where, findings)
    except StoreCorrupt as exc:
        return Diagnosis(tuple(findings), str(_with_wal_hint(exc, where)))
    except StoreError as exc:  # SchemaTooNew, StoreBusy
        return Diagnosis(tuple(findings), str(exc))


def _diagnose_database(db: Database, where: Path, findings: list[str]) -> Diagnosis:
    shown = path_text(where)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    size = db.execute("PRAGMA page_size").fetchone()[0]
    journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    wal = Path(f"{where}-wal")
    findings.append(
        f"SQLite: {pages} pages of {size} bytes, journal mode {journal}"
        + (f", a WAL of {wal.stat().st_size} bytes beside it" if wal.exists() else "")
    )
    _refuse_foreign(db, where)
    applied = applied_migrations(db)
    findings.append(f"schema: a perfkit-report history, migrations {', '.join(applied) or 'none'}")
    rows = [str(row[0]) for row in db.execute("PRAGMA integrity_check(20)").fetchall()]
    findings.append("integrity_check: " + "; ".join(rows))
    if rows != ["ok"]:
        return Diagnosis(
            tuple(findings),
            f"{shown}: damaged ({_first_problem(rows[0])}); " + _SALVAGE.format(path=shown),
        )
    if "0001_initial" in applied:
        counts = {
            table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("runs", "results", "baselines")
        }
        findings.append(", ".join(f"{count} {table}" for table, count in counts.items()))
    return Diagnosis(tuple(findings))
