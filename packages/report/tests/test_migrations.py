"""Schema: created and evolved only by named migrations; unknown ones refused."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlite_utils import Database

from perfkit_report import MIGRATIONS, History, Migration, SchemaTooNew, StoreCorrupt
from perfkit_report._history._migrations import apply_migrations

TABLES = {
    "migrations",
    "runs",
    "results",
    "baselines",
    "verdicts",
    "profiles",
    "daily_summaries",
    "checks",
    "evaluations",
}
NAMES = [migration.name for migration in MIGRATIONS]


@contextmanager
def schema(path: Path) -> Iterator[Database]:
    """A connection of the test's own to a history file, to read its schema."""
    db = Database(sqlite3.connect(path))
    try:
        yield db
    finally:
        db.close()


def test_new_history_gets_every_table_and_index(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.db") as history:
        assert history.migrations() == NAMES
        assert NAMES[:2] == ["0001_initial", "0002_regression_gate"]
    with schema(tmp_path / "h.db") as db:
        assert set(db.table_names()) == TABLES
        indexes = {
            row["name"]: row["tbl_name"]
            for row in db.query(
                "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
                "AND name NOT LIKE 'sqlite_autoindex%'"
            )
        }
        assert indexes["idx_results_benchmark_run"] == "results"
        assert indexes["idx_runs_started"] == "runs"
        plan = " ".join(
            str(row["detail"])
            for row in db.query(
                "EXPLAIN QUERY PLAN SELECT * FROM results WHERE benchmark = ? ORDER BY run_id",
                ["x"],
            )
        )
        assert "idx_results_benchmark_run" in plan
        fks = {fk.other_table: fk.on_delete for fk in db.table("results").foreign_keys}
        assert fks == {"runs": "CASCADE"}


def test_reopening_applies_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "h.db"
    History.open(db_path).close()
    History.open(db_path).close()
    with schema(db_path) as db:
        rows = list(db.query("SELECT name, applied_at FROM migrations"))
        assert [row["name"] for row in rows] == NAMES
        assert apply_migrations(db, "h.db") == []


def test_a_new_migration_is_applied_once_in_order(tmp_path: Path) -> None:
    calls: list[str] = []

    def add_column(db: Database) -> None:
        calls.append("9001")
        db.execute("ALTER TABLE runs ADD COLUMN machine TEXT")

    db_path = tmp_path / "h.db"
    History.open(db_path).close()
    newer = (*MIGRATIONS, Migration("9001_runs_machine", add_column))
    db = Database(sqlite3.connect(db_path))
    try:
        assert apply_migrations(db, "h.db", newer) == ["9001_runs_machine"]
        assert apply_migrations(db, "h.db", newer) == []
        assert "machine" in db["runs"].columns_dict
        names = [r["name"] for r in db.query("SELECT name FROM migrations ORDER BY rowid")]
        assert names == [*NAMES, "9001_runs_machine"]
    finally:
        db.close()
    assert calls == ["9001"]


def test_a_failing_migration_leaves_no_trace(tmp_path: Path) -> None:
    def half_done(db: Database) -> None:
        db.execute("CREATE TABLE half (x INTEGER)")
        raise RuntimeError("boom")

    db_path = tmp_path / "h.db"
    History.open(db_path).close()
    db = Database(sqlite3.connect(db_path))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            apply_migrations(db, "h.db", (*MIGRATIONS, Migration("9002_half", half_done)))
        assert "half" not in db.table_names()
        assert [r["name"] for r in db.query("SELECT name FROM migrations")] == NAMES
    finally:
        db.close()


def test_unknown_migration_is_refused_naming_the_upgrade(tmp_path: Path) -> None:
    db_path = tmp_path / "h.db"
    History.open(db_path).close()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("INSERT INTO migrations VALUES ('0099_from_the_future', '2030-01-01')")
    conn.close()
    with pytest.raises(SchemaTooNew, match=r"0099_from_the_future.*upgrade perfkit-report"):
        History.open(db_path)


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    db_path = tmp_path / "other.db"
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    with pytest.raises(StoreCorrupt, match="not a perfkit-report history"):
        History.open(db_path)


def test_a_non_sqlite_file_is_refused(tmp_path: Path) -> None:
    db_path = tmp_path / "notes.db"
    db_path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(StoreCorrupt, match="not a usable SQLite database"):
        History.open(db_path)
    assert db_path.read_text().startswith("these are my notes")


def test_a_history_from_the_first_release_gains_the_gate_tables_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "h.db"
    db = Database(sqlite3.connect(db_path))
    apply_migrations(db, "h.db", MIGRATIONS[:1])
    db.execute(
        "INSERT INTO runs (id, run_key, source, status, ingested_at) "
        "VALUES (1, 'k', 'a.json', 'ok', '2026-11-01T00:00:00+00:00')"
    )
    db.execute(
        "INSERT INTO baselines (name, run_id, pinned, created) VALUES ('main', 1, 1, '2026')"
    )
    db.conn.commit()
    db.close()
    with History.open(db_path) as history:
        assert history.migrations() == NAMES
    with schema(db_path) as db:
        assert {"checks", "evaluations"} <= set(db.table_names())
        columns = db["verdicts"].columns_dict
        assert {"check_id", "mde_percent", "n_base", "n_head", "paired", "test"} <= set(columns)
        (row,) = db.query("SELECT name, run_id, branch FROM baselines")
        assert row == {"name": "main", "run_id": 1, "branch": None}
