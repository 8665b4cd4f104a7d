"""toolkit: the speed of perfkit's own reporting (perfkit-report) on a long synthetic history.

The history is issue 5's sizing case: 90 days x 100 benchmarks x 10 runs a day (900 runs, 90 000
results). It is built once and cached in the temp directory (a file named after its shape and
generator version), so worker processes and later runs reuse it; building it takes ~15 s here.

Budgets (benchmarks/targets.toml, # toolkit): render <= 3 s, page <= 3 MB, ingest >= 10 k
results/s (the whole command path, and the database write alone). This suite needs perfkit-report installed next to perfkit-bench; perfkit_report is
imported inside the workloads so that listing the suites works without it.
"""

from __future__ import annotations

import os
import random
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from perfkit_bench import benchmark, timer

# PERFKIT_TOOLKIT_DAYS shrinks the history for smoke runs (pass it to the workers with
# perfkit-bench's --inherit-environ); the budgets in targets.toml are for the full 90 days.
DAYS = int(os.environ.get("PERFKIT_TOOLKIT_DAYS", "90"))
BENCHMARKS = 100
RUNS_PER_DAY = 10
# Bump when the generator below changes, so a stale cached history is not reused. 2: results
# store samples as packed BLOBs (migration 0003_packed_samples); a new file rather than migrating
# the shared cached one under a checkout that predates it.
GENERATOR_VERSION = 2
# Results per file in the ingest benchmarks: about one full run of perfkit's five suites (95
# declared benchmarks, latency ones stored as 4-5 results each).
INGEST_RESULTS = 150
SUITES = ("alpha", "beta", "gamma", "delta", "epsilon")
TARGETS = """
version = 1
[defaults]
severity = { minor = 10.0, major = 15.0, critical = 20.0 }
[[target]]
id = "alpha.*"
unit = "second"
max = 1.2e-6
[[target]]
id = "beta.*.p99"
unit = "second"
max = 5e-3
[[target]]
id = "gamma.*"
unit = "byte"
max = 4096
"""


def _cache(name: str) -> Path:
    """A generated input kept between runs, named by the generator's version and the history's
    schema (its last migration), so a checkout with another schema makes its own."""
    from perfkit_report import MIGRATIONS

    schema = MIGRATIONS[-1].name.split("_", 1)[0]
    return Path(tempfile.gettempdir()) / f"perfkit-toolkit-v{GENERATOR_VERSION}-s{schema}-{name}"


def _shape() -> list[tuple[str, str, str, float]]:
    """(id, kind, unit, base value) for the 100 synthetic benchmarks: times, bytes, latency
    triples, with references; 20 of them get a step and 10 a slow drift (see _value)."""
    shape: list[tuple[str, str, str, float]] = []
    for index in range(BENCHMARKS):
        suite = SUITES[index % len(SUITES)]
        if suite == "gamma":
            shape.append((f"gamma.footprint_{index}", "bytes", "byte", 1000.0 + 10 * index))
        elif suite == "beta" and len(shape) + 3 <= BENCHMARKS and index % 10 == 1:
            for percentile, factor in (("p50", 1.0), ("p95", 4.0), ("p99", 9.0)):
                shape.append(
                    (f"beta.load_{index}.{percentile}", "latency", "second", 2e-4 * factor)
                )
        else:
            shape.append((f"{suite}.op_{index}", "time", "second", 1e-6 * (1 + index % 7)))
    return shape[:BENCHMARKS]


def _value(index: int, base: float, run: int, runs: int, rng: random.Random) -> float:
    if index % 5 == 0 and run >= runs * (0.3 + (index % 3) / 10):
        base *= 1.15  # a step: 20 benchmarks regress by 15 % at some point
    if index % 10 == 3:
        base *= 1 + 0.1 * run / runs  # slow drift: +10 % over the history
    return base * (1 + rng.gauss(0, 0.04))


def _run(index: int, started: datetime, shape: Any, rng: random.Random) -> Any:
    from perfkit_report import ParsedResult, ParsedRun, summarize

    runs = DAYS * RUNS_PER_DAY
    results = []
    for position, (name, kind, unit, base) in enumerate(shape):
        center = _value(position, base, index, runs, rng)
        processes = [[center * (1 + rng.gauss(0, 0.02)) for _ in range(3)] for _ in range(3)]
        metadata: dict[str, Any] = {"perfkit_kind": kind}
        if kind == "time" and position % 4 == 0 and position + 1 < len(shape):
            metadata["perfkit_reference"] = shape[position + 1][0]
        metric = name.rpartition(".")[2] if kind == "latency" else kind
        results.append(
            ParsedResult(
                benchmark=name,
                metric=metric,
                unit=unit,
                target=name.split(".")[0],
                suite=name.split(".")[0],
                summary=summarize(processes),
                samples=tuple(value for values in processes for value in values),
                metadata=metadata,
            )
        )
    moment = started.isoformat()
    return ParsedRun(
        run_key=f"toolkit-{index}",
        source=f"/synthetic/{index}.json",
        started=moment,
        finished=moment,
        commit_sha=f"{index:08x}" + "0" * 32,
        branch="main",
        dirty=False,
        mode="default",
        fingerprint={"python": "CPython 3.11.7"},
        tool_versions={},
        failed=(),
        results=tuple(results),
    )


def history_path() -> Path:
    """The cached synthetic history, built on first use (atomically: concurrent workers race
    to build it and the last rename wins, each rename a complete file)."""
    from perfkit_report import History

    path = _cache(f"{DAYS}x{BENCHMARKS}x{RUNS_PER_DAY}.db")
    if path.exists():
        return path
    building = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    rng = random.Random(5)
    shape = _shape()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with History.open(building) as history:
        for day in range(DAYS):
            for slot in range(RUNS_PER_DAY):
                moment = start + timedelta(days=day, hours=8 + slot)
                history.store(_run(day * RUNS_PER_DAY + slot, moment, shape, rng))
        history.to_single_file()  # one self-contained file to rename
    os.replace(building, path)
    return path


def _render(out: Path) -> Path:
    from perfkit_report import History, parse_targets, render_report

    with History.open(history_path()) as history:
        report = render_report(history, out, parse_targets(TARGETS, "toolkit targets"))
    return report.html


@benchmark(
    "toolkit.render", target="report", params={"days": DAYS, "benchmarks": BENCHMARKS}, clock="wall"
)
def render(loops: int) -> float:
    """Render index.html, report.md and analysis.md from the synthetic history (inv report)."""
    history_path()  # build outside the timed region
    with tempfile.TemporaryDirectory() as out:
        start = timer()
        for _ in range(loops):
            _render(Path(out))
        return timer() - start


@benchmark("toolkit.render_html_size", target="report", kind="bytes")
def render_html_size() -> float:
    """Bytes of index.html rendered from the synthetic history."""
    with tempfile.TemporaryDirectory() as out:
        return float(_render(Path(out)).stat().st_size)


def ingest_file() -> Path:
    """A cached perfkit-style result file: INGEST_RESULTS benchmarks of 20 processes x 3 values
    (perfkit-bench's default mode) with the metadata perfkit-bench writes."""
    import json

    import pyperf

    path = _cache(f"ingest-{INGEST_RESULTS}.json")
    if path.exists():
        return path
    rng = random.Random(7)
    run_metadata = {
        "perfkit_run_id": uuid.uuid4().hex,
        "perfkit_version": "0.1.0",
        "perfkit_mode": "default",
        "perfkit_started": "2026-11-20T10:00:00+00:00",
        "perfkit_finished": "2026-11-20T10:05:00+00:00",
        "perfkit_commit": "0123456789abcdef0123456789abcdef01234567",
        "perfkit_branch": "main",
        "perfkit_dirty": "false",
        "perfkit_cpu_model": "synthetic",
        "perfkit_cpu_count": 2,
        "perfkit_kernel": "Linux 6.1.0",
        "perfkit_python": "CPython 3.11.7",
        "perfkit_load_avg": "0.50,0.50,0.50",
        "perfkit_libraries": json.dumps({"pyperf": "2.10.0"}),
        "perfkit_failed": "[]",
    }
    benchmarks = []
    for index in range(INGEST_RESULTS):
        metadata = {
            **run_metadata,
            "name": f"ingest.op_{index}",
            "unit": "second",
            "perfkit_target": "report",
            "perfkit_suite": "ingest",
            "perfkit_kind": "time",
            "perfkit_params": "{}",
            "perfkit_channels": "time",
            "perfkit_func": "benchmarks.ingest:op",
            "perfkit_inner_loops": 1,
        }
        runs = [
            pyperf.Run(
                [1e-6 * (1 + rng.random()) for _ in range(3)],
                metadata=metadata,
                collect_metadata=False,
            )
            for _ in range(20)
        ]
        benchmarks.append(pyperf.Benchmark(runs))
    building = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    pyperf.BenchmarkSuite(benchmarks).dump(str(building))
    os.replace(building, path)
    return path


@benchmark("toolkit.ingest", target="report", inner_loops=INGEST_RESULTS, clock="wall")
def ingest(loops: int) -> float:
    """perfkit-report ingest of one result file (read with pyperf, validate, store in one
    transaction), per result."""
    from perfkit_report import History

    source = ingest_file()
    elapsed = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for loop in range(loops):
            # A fresh history each loop: re-ingesting the same file would be a no-op.
            with History.open(Path(folder) / f"h{loop}.db") as history:
                start = timer()
                history.ingest(source)
                elapsed += timer() - start
    return elapsed


@benchmark("toolkit.ingest_store", target="report", inner_loops=INGEST_RESULTS, clock="wall")
def ingest_store(loops: int) -> float:
    """The database half of an ingest: one parsed run written in one transaction, per result."""
    import dataclasses

    from perfkit_report import History, read_result_file

    parsed = read_result_file(ingest_file())
    elapsed = 0.0
    with tempfile.TemporaryDirectory() as folder, History.open(Path(folder) / "h.db") as history:
        for loop in range(loops):
            run = dataclasses.replace(parsed, run_key=f"{parsed.run_key}-{loop}")
            start = timer()
            history.store(run)
            elapsed += timer() - start
    return elapsed
