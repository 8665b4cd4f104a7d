"""perfkit-bench run, end to end with real pyperf worker processes and tiny knobs.

One run of a mixed suite (time, grid, bytes, count, latency, raising, hanging, zero-valued) is
shared by most tests of this module: it is the expensive part (~15 s here).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf
import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]
WriteSuite = Callable[..., Path]

DEMO = '''
import time

from perfkit_bench import benchmark


@benchmark("demo.sum", target="math", inner_loops=10, params={"n": 100},
           reference="demo.reference.builtin")
def sum_loop(loops: int) -> float:
    """Sum a short list."""
    data = list(range(100))
    t0 = time.perf_counter()
    for _ in range(loops):
        for _ in range(10):
            sum(data)
    return time.perf_counter() - t0


@benchmark("demo.grid.{n}", target="math", params_grid={"n": [1, 50]})
def grid(loops: int, *, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(n))
    # A tiny floor keeps the value > 0 even on a coarse clock.
    return max(time.perf_counter() - t0, 1e-9)


@benchmark("demo.footprint", target="memory", kind="bytes")
def footprint() -> float:
    return 4096.0


@benchmark("demo.load", target="load", kind="latency")
def load() -> dict[str, float]:
    return {"p50": 0.001, "p95": 0.002, "p99": 0.004, "throughput": 2500.0, "drops": 0.0}


@benchmark("demo.boom", target="math")
def boom(loops: int) -> float:
    raise ValueError("the workload broke")


@benchmark("demo.hang", target="math", timeout=3)
def hang(loops: int) -> float:
    time.sleep(3600)
    return 1.0


@benchmark("demo.zero", target="memory", kind="bytes")
def zero() -> float:
    return 0.0
'''

OTHER = """
from perfkit_bench import benchmark


@benchmark("other.objects", target="memory", kind="count")
def objects() -> int:
    return 12
"""

SAMPLED_KNOBS = {"processes": 2, "values": 2}
CALIBRATED = ["--processes", "2", "--values", "2", "--warmups", "0", "--min-time", "0.001"]


@dataclass
class Outcome:
    workspace: Path
    done: subprocess.CompletedProcess[str]
    elapsed: float
    path: Path
    suite: Any


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    workspace = tmp_path_factory.mktemp("workspace")
    (workspace / "benchmarks").mkdir()
    (workspace / "benchmarks" / "demo.py").write_text(textwrap.dedent(DEMO))
    (workspace / "benchmarks" / "other.py").write_text(textwrap.dedent(OTHER))
    start = time.monotonic()
    done = subprocess.run(
        # min-time instead of --loops: this run goes through pyperf's loop calibration.
        [sys.executable, "-m", "perfkit_bench", "run", *CALIBRATED],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    elapsed = time.monotonic() - start
    path = workspace / done.stdout.strip()
    suite = pyperf.BenchmarkSuite.load(str(path)) if done.stdout.strip() else None
    return Outcome(workspace, done, elapsed, path, suite)


def bench(outcome: Outcome, name: str) -> Any:
    return outcome.suite.get_benchmark(name)


def test_exit_code_one_when_a_benchmark_failed(outcome: Outcome) -> None:
    assert outcome.done.returncode == 1, outcome.done.stderr


def test_default_output_name(outcome: Outcome) -> None:
    relative = outcome.done.stdout.strip()
    assert re.fullmatch(r"results/\d{8}T\d{6}Z-nocommit\.json", relative), relative
    assert outcome.path.is_file()


def test_benchmark_names(outcome: Outcome) -> None:
    assert sorted(outcome.suite.get_benchmark_names()) == sorted(
        [
            "demo.sum",
            "demo.grid.1",
            "demo.grid.50",
            "demo.footprint",
            "demo.load.p50",
            "demo.load.p95",
            "demo.load.p99",
            "demo.load.throughput",
            "other.objects",
        ]
    )


def test_units(outcome: Outcome) -> None:
    units = {b.get_name(): b.get_unit() for b in outcome.suite.get_benchmarks()}
    assert units["demo.sum"] == "second"
    assert units["demo.grid.1"] == "second"
    assert units["demo.footprint"] == "byte"
    assert units["other.objects"] == "integer"
    assert units["demo.load.p50"] == units["demo.load.p99"] == "second"
    assert units["demo.load.throughput"] == "integer"


def test_values_come_from_separate_processes(outcome: Outcome) -> None:
    timed = bench(outcome, "demo.sum")
    runs = [run for run in timed.get_runs() if run.values]
    assert len(runs) == 2  # --processes 2
    assert all(len(run.values) == 2 for run in runs)  # --values 2
    assert timed.get_metadata()["inner_loops"] == 10
    assert all(0 < value < 0.01 for value in timed.get_values())  # per sum(), not per loop

    footprint = bench(outcome, "demo.footprint")
    assert footprint.get_nrun() == SAMPLED_KNOBS["processes"]
    assert footprint.get_values() == (4096.0,) * 4
    assert bench(outcome, "demo.load.throughput").get_values() == (2500.0,) * 4
    assert bench(outcome, "other.objects").get_values() == (12,) * 4


def test_per_benchmark_metadata(outcome: Outcome) -> None:
    meta = bench(outcome, "demo.sum").get_metadata()
    assert meta["perfkit_target"] == "math"
    assert meta["perfkit_suite"] == "demo"
    assert meta["perfkit_kind"] == "time"
    assert json.loads(meta["perfkit_params"]) == {"n": 100}
    assert meta["perfkit_reference"] == "demo.reference.builtin"
    assert meta["perfkit_channels"] == "time"
    assert meta["perfkit_func"] == "demo:sum_loop"
    assert meta["perfkit_inner_loops"] == 10

    grid = bench(outcome, "demo.grid.50").get_metadata()
    assert json.loads(grid["perfkit_params"]) == {"n": 50}
    assert json.loads(grid["perfkit_call_kwargs"]) == {"n": 50}
    assert "perfkit_reference" not in grid

    load = bench(outcome, "demo.load.p95").get_metadata()
    assert load["perfkit_kind"] == "latency"
    assert load["perfkit_func"] == "demo:load"
    # drops=0 cannot be stored by pyperf: left out and named, not a failure.
    assert load["perfkit_omitted"] == "drops"
    assert "perfkit_omitted" not in bench(outcome, "demo.footprint").get_metadata()
    assert bench(outcome, "demo.footprint").get_metadata()["perfkit_kind"] == "bytes"
    assert bench(outcome, "other.objects").get_metadata()["perfkit_suite"] == "other"


RUN_KEYS = {
    "perfkit_run_id",
    "perfkit_version",
    "perfkit_mode",
    "perfkit_started",
    "perfkit_finished",
    "perfkit_cpu_model",
    "perfkit_cpu_count",
    "perfkit_kernel",
    "perfkit_python",
    "perfkit_load_avg",
    "perfkit_libraries",
    "perfkit_failed",
}


def test_run_level_metadata_on_every_benchmark(outcome: Outcome) -> None:
    run_ids = set()
    for timed in outcome.suite.get_benchmarks():
        meta = timed.get_metadata()
        assert set(meta) >= RUN_KEYS, timed.get_name()
        run_ids.add(meta["perfkit_run_id"])
    meta = bench(outcome, "demo.sum").get_metadata()
    assert len(run_ids) == 1
    assert re.fullmatch(r"[0-9a-f]{32}", meta["perfkit_run_id"])
    assert meta["perfkit_mode"] == "custom"
    started = meta["perfkit_started"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", started)
    assert started <= meta["perfkit_finished"]
    assert "pyperf" in json.loads(meta["perfkit_libraries"])
    # tmp_path is not a git checkout
    assert "perfkit_commit" not in meta


def test_failures_recorded(outcome: Outcome) -> None:
    failed = json.loads(bench(outcome, "demo.sum").get_metadata()["perfkit_failed"])
    by_id = {f["id"]: f for f in failed}
    assert set(by_id) == {"demo.boom", "demo.hang", "demo.zero"}
    assert by_id["demo.boom"]["kind"] == "error"
    assert by_id["demo.boom"]["error"] == "ValueError: the workload broke (exit code 1)"
    assert by_id["demo.hang"]["kind"] == "timeout"
    assert "3 s" in by_id["demo.hang"]["error"]
    assert by_id["demo.zero"]["kind"] == "error"
    assert "only finite values > 0" in by_id["demo.zero"]["error"]
    for failure in failed:
        assert f"FAILED {failure['id']} ({failure['kind']})" in outcome.done.stderr


def test_zero_latency_extras_are_omitted_across_processes() -> None:
    from perfkit_bench._run._orchestrator import _merge_processes
    from perfkit_bench._spec import BenchmarkSpec

    spec = BenchmarkSpec(
        id="s.load",
        suite="s",
        target="load",
        kind="latency",
        unit="second",
        inner_loops=1,
        params={},
        reference=None,
        channels=("time",),
        timeout=None,
        func="s:load",
        description="",
    )

    def process(keys: list[str], omitted: str) -> Any:
        metadata = {"unit": "second"} | ({"perfkit_omitted": omitted} if omitted else {})
        return pyperf.BenchmarkSuite(
            [
                pyperf.Benchmark([pyperf.Run([1.0], metadata={**metadata, "name": f"s.load.{k}"})])
                for k in keys
            ]
        )

    merged = _merge_processes(
        spec,
        [process(["p50", "p95", "p99", "errors"], ""), process(["p50", "p95", "p99"], "errors")],
    )
    assert merged.get_benchmark_names() == ["s.load.p50", "s.load.p95", "s.load.p99"]
    for result in merged.get_benchmarks():
        assert result.get_nrun() == 2
        assert result.get_metadata()["perfkit_omitted"] == "errors"


def test_hang_killed_within_bound(
    outcome: Outcome, live_processes: Callable[[str], list[str]]
) -> None:
    line = next(ln for ln in outcome.done.stderr.splitlines() if "demo.hang FAILED" in ln)
    seconds = float(re.search(r" in (\d+\.\d) s", line).group(1))  # type: ignore[union-attr]
    # 3 s timeout + the kill and reap; generous for a loaded 2-core machine.
    assert 3.0 <= seconds < 8.0, line
    assert live_processes(str(outcome.workspace)) == []


def test_plain_progress_lines(outcome: Outcome) -> None:
    stderr = outcome.done.stderr
    assert "running 9 benchmarks" in stderr
    assert "[1/9] demo.sum ok in " in stderr
    assert re.search(r"done in \d", stderr)


def test_pyperf_show_reads_the_file(outcome: Outcome) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "pyperf", "show", str(outcome.path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "demo.footprint" in shown.stdout
    assert "4096 bytes" in shown.stdout


def test_refuses_to_overwrite_without_force(outcome: Outcome, run_cli: RunCli) -> None:
    before = outcome.path.read_bytes()
    done = run_cli("run", "-k", "footprint", "--output", str(outcome.path), cwd=outcome.workspace)
    assert done.returncode == 2
    assert "File already exists, will not overwrite without --force" in done.stderr
    assert str(outcome.path) in done.stderr
    assert outcome.path.read_bytes() == before


def test_force_overwrites(run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite("other", OTHER)
    output = tmp_path / "out.json"
    output.write_text("old")
    done = run_cli(
        "run", "-p", "1", "-n", "1", "--output", str(output), "--force", "-q", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(output)
    assert done.stderr == ""  # --quiet
    assert pyperf.BenchmarkSuite.load(str(output)).get_benchmark_names() == ["other.objects"]


def test_all_failed_writes_nothing(
    run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path
) -> None:
    write_suite("demo", DEMO)
    done = run_cli("run", "-k", "demo.boom", "--loops", "1", "-p", "1", "-n", "1", cwd=tmp_path)
    assert done.returncode == 1
    assert "FAILED demo.boom (error): ValueError: the workload broke" in done.stderr
    assert "no result file written" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "results").exists()


def test_filters_choose_what_runs(
    run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path, tiny: list[str]
) -> None:
    write_suite("demo", DEMO)
    write_suite("other", OTHER)
    done = run_cli(
        "run", "--target", "memory", "-k", "*.foot*", *tiny, "-o", "r.json", "-q", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    names = pyperf.BenchmarkSuite.load(str(tmp_path / "r.json")).get_benchmark_names()
    assert names == ["demo.footprint"]


def test_mode_and_affinity_reach_the_workers(
    run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path
) -> None:
    write_suite("other", OTHER)
    done = run_cli("run", "--fast", "--affinity", "0", "-o", "r.json", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = pyperf.BenchmarkSuite.load(str(tmp_path / "r.json")).get_benchmark("other.objects")
    meta = result.get_metadata()
    assert meta["perfkit_mode"] == "fast"
    assert result.get_nrun() == 3  # fast: 3 processes for sampled kinds
    if (os.cpu_count() or 1) > 1:
        assert meta["cpu_affinity"] == "0"


def test_suite_folder_reaches_pyperf_workers(
    run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path, tiny: list[str]
) -> None:
    # The workload imports a helper next to the suite at call time, inside pyperf's workers,
    # whose environment pyperf strips.
    write_suite("_helper", "VALUE = 3\n")
    write_suite(
        "helped",
        """
        import time
        from perfkit_bench import benchmark

        @benchmark("helped.x")
        def f(loops):
            import _helper
            t0 = time.perf_counter()
            for _ in range(loops * _helper.VALUE):
                pass
            return max(time.perf_counter() - t0, 1e-9)
        """,
    )
    done = run_cli("run", *tiny, "-o", "r.json", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "")],
)
def test_interrupt_kills_workers(
    signum: signal.Signals,
    code: int,
    message: str,
    write_suite: WriteSuite,
    tmp_path: Path,
    live_processes: Callable[[str], list[str]],
) -> None:
    write_suite(
        "sleepy",
        """
        import time
        from perfkit_bench import benchmark

        @benchmark("sleepy.forever")
        def forever(loops):
            time.sleep(3600)
            return 1.0
        """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "perfkit_bench", "run", "--loops", "1", "-p", "1", "-n", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A process inherits an ignored SIGINT (a shell's background job, nohup), and Python
        # then never raises KeyboardInterrupt: give the command Ctrl-C as a terminal would.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 30
        while not any("--worker" in c for c in live_processes(str(tmp_path))):
            assert time.monotonic() < deadline, "the pyperf worker never started"
            time.sleep(0.1)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.terminate()  # lets the orchestrator kill its workers before it goes
            proc.communicate(timeout=20)
    assert proc.returncode == code, stderr
    assert message in stderr
    assert live_processes(str(tmp_path)) == []


def test_git_checkout_names_the_file(
    run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path
) -> None:
    write_suite("other", OTHER)
    git = ["git", "-C", str(tmp_path), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    for args in (["init", "-q", "-b", "main"], ["add", "benchmarks"], ["commit", "-q", "-m", "x"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    done = run_cli("run", "-p", "1", "-n", "1", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    relative = done.stdout.strip()
    assert re.fullmatch(rf"results/\d{{8}}T\d{{6}}Z-{commit[:12]}\.json", relative), relative
    meta = pyperf.BenchmarkSuite.load(str(tmp_path / relative)).get_metadata()
    assert meta["perfkit_commit"] == commit
    assert meta["perfkit_branch"] == "main"
    assert meta["perfkit_dirty"] == "false"  # results/ is untracked
    assert meta["perfkit_failed"] == "[]"


CLOCKED = """
import time
from perfkit_bench import benchmark, timer


@benchmark("cpu.thread", clock="thread", inner_loops=4)
def in_thread(loops: int) -> float:
    t0 = timer()
    for _ in range(loops):
        for _ in range(4):
            sum(range(500))
    return timer() - t0


@benchmark("cpu.wall", clock="wall")
def waits(loops: int) -> float:
    t0 = timer()
    time.sleep(0.0001 * loops)
    return timer() - t0


@benchmark("cpu.own", clock="thread")
def own(loops: int) -> float:
    t0 = time.perf_counter()
    sum(range(500 * loops))
    return time.perf_counter() - t0
"""


def test_cpu_time_is_recorded_beside_wall_time_from_the_same_loop(
    run_cli: RunCli, write_suite: WriteSuite, tmp_path: Path
) -> None:
    write_suite("cpu", CLOCKED)
    output = tmp_path / "out.json"
    done = run_cli("run", *CALIBRATED, "--output", str(output), "-q", cwd=tmp_path)
    assert done.returncode == 1  # cpu.own
    assert "cpu.own declares clock='thread' but it never read perfkit_bench.timer()" in done.stderr
    suite = pyperf.BenchmarkSuite.load(str(output))
    assert sorted(suite.get_benchmark_names()) == ["cpu.thread", "cpu.thread.cpu_time", "cpu.wall"]
    wall, cpu = suite.get_benchmark("cpu.thread"), suite.get_benchmark("cpu.thread.cpu_time")
    meta = cpu.get_metadata()
    assert (meta["perfkit_metric"], meta["perfkit_id"]) == ("cpu_time", "cpu.thread")
    assert meta["perfkit_clock"] == "thread_time"
    assert wall.get_metadata()["perfkit_clock"] == "perf_counter"
    # The other perfkit keys of <id>, run-level ones included.
    for key in ("perfkit_kind", "perfkit_suite", "perfkit_func", "perfkit_run_id", "inner_loops"):
        assert meta[key] == wall.get_metadata()[key], key
    assert "perfkit_metric" not in wall.get_metadata()
    # One CPU value beside each wall value, per worker process, in the same order: the loop's
    # CPU time never exceeds its wall time (one thread), and rarely falls far below it.
    wall_runs = [run for run in wall.get_runs() if run.values]
    assert [len(run.values) for run in cpu.get_runs()] == [len(run.values) for run in wall_runs]
    for cpu_run, wall_run in zip(cpu.get_runs(), wall_runs, strict=True):
        assert cpu_run.get_metadata()["loops"] == wall_run.get_metadata()["loops"]
        for cpu_value, wall_value in zip(cpu_run.values, wall_run.values, strict=True):
            assert 0 < cpu_value <= wall_value * 1.01
