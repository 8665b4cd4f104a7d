"""Prune: daily summaries first, then raw samples go; pinned baselines untouched; one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, InputError

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def _history(tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any) -> dict[str, int]:
    """Four runs: two on 2026-06-01, one on 2026-07-01 (pinned), one recent."""

    def benches(scale: float) -> list[Any]:
        return [
            make_bench("routing.tell.direct", [[1e-6 * scale, 1.2e-6 * scale]]),
            make_bench("memory.per_message", [[500.0 * scale]], kind="bytes", unit="byte"),
        ]

    ids = {}
    with History.open(tmp_path / "h.db") as history:
        for name, started, scale in [
            ("old_a", "2026-06-01T09:00:00+00:00", 1.0),
            ("old_b", "2026-06-01T18:00:00+00:00", 2.0),
            ("pinned", "2026-07-01T12:00:00+00:00", 3.0),
            ("recent", "2026-11-20T12:00:00+00:00", 4.0),
        ]:
            path = perfkit_file(f"{name}.json", benches=benches(scale), started=started)
            ids[name] = history.ingest(path).run_id
        history.pin_baseline("release", ids["pinned"])
    return ids


def test_prune_summarises_then_drops_samples_except_pinned(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any, sql: Callable[..., Any]
) -> None:
    ids = _history(tmp_path, perfkit_file, make_bench)
    with History.open(tmp_path / "h.db") as history:
        medians_before = {r.id: r.median for run in ids.values() for r in history.results(run)}
        result = history.prune(90, NOW)
        assert result.cutoff == "2026-08-29T00:00:00.000000+00:00"
        assert (result.runs_pruned, result.results_pruned, result.runs_pinned) == (2, 4, 1)
        assert result.summaries_written == 4  # 2 days x 2 benchmarks

        for name in ("old_a", "old_b"):
            for row in history.results(ids[name]):
                assert row.samples is None and row.process_medians is None
        for name in ("pinned", "recent"):
            for row in history.results(ids[name]):
                assert row.samples is not None and row.process_medians is not None
        medians_after = {r.id: r.median for run in ids.values() for r in history.results(run)}
        assert medians_after == medians_before  # summary statistics stay
        assert len(history.runs()) == 4  # nothing is deleted

    columns = ("day", "benchmark", "unit", "n_runs", "median", "min", "max")
    summaries = {
        (row[0], row[1]): dict(zip(columns, row, strict=True))
        for row in sql(tmp_path / "h.db", f"SELECT {', '.join(columns)} FROM daily_summaries")
    }
    june = summaries[("2026-06-01", "routing.tell.direct")]
    assert june["n_runs"] == 2
    assert june["unit"] == "second"
    assert june["median"] == pytest.approx((1.1e-6 + 2.2e-6) / 2)
    assert (june["min"], june["max"]) == pytest.approx((1.1e-6, 2.2e-6))
    july = summaries[("2026-07-01", "memory.per_message")]
    assert (july["n_runs"], july["unit"], july["median"]) == (1, "byte", 1500.0)


def test_prune_is_idempotent(
    tmp_path: Path,
    perfkit_file: Callable[..., Path],
    make_bench: Any,
    state: Callable[[Path], Any],
) -> None:
    _history(tmp_path, perfkit_file, make_bench)
    with History.open(tmp_path / "h.db") as history:
        history.prune(90, NOW)
    before = state(tmp_path / "h.db")
    with History.open(tmp_path / "h.db") as history:
        again = history.prune(90, NOW)
    assert (again.runs_pruned, again.results_pruned) == (0, 0)
    assert state(tmp_path / "h.db") == before


def test_prune_is_one_transaction(
    tmp_path: Path,
    perfkit_file: Callable[..., Path],
    make_bench: Any,
    state: Callable[[Path], Any],
    sql: Callable[..., Any],
) -> None:
    ids = _history(tmp_path, perfkit_file, make_bench)
    # Make the second run's update fail after the summaries and the first run were written.
    sql(
        tmp_path / "h.db",
        "CREATE TRIGGER refuse AFTER UPDATE ON results WHEN NEW.run_id = "
        f"{ids['old_b']} BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    before = state(tmp_path / "h.db")
    with (
        History.open(tmp_path / "h.db") as history,
        pytest.raises(sqlite3.IntegrityError, match="injected"),
    ):
        history.prune(90, NOW)
    assert state(tmp_path / "h.db") == before


def test_negative_days_is_bad_input(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.db") as history, pytest.raises(InputError, match="--days"):
        history.prune(-1, NOW)


def test_prune_command(
    tmp_path: Path,
    perfkit_file: Callable[..., Path],
    make_bench: Any,
    run_cli: Callable[..., Any],
) -> None:
    _history(tmp_path, perfkit_file, make_bench)
    result = run_cli("prune", "--db", "h.db", "--days", "90", "--now", "2026-11-27T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "pruned raw samples of 2 run(s) (4 results) that started before "
        "2026-08-29T00:00:00.000000+00:00; kept 1 pinned run(s) intact; wrote 4 daily summaries\n"
    )
    bad = run_cli("prune", "--db", "h.db", "--now", "next tuesday")
    assert bad.returncode == 2
    assert "--now" in bad.stderr and "ISO 8601" in bad.stderr
    conn = sqlite3.connect(tmp_path / "h.db")
    try:
        assert conn.execute("SELECT count(*) FROM results WHERE samples IS NULL").fetchone() == (4,)
    finally:
        conn.close()
