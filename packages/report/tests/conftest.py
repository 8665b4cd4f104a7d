"""Shared fixtures: a builder of perfkit-style result files
(real pyperf Run/Benchmark/BenchmarkSuite objects, dumped by pyperf), a CLI runner that starts a
real subprocess and one that runs the CLI in this process, and a snapshot of a database's content for "unchanged" assertions."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf
import pytest

from perfkit_report._cli import main


@dataclass(frozen=True)
class Bench:
    """One benchmark of a generated perfkit file: values per worker process."""

    name: str
    processes: Sequence[Sequence[float]]
    kind: str = "time"
    unit: str = "second"
    target: str | None = "routing"
    suite: str | None = None
    reference: str | None = None
    params: Mapping[str, Any] | None = None
    metadata: Mapping[str, Any] | None = None
    """More metadata of this benchmark (``perfkit_metric``, ``perfkit_clock``, ...)."""


DEFAULT_BENCHES = (
    Bench("routing.tell.direct", [[1.0e-6, 1.1e-6, 1.2e-6], [1.3e-6, 1.4e-6, 1.5e-6]]),
    Bench(
        "routing.tell.asyncio_queue",
        [[2.0e-6, 2.2e-6, 2.4e-6], [2.6e-6, 2.8e-6, 3.0e-6]],
        target=None,
    ),
    Bench(
        "routing.tell.vs_queue",
        [[1.0e-6, 1.1e-6, 1.2e-6], [1.3e-6, 1.4e-6, 1.5e-6]],
        reference="routing.tell.asyncio_queue",
        params={"agents": 10},
    ),
    Bench("memory.history.per_message", [[512.0], [520.0], [516.0]], kind="bytes", unit="byte"),
    Bench("load.tell.p99", [[3.0e-4, 3.2e-4], [3.1e-4, 3.3e-4]], kind="latency", target="load"),
)


def write_perfkit_file(
    path: Path,
    benches: Sequence[Bench] = DEFAULT_BENCHES,
    *,
    run_id: str | None = None,
    started: str = "2026-11-20T10:00:00+00:00",
    finished: str = "2026-11-20T10:05:00+00:00",
    failed: Sequence[Mapping[str, str]] = (),
    branch: str = "main",
    commit: str = "0123456789abcdef0123456789abcdef01234567",
    dirty: str = "false",
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a perfkit-style pyperf file with pyperf's own objects and dump()."""
    run_md: dict[str, Any] = {
        "perfkit_run_id": run_id or uuid.uuid4().hex,
        "perfkit_version": "0.1.0",
        "perfkit_mode": "fast",
        "perfkit_started": started,
        "perfkit_finished": finished,
        "perfkit_commit": commit,
        "perfkit_branch": branch,
        "perfkit_dirty": dirty,
        "perfkit_cpu_model": "Test CPU @ 2.0GHz",
        "perfkit_cpu_count": 2,
        "perfkit_kernel": "6.1.0-test",
        "perfkit_python": "3.11.7",
        "perfkit_load_avg": 0.5,
        "perfkit_libraries": json.dumps({"pykka": "4.5.0"}),
        "perfkit_failed": json.dumps(list(failed)),
        "hostname": "testhost",
        "python_version": "3.11.7 (64-bit)",
        **(extra or {}),
    }
    benchmarks = []
    for bench in benches:
        md: dict[str, Any] = {
            **run_md,
            "name": bench.name,
            "unit": bench.unit,
            "perfkit_kind": bench.kind,
            "perfkit_suite": bench.suite or bench.name.split(".")[0],
            "perfkit_func": f"benchmarks.{bench.name.split('.')[0]}:workload",
            "perfkit_inner_loops": 1,
        }
        if bench.target is not None:
            md["perfkit_target"] = bench.target
        if bench.reference is not None:
            md["perfkit_reference"] = bench.reference
        if bench.params is not None:
            md["perfkit_params"] = json.dumps(bench.params)
        md.update(bench.metadata or {})
        runs = [
            pyperf.Run(list(values), metadata=md, collect_metadata=False)
            for values in bench.processes
        ]
        benchmarks.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benchmarks).dump(str(path), replace=True)
    return path


@pytest.fixture
def perfkit_file(tmp_path: Path) -> Callable[..., Path]:
    """A builder: perfkit_file(name="x.json", **write_perfkit_file options) -> path."""
    counter = iter(range(1_000_000))

    def build(name: str | None = None, /, **options: Any) -> Path:
        target = tmp_path / (name or f"perfkit-{next(counter)}.json")
        return write_perfkit_file(target, **options)

    return build


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``python -m perfkit_report ARGS`` in a real subprocess, cwd = tmp_path."""

    def run(
        *args: str | Path, env: Mapping[str, str] | None = None, timeout: float = 60
    ) -> CliResult:
        completed = subprocess.run(
            [sys.executable, "-m", "perfkit_report", *map(str, args)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    return run


def db_state(path: Path) -> tuple[dict[str, int], str]:
    """Row counts per table and a sha256 of the full SQL dump."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        counts = {
            name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables
        }
        digest = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()
    return counts, digest


def _run_main(*args: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(arg) for arg in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def run_main() -> Callable[..., tuple[int, str, str]]:
    """The CLI in this process: ``run_main(*args)`` -> (exit code, stdout, stderr). Session
    scoped, so hypothesis's @given tests can take it too."""
    return _run_main


@pytest.fixture
def state() -> Callable[[Path], tuple[dict[str, int], str]]:
    """db_state as a fixture (tests cannot import conftest under importlib mode)."""
    return db_state


def run_sql(path: Path, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on a history file through a connection of its own (foreign keys on, as
    the store sets them), commit, and return the rows: how tests read, damage or hand-edit a
    history the way no perfkit-report command would."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
    finally:
        conn.close()
    return rows


@pytest.fixture(scope="session")
def sql() -> Callable[..., list[tuple[Any, ...]]]:
    """run_sql as a fixture."""
    return run_sql


@pytest.fixture
def make_bench() -> type[Bench]:
    """The Bench class (tests cannot import conftest under importlib mode)."""
    return Bench


@dataclass(frozen=True)
class Series:
    """One benchmark of a synthetic history: its median in each run (None: not measured)."""

    name: str
    medians: Sequence[float | None]
    unit: str = "second"
    kind: str = "time"
    suite: str | None = None
    target: str | None = "routing"
    reference: str | None = None
    noise: float = 0.01


def store_history(
    path: Path,
    series: Sequence[Series],
    *,
    start: str = "2026-10-01T12:00:00+00:00",
    hours_apart: float = 24.0,
    commits: bool = True,
    seed: int = 0,
) -> list[int]:
    """Store one run per position of the medians (one a day by default), each benchmark with
    3 worker processes x 3 values spread by ``noise`` around its median; returns the run ids.
    Built with History.store (no pyperf files), so a 30-run history takes a fraction of a second."""
    import random
    from datetime import timedelta

    from perfkit_report import History, ParsedResult, ParsedRun, summarize
    from perfkit_report._history._timestamps import format_timestamp, parse_timestamp

    rng = random.Random(seed)
    runs = max(len(s.medians) for s in series)
    first = parse_timestamp(start)
    ids = []
    with History.open(path) as history:
        for index in range(runs):
            results = []
            for spec in series:
                if index >= len(spec.medians) or spec.medians[index] is None:
                    continue
                median = float(spec.medians[index])  # type: ignore[arg-type]
                processes = [
                    [median * (1 + rng.gauss(0, spec.noise)) for _ in range(3)] for _ in range(3)
                ]
                metadata: dict[str, Any] = {"perfkit_kind": spec.kind}
                if spec.reference:
                    metadata["perfkit_reference"] = spec.reference
                metric = {"time": "time", "bytes": "bytes", "count": "count"}.get(
                    spec.kind, spec.name.rpartition(".")[2]
                )
                results.append(
                    ParsedResult(
                        benchmark=spec.name,
                        metric=metric,
                        unit=spec.unit,
                        target=spec.target,
                        suite=spec.suite or spec.name.split(".")[0],
                        summary=summarize(processes),
                        samples=tuple(v for values in processes for v in values),
                        metadata=metadata,
                    )
                )
            moment = format_timestamp(first + timedelta(hours=hours_apart * index))
            run = ParsedRun(
                run_key=f"synthetic-{seed}-{index}",
                source=f"/synthetic/run-{index}.json",
                started=moment,
                finished=moment,
                commit_sha=f"{index:04d}{'c0ffee' * 6}"[:40] if commits else None,
                branch="main" if commits else None,
                dirty=False,
                mode="fast",
                fingerprint={"python": "CPython 3.11.7"},
                tool_versions={},
                failed=(),
                results=tuple(results),
            )
            ids.append(history.store(run).run_id)
    return ids


@pytest.fixture(scope="session")
def synthetic() -> Callable[..., list[int]]:
    """store_history(path, series, ...) as a fixture; ``Series`` is ``synthetic.Series``."""
    return store_history


@pytest.fixture(scope="session")
def series_type() -> type[Series]:
    """The Series class (tests cannot import conftest under importlib mode)."""
    return Series


def write_profile(
    folder: Path,
    *,
    target: str = "routing",
    commit: str | None = None,
    files: Mapping[str, str] | None = None,
    create: Sequence[str] = ("flame.html",),
    **extra: Any,
) -> Path:
    """A capture folder as perfkit-profile writes it: summary.json plus the files in ``create``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in create:
        (folder / name).write_text("<html>profile</html>", encoding="utf-8")
    document: dict[str, Any] = {
        "version": 1,
        "target": target,
        "workload": "benchmarks.message_throughput:tell_asyncio",
        "captured": "2026-11-20T10:00:00Z",
        "commit": commit,
        "branch": "main",
        "duration_s": 3.5,
        "tools": {"scalene": "2.4.0", "memray": "1.20.0"},
        "peak_memory_bytes": 48_000_000,
        "allocations": 120_000,
        "top_cpu": [
            {
                "function": "Router.route",
                "file": "perfkit_runtime/_router.py",
                "line": 120,
                "cpu_percent": 31.5,
            },
            {
                "function": "Mailbox.put",
                "file": "perfkit_runtime/_mailbox.py",
                "line": 40,
                "cpu_percent": 12.0,
            },
        ],
        "top_alloc": [
            {
                "function": "Mailbox.put",
                "file": "perfkit_runtime/_mailbox.py",
                "line": 40,
                "bytes": 12_000_000,
                "count": 4000,
            }
        ],
        "files": dict(files) if files is not None else {"memray_flamegraph": "flame.html"},
        "errors": [],
        **extra,
    }
    (folder / "summary.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def profile_folder() -> Callable[..., Path]:
    """write_profile(folder, **options) as a fixture."""
    return write_profile
