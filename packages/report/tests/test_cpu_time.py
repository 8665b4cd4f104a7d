"""CPU time beside wall time: ``perfkit-bench run`` writes ``<id>`` (wall time) and
``<id>.cpu_time`` (the declared CPU clock, ``perfkit_metric = "cpu_time"``, ``perfkit_id =
"<id>"``); ingest stores them as benchmark ``<id>`` in metrics ``time`` and ``cpu_time``;
compare and check see both; the summary shows both and checks targets on wall time only; the
dashboard draws the wall-time series (the CPU-time trend view is drawn elsewhere). History files
from before migration 0004 keep their rows and gain the per-metric key."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pyperf
from sqlite_utils import Database

from perfkit_report import MIGRATIONS, History, read_result_file
from perfkit_report._cli import main
from perfkit_report._history._migrations import apply_migrations
from perfkit_report._render._dashboard import build_dashboard
from perfkit_report._render._summary import summarize_run
from perfkit_report._targets import load_targets


def write_run(path: Path, scale: float = 1.0) -> Path:
    """A run file as perfkit-bench run writes it: two benchmarks on a CPU clock, each in wall
    time and in CPU time, and a reference."""
    run_md: dict[str, Any] = {
        "perfkit_run_id": uuid.uuid4().hex,
        "perfkit_version": "0.1.0",
        "perfkit_mode": "default",
        "perfkit_started": "2026-12-01T10:00:00+00:00",
        "perfkit_finished": "2026-12-01T10:05:00+00:00",
        "perfkit_failed": "[]",
    }
    benches = []
    for name, wall, reference in (
        ("suite.tell.sync", 2.0e-7 * scale, "suite.reference.bare"),
        ("suite.reference.bare", 1.0e-7, None),
    ):
        common: dict[str, Any] = {
            **run_md,
            "unit": "second",
            "perfkit_kind": "time",
            "perfkit_suite": "suite",
            "perfkit_target": "routing",
        }
        if reference:
            common["perfkit_reference"] = reference
        for suffix, clock, factor in (("", "perf_counter", 1.0), (".cpu_time", "thread_time", 0.8)):
            md = {**common, "name": name + suffix, "perfkit_clock": clock}
            if suffix:
                md.update(perfkit_metric="cpu_time", perfkit_id=name)
            runs = [
                pyperf.Run(
                    [wall * factor * (1 + 0.01 * i + 0.001 * j) for j in range(3)],
                    metadata=md,
                    collect_metadata=False,
                )
                for i in range(6)
            ]
            benches.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benches).dump(str(path), replace=True)
    return path


def test_ingest_maps_the_cpu_time_benchmark_to_its_id_and_metric(tmp_path: Path) -> None:
    parsed = read_result_file(write_run(tmp_path / "run.json"))
    keys = [(result.benchmark, result.metric) for result in parsed.results]
    assert keys == [
        ("suite.tell.sync", "time"),
        ("suite.tell.sync", "cpu_time"),
        ("suite.reference.bare", "time"),
        ("suite.reference.bare", "cpu_time"),
    ]
    with History.open(tmp_path / "h.db") as history:
        first = history.store(parsed)
        again = history.store(read_result_file(tmp_path / "run.json"))
        stored = {(r.benchmark, r.metric): r.median for r in history.results(1)}
    assert not first.skipped and again.skipped
    assert len(stored) == 4
    for name in ("suite.tell.sync", "suite.reference.bare"):
        assert abs(stored[(name, "cpu_time")] / stored[(name, "time")] - 0.8) < 1e-9


def test_compare_sees_wall_time_and_cpu_time_as_two_channels(tmp_path: Path, capsys: Any) -> None:
    base, head = write_run(tmp_path / "base.json"), write_run(tmp_path / "head.json", 1.3)
    assert main(["compare", str(base), str(head), "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)["verdicts"]
    found = {(row["benchmark"], row["channel"]): row["verdict"] for row in rows}
    assert found == {
        ("suite.tell.sync", "time"): "regressed",
        ("suite.tell.sync", "cpu_time"): "regressed",
        ("suite.reference.bare", "time"): "same",
        ("suite.reference.bare", "cpu_time"): "same",
    }


def test_summary_checks_targets_on_wall_time_and_ratios_within_a_metric(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text(
        'version = 1\n[[target]]\nid = "suite.tell.sync"\nunit = "second"\nmax = 1e-9\n'
    )
    targets = load_targets(path)
    with History.open(tmp_path / "h.db") as history:
        history.store(read_result_file(write_run(tmp_path / "run.json")))
        run = history.latest_run()
        assert run is not None
        rows = {
            (row.benchmark, row.metric): row for row in summarize_run(history, run, targets).rows
        }
        dashboard = build_dashboard(history, targets)
    wall, cpu = rows[("suite.tell.sync", "time")], rows[("suite.tell.sync", "cpu_time")]
    assert wall.check.status == "missed" and cpu.check.status == "none"
    assert wall.ratio is not None and abs(wall.ratio - 2.0) < 1e-9
    assert cpu.ratio is not None and abs(cpu.ratio - 2.0) < 1e-9  # against the reference's CPU time
    assert sorted(view.id for view in dashboard.benchmarks) == [
        "suite.reference.bare",
        "suite.tell.sync",
    ]
    assert all(view.series.metric == "time" for view in dashboard.benchmarks)


def test_a_history_from_before_0004_keeps_its_rows_and_takes_both_metrics(tmp_path: Path) -> None:
    db_path = tmp_path / "h.db"
    names = [migration.name for migration in MIGRATIONS]
    db = Database(sqlite3.connect(db_path))
    apply_migrations(db, "h.db", MIGRATIONS[: names.index("0004_results_per_metric")])
    db.execute(
        "INSERT INTO runs (id, run_key, source, status, ingested_at) "
        "VALUES (7, 'k', 'a.json', 'ok', '2026-11-01T00:00:00+00:00')"
    )
    db.execute(
        "INSERT INTO results (id, run_id, benchmark, metric, unit, suite, n, median, mean, min, "
        "max, p5, p95, mad) VALUES (41, 7, 'x.y', 'time', 'second', 'x', 1, 1, 1, 1, 1, 1, 1, 0)"
    )
    db.conn.commit()
    db.close()
    with History.open(db_path) as history:
        assert history.migrations() == names
        (old,) = history.results(7)
        assert (old.benchmark, old.metric, old.median) == ("x.y", "time", 1.0)
        history.store(read_result_file(write_run(tmp_path / "run.json")))
    conn = sqlite3.connect(db_path)
    try:
        (schema,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'results'").fetchone()
        (row_id,) = conn.execute("SELECT id FROM results WHERE benchmark = 'x.y'").fetchone()
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(results)")}
    finally:
        conn.close()
    assert "UNIQUE (run_id, benchmark, metric)" in schema and row_id == 41
    assert "idx_results_benchmark_run" in indexes
