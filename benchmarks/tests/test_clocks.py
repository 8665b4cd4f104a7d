"""Every time benchmark declares the clock that fits where its work runs, and times itself with it.

The declared clock decides what the regression gate measures (docs/benchmarks.md, "Clocks"): a
CPU clock that misses work, or a wall clock on work a CPU clock would measure beside a busy
neighbour, makes the gate blind or noisy. So the declarations are checked against behaviour: each
workload is run once under three clocks read at the same moments (its own perfkit_bench.timer()
readings), and

- ``thread``: the measuring thread did (nearly) all the process's CPU work;
- ``process``: a real share of the CPU work ran on other threads (worker threads);
- ``wall``: the benchmark waits by nature (SQLite and files, sleeping handlers, another process),
  or its work leaves the measuring thread while that thread blocks (a blocking ask).

The two CPU clocks are compared with each other, never with wall time, so the check holds on a
loaded machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1]

# Suites whose time benchmarks all wait: SQLite on disk, perfkit-report's files.
WAITING_SUITES = {"database_queries", "toolkit"}
# Ids that wait by design: sleeping handlers, another process (worker processes, IPC, Ray), or
# the wall time of several cores working together.
WAITING_IDS = (
    "concurrent_load.workers.",
    "concurrent_load.scaling.",
    "memory_usage.transfer.",
    "message_throughput.tell.processes",
    "message_throughput.ask.processes",
    "message_throughput.reference.mp_",
    "message_throughput.reference.faster_fifo",
    "message_throughput.tell.ray",
    "message_throughput.ask.ray",
    "message_throughput.reference.ray_",
)
# The measuring thread's share of the process's CPU time above which the work is "in the thread"
# (sync and asyncio workloads measure 0.97-1.00 here; threads mode 0.3-0.7).
IN_THREAD = 0.9

# Runs in the suite's own process: every time benchmark once, with loops doubled until a call
# does 20 ms of CPU work (or lasts 1 s: benchmarks that wait), timer() reading thread_time,
# process_time and perf_counter at the same moments. CPU work, not wall time: on a loaded machine
# 20 ms of wall time held 0.25 ms of work, and a fixed cost on another thread then read as 10 %.
PROBE = r"""
import json, sys, time
from perfkit_bench._clock import reading
from perfkit_bench._discovery import load_suite
from perfkit_bench._worker import workload

CLOCKS = (time.thread_time, time.process_time, time.perf_counter)

class Three:
    def __init__(self):
        self.count, self.starts, self.totals = 0, [0.0] * 3, [0.0] * 3
    def __call__(self):
        self.count += 1
        now = [clock() for clock in CLOCKS]
        if self.count % 2:
            self.starts = now
        else:
            self.totals = [t + n - s for t, n, s in zip(self.totals, now, self.starts)]
        return now[0]

found = {}
for spec in load_suite(sys.argv[1]):
    if spec.kind != "time":
        continue
    func, loops = workload(spec), 1
    while True:
        three = Three()
        with reading(three):
            func(loops)
        if three.totals[1] >= 0.02 or three.totals[2] >= 1.0 or loops >= 4096:
            break
        loops *= 2
    found[spec.id] = {"clock": spec.clock, "readings": three.count, "thread": three.totals[0],
                      "process": three.totals[1], "wall": three.totals[2]}
print(json.dumps(found))
"""


def _suites() -> list[str]:
    return sorted(p.stem for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def _measured(suite: str) -> dict[str, dict[str, float | str]]:
    env = {**os.environ, "PERFKIT_BENCH_ROWS": "20000", "PERFKIT_TOOLKIT_DAYS": "2"}
    env["PYTHONPATH"] = os.pathsep.join([str(BENCHMARKS), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(BENCHMARKS / f"{suite}.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured: dict[str, dict[str, float | str]] = json.loads(done.stdout.splitlines()[-1])
    return measured


def _problem(bench_id: str, found: dict[str, float | str]) -> str | None:
    clock, thread, process = found["clock"], float(found["thread"]), float(found["process"])
    share = thread / process if process > 0 else 1.0
    suite = bench_id.split(".", 1)[0]
    if found["readings"] == 0 or int(found["readings"]) % 2:
        return "does not time its loop with perfkit_bench.timer() in start/stop pairs"
    if clock == "thread" and share < IN_THREAD:
        return f"declares thread but only {share:.0%} of its CPU time is in the measuring thread"
    if clock == "process" and share >= IN_THREAD:
        return f"declares process but {share:.0%} of its CPU time is in the measuring thread"
    waits = suite in WAITING_SUITES or bench_id.startswith(WAITING_IDS)
    if clock == "wall" and not waits and share >= IN_THREAD:
        return (
            f"declares wall but does not wait: {share:.0%} of its CPU time is in the measuring "
            "thread (declare thread)"
        )
    if clock != "wall" and waits:
        return f"waits by design (SQLite, files, sleeps, another process) but declares {clock}"
    return None


@pytest.mark.slow
@pytest.mark.parametrize("suite", _suites())
def test_declared_clocks_fit_where_the_work_runs(suite: str) -> None:
    measured = _measured(suite)
    problems = {
        bench_id: problem
        for bench_id, found in measured.items()
        if (problem := _problem(bench_id, found)) is not None
    }
    assert not problems, json.dumps({k: [problems[k], measured[k]] for k in problems}, indent=1)
