"""The store: connection settings, constraints, queries, baselines."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, InputError, UnknownBaseline, UnknownRun


def test_every_connection_enforces_foreign_keys_and_waits_when_busy(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.db", busy_timeout=7.5) as history:
        # White-box: the settings belong to the store's own connection, which nothing outside
        # the store is given.
        conn = history._db.conn
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 7500
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            conn.execute(
                "INSERT INTO results (run_id, benchmark, metric, unit, suite, n, median, mean, "
                "min, max, p5, p95, mad) VALUES (999, 'b', 'time', 'second', 's', 1, 1, 1, 1, 1, "
                "1, 1, 0)"
            )


def test_deleting_a_run_cascades_to_results(
    tmp_path: Path, perfkit_file: Callable[..., Path], sql: Callable[..., Any]
) -> None:
    with History.open(tmp_path / "h.db") as history:
        run_id = history.ingest(perfkit_file()).run_id
        assert len(history.results(run_id)) == 5
    sql(tmp_path / "h.db", "DELETE FROM runs WHERE id = ?", [run_id])
    assert sql(tmp_path / "h.db", "SELECT count(*) FROM results") == [(0,)]


def test_queries_order_runs_by_start_time(
    tmp_path: Path, perfkit_file: Callable[..., Path]
) -> None:
    with History.open(tmp_path / "h.db") as history:
        assert history.latest_run() is None
        late = history.ingest(perfkit_file(started="2026-11-22T00:00:00Z")).run_id
        early = history.ingest(perfkit_file(started="2026-11-01T00:00:00Z")).run_id
        middle = history.ingest(perfkit_file(started="2026-11-10T00:00:00+02:00")).run_id
        assert [run.id for run in history.runs()] == [early, middle, late]
        latest = history.latest_run()
        assert latest is not None and latest.id == late
        series = history.results_for("routing.tell.direct")
        assert [r.run_id for r in series] == [early, middle, late]
        assert history.results_for("no.such.benchmark") == []
        with pytest.raises(UnknownRun, match="no run has id 999"):
            history.run(999)


def test_baselines_pin_move_and_list(
    tmp_path: Path, perfkit_file: Callable[..., Path], sql: Callable[..., Any]
) -> None:
    with History.open(tmp_path / "h.db") as history:
        first = history.ingest(perfkit_file()).run_id
        second = history.ingest(perfkit_file()).run_id
        pinned = history.pin_baseline("main", first, note="release 0.1")
        assert (pinned.name, pinned.run_id, pinned.pinned, pinned.note) == (
            "main",
            first,
            True,
            "release 0.1",
        )
        moved = history.pin_baseline("main", second)
        assert moved.run_id == second and moved.note is None
        history.pin_baseline("nightly", first)
        assert [(b.name, b.run_id) for b in history.baselines()] == [
            ("main", second),
            ("nightly", first),
        ]
        with pytest.raises(UnknownBaseline, match=r"'release'.*known: main, nightly"):
            history.baseline("release")
        with pytest.raises(UnknownRun):
            history.pin_baseline("main", 999)
        with pytest.raises(InputError, match="cannot be empty"):
            history.pin_baseline(" ", first)
    # A baseline protects its run from deletion.
    with pytest.raises(sqlite3.IntegrityError):
        sql(tmp_path / "h.db", "DELETE FROM runs WHERE id = ?", [first])
