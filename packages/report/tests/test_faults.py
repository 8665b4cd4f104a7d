"""Faults, done for real in subprocesses: kill -9 mid-transaction, Ctrl-C, concurrent writers,
bad input files. The database must always be whole: a run is stored completely or not at all."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History

PAUSE_ROWS = "PERFKIT_REPORT_TEST_PAUSE_AFTER_ROWS"
PAUSE_SECONDS = "PERFKIT_REPORT_TEST_PAUSE_SECONDS"


def write_large_file(path: Path, benchmarks: int = 2000) -> Path:
    """A valid pyperf file (format 1.0) with many benchmarks, written as JSON directly."""
    metadata = {
        "perfkit_run_id": uuid.uuid4().hex,
        "perfkit_started": "2026-11-20T10:00:00+00:00",
        "unit": "second",
        "perfkit_kind": "time",
    }
    data = {
        "version": "1.0",
        "metadata": metadata,
        "benchmarks": [
            {
                "metadata": {"name": f"big.case{i}"},
                "runs": [
                    {"values": [1e-6 * (1 + i / 1000 + j / 100) for j in range(5)]}
                    for _ in range(3)
                ],
            }
            for i in range(benchmarks)
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def start_ingest(db: Path, *files: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "perfkit_report", "ingest", "--db", str(db), *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
        preexec_fn=sigint_by_default,
    )


def sigint_by_default() -> None:
    """Ctrl-C reaches the child even when this test runs where SIGINT is ignored (a shell's
    background job, nohup): a process inherits SIG_IGN and Python then never raises
    KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def counts_and_integrity(db: Path) -> tuple[int, int, str]:
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        results = conn.execute("SELECT count(*) FROM results").fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    return runs, results, integrity


def write_lock_is_held(db: Path) -> bool:
    conn = sqlite3.connect(db, timeout=0)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        return "locked" in str(exc)
    else:
        conn.execute("ROLLBACK")
        return False
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_mid_transaction_leaves_no_partial_run(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    History.open(db).close()
    big = write_large_file(tmp_path / "big.json")
    proc = start_ingest(db, big, env={PAUSE_ROWS: "500", PAUSE_SECONDS: "120"})
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "test pause inside the ingest transaction after 500 rows" in line, line
        # Really mid-transaction: the writer holds the lock, readers see nothing yet.
        assert write_lock_is_held(db)
        assert counts_and_integrity(db)[:2] == (0, 0)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert counts_and_integrity(db) == (0, 0, "ok")
    with History.open(db) as history:
        assert history.runs() == []
        # The lock died with the process: the same file ingests completely now.
        result = history.ingest(big)
        assert len(history.results(result.run_id)) == 2000
    assert counts_and_integrity(db) == (1, 2000, "ok")


def test_ctrl_c_mid_transaction_rolls_back_and_exits_130(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    big = write_large_file(tmp_path / "big.json", benchmarks=300)
    proc = start_ingest(db, big, env={PAUSE_ROWS: "100", PAUSE_SECONDS: "120"})
    try:
        assert proc.stderr is not None
        assert "test pause" in proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "interrupted" in stderr
    assert counts_and_integrity(db) == (0, 0, "ok")


@pytest.mark.slow
def test_four_concurrent_ingests_all_land(
    tmp_path: Path, perfkit_file: Callable[..., Path]
) -> None:
    db = tmp_path / "fresh.db"  # not created yet: the four also race to create the schema
    files = [perfkit_file(f"run{i}.json") for i in range(4)]
    # Each writer sleeps 0.3 s holding the write lock, so the others must queue behind it.
    env = {PAUSE_ROWS: "1", PAUSE_SECONDS: "0.3"}
    procs = [start_ingest(db, path, env=env) for path in files]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
        assert "ingested" in stdout
    assert counts_and_integrity(db) == (4, 20, "ok")
    with History.open(db) as history:
        assert history.migrations()[0] == "0001_initial"
        assert sorted(Path(run.source).name for run in history.runs()) == [
            "run0.json",
            "run1.json",
            "run2.json",
            "run3.json",
        ]


def _truncated(good: Path) -> bytes:
    return good.read_bytes()[: len(good.read_bytes()) // 2]


BAD: dict[str, tuple[str, Callable[[Path], bytes], str]] = {
    "truncated": ("truncated.json", _truncated, "truncated JSON"),
    "corrupt-gzip": ("corrupt.json.gz", lambda good: b"\x1f\x8b" + b"garbage" * 20, "gzip"),
    "wrong-schema": (
        "schema.json",
        lambda good: json.dumps({**json.loads(good.read_text()), "version": "3.0"}).encode(),
        "format version '3.0' is not supported",
    ),
    "nan-filled": (
        "nan.json",
        lambda good: (
            json.dumps(
                {
                    **json.loads(good.read_text()),
                    "benchmarks": [
                        {"metadata": {"name": "nan.case"}, "runs": [{"values": ["NAN"] * 5}]}
                    ],
                }
            )
            .replace('"NAN"', "NaN")
            .encode()
        ),
        "NaN",
    ),
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_file_exits_2_and_leaves_the_database_unchanged(
    tmp_path: Path,
    kind: str,
    perfkit_file: Callable[..., Path],
    run_cli: Callable[..., Any],
    state: Callable[[Path], Any],
) -> None:
    db = tmp_path / "h.db"
    good = perfkit_file("good.json")
    with History.open(db) as history:
        history.ingest(perfkit_file("earlier.json"))
    before = state(db)
    name, make, reason = BAD[kind]
    bad = tmp_path / name
    bad.write_bytes(make(good))

    result = run_cli("ingest", "--db", db, good, bad)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and reason in lines[0]
    assert state(db) == before  # good.json, listed first, did not land either


def test_bad_file_does_not_create_the_database(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.0", "benchmarks": [', encoding="utf-8")
    result = run_cli("ingest", bad)
    assert result.returncode == 2
    assert "truncated JSON" in result.stderr
    assert not (tmp_path / "history.db").exists()
