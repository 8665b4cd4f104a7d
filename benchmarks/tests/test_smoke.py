"""Every benchmark suite runs end to end in real pyperf worker processes, with tiny knobs.

Each suite must have an entry in SMOKE (a new suite without one fails the first test), and every
benchmark it declares must come back with a value and no recorded failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyperf
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1]

# One process, one value, no warm-up, one loop: enough to prove the workload runs and reports.
TINY = ["--processes", "1", "--values", "1", "--warmups", "0", "--loops", "1"]
# Extra knobs per suite (all get TINY); database_queries builds a 20 k-row database, not 1 M, and
# toolkit a 2-day synthetic history, not 90 days.
SMOKE: dict[str, list[str]] = {
    "agent_spawning": [],
    "message_throughput": [],
    "memory_usage": [],
    "database_queries": ["--inherit-environ", "PERFKIT_BENCH_ROWS"],
    "concurrent_load": [],
    "toolkit": ["--inherit-environ", "PERFKIT_TOOLKIT_DAYS"],
}


def suites() -> list[str]:
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_every_suite_has_a_smoke_test() -> None:
    assert suites(), f"no suites found in {BENCHMARKS}"
    assert set(suites()) == set(SMOKE), "add each new suite to SMOKE with its knobs"


def _listed(suite: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "perfkit_bench", "list", "--json", str(BENCHMARKS / f"{suite}.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    listed: list[dict[str, object]] = json.loads(out)
    return listed


@pytest.mark.slow
@pytest.mark.parametrize("suite", sorted(SMOKE))
def test_suite_runs_in_worker_processes(suite: str, tmp_path: Path) -> None:
    specs = _listed(suite)
    assert specs, f"suite {suite} declares no benchmark"
    output = tmp_path / f"{suite}.json"
    env = {**os.environ, "PERFKIT_BENCH_ROWS": "20000", "PERFKIT_TOOLKIT_DAYS": "2"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit_bench",
            "run",
            str(BENCHMARKS / f"{suite}.py"),
            *TINY,
            *SMOKE[suite],
            "--quiet",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = pyperf.BenchmarkSuite.load(str(output))
    names = set(result.get_benchmark_names())
    for spec in specs:
        bench_id = str(spec["id"])
        if spec["kind"] == "latency":
            expected = {f"{bench_id}.{key}" for key in ("p50", "p95", "p99")}
        else:
            expected = {bench_id}
        assert expected <= names, f"{bench_id} missing from the result: {sorted(names)[:10]}"
    for bench in result.get_benchmarks():
        metadata = bench.get_metadata()
        assert json.loads(str(metadata["perfkit_failed"])) == []
        assert metadata["perfkit_suite"] == suite
        assert all(v > 0 for v in bench.get_values()), bench.get_name()
