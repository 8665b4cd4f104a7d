"""Raw samples and per-process medians are stored as packed float64 BLOBs: what ingest writes,
what every reader gets back, and migration 0003 converting a history written as JSON text."""

from __future__ import annotations

import json
import math
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from perfkit_report import (
    MIGRATIONS,
    History,
    ParsedResult,
    ParsedRun,
    render_report,
    summarize,
)
from perfkit_report._history import _migrations
from perfkit_report._history._migrations import apply_migrations
from perfkit_report._history._packed import unpack_floats

BEFORE_0003 = MIGRATIONS[: [m.name for m in MIGRATIONS].index("0003_packed_samples")]


def _bits(values: Any) -> list[int]:
    return [struct.unpack("<Q", struct.pack("<d", float(value)))[0] for value in values]


def test_ingest_stores_blobs_that_read_back_exactly(
    tmp_path: Path, perfkit_file: Callable[..., Path], sql: Callable[..., list[Any]]
) -> None:
    with History.open(tmp_path / "h.db") as history:
        run_id = history.ingest(perfkit_file()).run_id
        direct = {r.benchmark: r for r in history.results(run_id)}["routing.tell.direct"]
    kinds = sql(
        tmp_path / "h.db", "SELECT DISTINCT typeof(samples), typeof(process_medians) FROM results"
    )
    assert kinds == [("blob", "blob")]
    assert direct.samples == (1.0e-6, 1.1e-6, 1.2e-6, 1.3e-6, 1.4e-6, 1.5e-6)
    assert direct.process_medians == (1.1e-6, 1.4e-6)
    ((blob,),) = sql(
        tmp_path / "h.db",
        "SELECT samples FROM results WHERE run_id = ? AND benchmark = ?",
        [run_id, "routing.tell.direct"],
    )
    assert blob == struct.pack("<6d", *direct.samples)


def _run(samples: tuple[float, ...]) -> ParsedRun:
    result = ParsedResult(
        benchmark="a.b",
        metric="time",
        unit="second",
        target=None,
        suite="a",
        summary=summarize([samples]),
        samples=samples,
        metadata={},
    )
    return ParsedRun(
        run_key="hand-built",
        source="/hand/built.json",
        started=None,
        finished=None,
        commit_sha=None,
        branch=None,
        dirty=None,
        mode=None,
        fingerprint={},
        tool_versions={},
        failed=(),
        results=(result,),
    )


def test_storing_a_non_finite_sample_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.db") as history:
        with pytest.raises(ValueError, match="NaN or infinite"):
            history.store(_run((1.0, math.nan)))
        assert history.runs() == []
        assert history.store(_run((1.0, 2.0))).skipped is False


# What a history written before 0003 holds (the JSON writer: sorted keys, no spaces), the values
# its reader returned, and whether 0003 converts the row.
LEGACY_ROWS: list[tuple[str | None, bool]] = [
    (json.dumps([1.3238327648331623e-06, 1.1e-06, 5e-324, 1.7976931348623157e308]), True),
    (json.dumps([0.1, 1 / 3, -0.0]), True),
    ("[]", True),
    (None, False),  # pruned
    ("[NaN, 1.0]", True),  # hand-damaged; the JSON reader returned the NaN
    ("[1e999, 2]", True),  # an infinity and an integer
    ("[1.0, ", False),  # not JSON: left as text, reading it fails as it did
    ('{"a": 1.0}', False),  # JSON but not a list of numbers
    ('[1.0, "x"]', False),
    ("[1e400, 10" + "0" * 400 + "]", False),  # an integer beyond the float range
]


def _legacy_history(path: Path) -> list[int]:
    """A history at 0002 with one result row per LEGACY_ROWS entry (as samples and medians)."""
    db = Database(sqlite3.connect(path))
    try:
        apply_migrations(db, str(path), BEFORE_0003)
        with db.conn:
            db.execute(
                "INSERT INTO runs (id, run_key, source, status, ingested_at) "
                "VALUES (1, 'legacy', '/legacy.json', 'ok', '2026-11-01T00:00:00+00:00')"
            )
            ids = []
            for index, (text, _) in enumerate(LEGACY_ROWS):
                cursor = db.execute(
                    "INSERT INTO results (run_id, benchmark, metric, unit, suite, n, median, "
                    "mean, min, max, p5, p95, mad, samples, process_medians) "
                    "VALUES (1, ?, 'time', 'second', 'a', 1, 1, 1, 1, 1, 1, 1, 0, ?, ?)",
                    [f"a.b{index}", text, text],
                )
                ids.append(int(cursor.lastrowid or 0))
    finally:
        db.close()
    return ids


def test_0003_converts_json_rows_exactly_and_leaves_damaged_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sql: Callable[..., list[Any]]
) -> None:
    monkeypatch.setattr(_migrations, "_PACK_BATCH_ROWS", 3)  # several batches
    ids = _legacy_history(tmp_path / "h.db")
    with History.open(tmp_path / "h.db") as history:
        assert "0003_packed_samples" in history.migrations()
        for row_id, (text, converted) in zip(ids, LEGACY_ROWS, strict=True):
            (stored,) = sql(
                tmp_path / "h.db",
                "SELECT samples, process_medians FROM results WHERE id = ?",
                [row_id],
            )
            if text is None:
                assert stored == (None, None)
            elif converted:
                assert all(type(value) is bytes for value in stored)
                # Exactly what the JSON reader returned (integers now as floats).
                expected = _bits(json.loads(text))
                assert [_bits(unpack_floats(value)) for value in stored] == [expected, expected]
            else:
                assert stored == (text, text)


def test_0003_then_every_reader_sees_the_values_it_saw_before(
    tmp_path: Path, synthetic: Callable[..., Any], series_type: Any
) -> None:
    """A history written as JSON (rewritten here from a BLOB one), migrated: the results, the
    change points and the rendered report are the same as from the BLOB history."""
    native, legacy = tmp_path / "native.db", tmp_path / "legacy.db"
    medians = [1e-6] * 6 + [1.3e-6] * 6  # 12 runs, a step confirmed by the 6 after it
    for path in (native, legacy):
        synthetic(path, [series_type("a.step", medians, noise=0.02)])
    conn = sqlite3.connect(legacy)
    with conn:
        rows = conn.execute("SELECT id, samples, process_medians FROM results").fetchall()
        for row_id, samples, process_medians in rows:
            texts = [
                json.dumps(list(struct.unpack(f"<{len(blob) // 8}d", blob)), separators=(",", ":"))
                for blob in (samples, process_medians)
            ]
            conn.execute(
                "UPDATE results SET samples = ?, process_medians = ? WHERE id = ?",
                [*texts, row_id],
            )
        conn.execute("DELETE FROM migrations WHERE name = '0003_packed_samples'")
    conn.close()

    reports = {}
    for name, path in (("native", native), ("legacy", legacy)):
        with History.open(path) as history:
            results = [r for run in history.runs() for r in history.results(run.id)]
            report = render_report(history, tmp_path / name)
        view = report.dashboard.benchmarks[0]
        assert view.trend_basis == "runs"
        reports[name] = (
            [(r.samples, r.process_medians, r.median, r.mad) for r in results],
            [(change.point.index, change.point.change) for change in view.changes],
        )
    assert reports["legacy"] == reports["native"]
    assert reports["native"][1]  # the step was found


def test_a_damaged_per_process_blob_does_not_stop_the_report(
    tmp_path: Path, synthetic: Callable[..., Any], series_type: Any
) -> None:
    ids = synthetic(tmp_path / "h.db", [series_type("a.b", [1e-6, 1e-6, 1.2e-6])])
    conn = sqlite3.connect(tmp_path / "h.db")
    with conn:
        conn.execute("UPDATE results SET process_medians = x'0102' WHERE run_id = ?", [ids[1]])
    conn.close()
    with History.open(tmp_path / "h.db") as history:
        report = render_report(history, tmp_path / "out")
    view = report.dashboard.benchmarks[0]
    assert view.trend_basis == "none"  # three runs: too few for a trend, whatever the blobs
    assert any("3 runs: no trend yet" in note for note in view.notes)
