"""perfkit-bench instructions, end to end with the real valgrind on a tiny suite.

Most tests share one command (fixed N, two repeats): every counted process pays ~160 M
instructions of interpreter start-up and imports, 1-3 s under valgrind here, so the suite is
small and N is fixed rather than calibrated. Without valgrind these tests fail rather than skip:
CI installs it (.ci/run), and a skipped channel would look like a working one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf
import pytest

from perfkit_bench._instructions import VALGRIND_MISSING, parse_instructions

RunCli = Callable[..., subprocess.CompletedProcess[str]]
WriteSuite = Callable[..., Path]

SUITE = '''
import os
import time

from perfkit_bench import benchmark

COUNTED = ("time", "instructions")
UNDER_VALGRIND = "vgpreload" in os.environ.get("LD_PRELOAD", "")


def _work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


@benchmark("tiny.work1", target="math", channels=COUNTED)
def work1(loops):
    t0 = time.perf_counter()
    for _ in range(loops):
        _work(300)
    return time.perf_counter() - t0


@benchmark("tiny.work2", target="math", channels=COUNTED)
def work2(loops):
    """Twice the work of tiny.work1 per operation."""
    t0 = time.perf_counter()
    for _ in range(loops):
        _work(600)
    return time.perf_counter() - t0


@benchmark("tiny.setup_only", target="math", inner_loops=10, channels=COUNTED)
def setup_only(loops):
    """Heavy set-up (tens of millions of instructions), an empty operation."""
    table = [_work(2000) for _ in range(200)]
    assert table
    t0 = time.perf_counter()
    for _ in range(loops):
        for _ in range(10):
            pass
    return time.perf_counter() - t0


@benchmark("tiny.footprint", target="memory", kind="bytes", channels=COUNTED)
def footprint():
    return 1.0


@benchmark("tiny.crash", target="math", channels=COUNTED)
def crash(loops):
    if UNDER_VALGRIND and loops:
        os.abort()
    return 1e-6


@benchmark("tiny.hang", target="slow", channels=COUNTED, timeout=3)
def hang(loops):
    if UNDER_VALGRIND:
        time.sleep(600)
    return 1e-6


@benchmark("tiny.idle", target="slow", channels=COUNTED)
def idle(loops):
    if UNDER_VALGRIND:
        time.sleep(600)
    return 1e-6


@benchmark("tiny.time_only", target="math")
def time_only(loops):
    return 1e-6
'''

ITERATIONS = 200
INSTRUCTIONS = [sys.executable, "-m", "perfkit_bench", "instructions", "--suites", "benchmarks"]


@dataclass(frozen=True)
class Counted:
    proc: subprocess.CompletedProcess[str]
    output: Path
    seconds: float

    def suite(self) -> Any:
        return pyperf.BenchmarkSuite.load(str(self.output))

    def values(self, name: str) -> list[float]:
        return list(self.suite().get_benchmark(name).get_values())


def _counted_env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> Counted:
    """One command on work1, work2, setup_only, footprint and crash: N fixed, two repeats."""
    root = tmp_path_factory.mktemp("instructions")
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "tiny.py").write_text(SUITE, encoding="utf-8")
    output = root / "out.json"
    began = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit_bench",
            "instructions",
            "--suites",
            "benchmarks",
            "-k",
            "tiny.[wsfc]*",
            "--iterations",
            str(ITERATIONS),
            "--repeat",
            "2",
            "-o",
            str(output),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        env=_counted_env(),
        check=False,
    )
    return Counted(proc, output, time.monotonic() - began)


def test_valgrind_is_installed() -> None:
    assert shutil.which("valgrind"), "install valgrind (apt-get install valgrind)"


@pytest.mark.slow
def test_failures_are_recorded_and_the_others_go_on(counted: Counted) -> None:
    assert counted.proc.returncode == 1, counted.proc.stderr
    assert counted.proc.stdout.strip() == str(counted.output)
    names = sorted(counted.suite().get_benchmark_names())
    assert names == ["tiny.setup_only", "tiny.work1", "tiny.work2"]
    failed = json.loads(counted.suite().get_metadata()["perfkit_failed"])
    by_id = {item["id"]: item for item in failed}
    assert sorted(by_id) == ["tiny.crash", "tiny.footprint"]
    assert "kind='bytes'" in by_id["tiny.footprint"]["error"]
    assert "under valgrind" in by_id["tiny.crash"]["error"]
    assert "FAILED tiny.crash (error)" in counted.proc.stderr


@pytest.mark.slow
def test_counts_repeat_exactly(counted: Counted) -> None:
    for name in ("tiny.work1", "tiny.work2", "tiny.setup_only"):
        values = counted.values(name)
        assert len(values) == 2, name
        assert values[0] == values[1], (name, values)
        runs = counted.suite().get_benchmark(name).get_runs()
        totals = {run.get_metadata()["perfkit_instructions_total"] for run in runs}
        assert len(totals) == 1, (name, totals)


@pytest.mark.slow
def test_twice_the_work_counts_about_twice(counted: Counted) -> None:
    [one] = set(counted.values("tiny.work1"))
    [two] = set(counted.values("tiny.work2"))
    assert one > 5_000  # 300 iterations of Python arithmetic
    assert 1.8 < two / one < 2.2


@pytest.mark.slow
def test_harness_and_setup_are_subtracted(counted: Counted) -> None:
    # setup_only spends tens of millions of instructions in its set-up and nothing per operation
    # but a loop step; without the zero-loop run it would report ~200 M / (200 x 10) = 100 k.
    [empty] = set(counted.values("tiny.setup_only"))
    [work] = set(counted.values("tiny.work1"))
    assert 0 < empty < 500
    assert empty < work / 20
    run = counted.suite().get_benchmark("tiny.setup_only").get_runs()[0].get_metadata()
    assert run["perfkit_instructions_harness"] > 100_000_000
    per_op = (run["perfkit_instructions_total"] - run["perfkit_instructions_harness"]) / (
        ITERATIONS * 10
    )
    assert per_op == pytest.approx(empty)


@pytest.mark.slow
def test_metadata_names_the_channel(counted: Counted) -> None:
    bench = counted.suite().get_benchmark("tiny.work1")
    meta = bench.get_metadata()
    assert bench.get_unit() == "integer"
    assert meta["perfkit_channel"] == "instructions"
    assert meta["perfkit_metric"] == "instructions"
    assert meta["perfkit_iterations"] == ITERATIONS
    assert meta["loops"] == ITERATIONS
    assert meta["perfkit_hash_seed"] == 0
    assert str(meta["perfkit_valgrind"]).startswith("valgrind-")
    # The spec's own keys, as `run` writes them, and the run-level keys.
    assert meta["perfkit_kind"] == "time"
    assert meta["perfkit_channels"] == "time,instructions"
    assert meta["perfkit_func"] == "tiny:work1"
    assert meta["perfkit_target"] == "math"
    assert "perfkit_run_id" in meta
    assert "perfkit_calibration_seconds" not in meta  # N was fixed


@pytest.mark.slow
def test_another_command_with_the_same_loops_counts_the_same(
    counted: Counted, run_cli: RunCli, tmp_path: Path
) -> None:
    # A new command (its own temporary harness folders) and another selection: with the loops
    # taken from the first file, the count per operation is the same to the last digit. Same
    # suite file: its path shapes the heap the loop starts from (docs/benchmarks.md, caveats).
    out = tmp_path / "again.json"
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--only",
        "tiny.work1",
        "--iterations-from",
        str(counted.output),
        "--repeat",
        "1",
        "-o",
        str(out),
        cwd=counted.output.parent,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    again = pyperf.BenchmarkSuite.load(str(out)).get_benchmark("tiny.work1")
    assert again.get_metadata()["perfkit_iterations"] == ITERATIONS
    assert list(again.get_values()) == counted.values("tiny.work1")[:1]


def test_iterations_from_a_file_that_is_not_an_instructions_file(
    write_suite: WriteSuite, run_cli: RunCli, tmp_path: Path
) -> None:
    write_suite("tiny", SUITE)
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--iterations-from",
        "bad.json",
        "-o",
        "x.json",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "--iterations-from bad.json" in done.stderr


@pytest.mark.slow
def test_calibrated_loops_are_a_power_of_two(
    write_suite: WriteSuite, run_cli: RunCli, tmp_path: Path
) -> None:
    write_suite("tiny", SUITE)
    out = tmp_path / "cal.json"
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--only",
        "tiny.work1",
        "--repeat",
        "1",
        "-o",
        str(out),
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    meta = pyperf.BenchmarkSuite.load(str(out)).get_benchmark("tiny.work1").get_metadata()
    loops = meta["perfkit_iterations"]
    assert loops >= 1
    assert loops & (loops - 1) == 0
    assert meta["perfkit_calibration_seconds"] > 0


def test_missing_valgrind_exits_2(write_suite: WriteSuite, tmp_path: Path) -> None:
    write_suite("tiny", SUITE)
    empty = tmp_path / "no-valgrind-here"
    empty.mkdir()
    done = subprocess.run(
        [*INSTRUCTIONS, "-o", "out.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**_counted_env(), "PATH": str(empty)},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == f"perfkit-bench: error: {VALGRIND_MISSING}"
    assert not (tmp_path / "out.json").exists()


def test_only_benchmarks_declaring_the_channel(
    write_suite: WriteSuite, run_cli: RunCli, tmp_path: Path
) -> None:
    write_suite("tiny", SUITE)
    done = run_cli(
        "instructions", "--suites", "benchmarks", "-k", "time_only", "-o", "x.json", cwd=tmp_path
    )
    assert done.returncode == 2
    assert "declares the instructions channel" in done.stderr
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--only",
        "tiny.time_only",
        "-o",
        "x.json",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "not declared for the instructions channel" in done.stderr
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--only",
        "tiny.nope",
        "-o",
        "x.json",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "no such benchmark" in done.stderr


def test_every_benchmark_failing_writes_nothing(
    write_suite: WriteSuite, run_cli: RunCli, tmp_path: Path
) -> None:
    write_suite("tiny", SUITE)
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--only",
        "tiny.footprint",
        "-o",
        "x.json",
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "every selected benchmark failed" in done.stderr
    assert not (tmp_path / "x.json").exists()


@pytest.mark.slow
def test_a_hung_count_is_killed_at_the_timeout(
    write_suite: WriteSuite,
    run_cli: RunCli,
    tmp_path: Path,
    live_processes: Callable[[str], list[str]],
) -> None:
    # tiny.hang declares timeout=3 (seconds per process); tiny.work1 still gets its counts.
    suite = write_suite("tiny", SUITE)
    done = run_cli(
        "instructions",
        "--suites",
        "benchmarks",
        "--only",
        "tiny.hang",
        "--only",
        "tiny.work1",
        "--iterations",
        "10",
        "--repeat",
        "1",
        "-o",
        "x.json",
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stderr
    failed = json.loads(
        pyperf.BenchmarkSuite.load(str(tmp_path / "x.json")).get_metadata()["perfkit_failed"]
    )
    assert [(f["id"], f["kind"]) for f in failed] == [("tiny.hang", "timeout")]
    assert live_processes(str(suite)) == []


@pytest.mark.slow
def test_sigterm_kills_the_valgrind_processes(
    write_suite: WriteSuite, tmp_path: Path, live_processes: Callable[[str], list[str]]
) -> None:
    suite = write_suite("tiny", SUITE)
    proc = subprocess.Popen(
        [*INSTRUCTIONS, "--only", "tiny.idle", "--iterations", "1", "-q", "-o", "x.json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_counted_env(),
    )
    try:
        deadline = time.monotonic() + 60
        while not any("valgrind" in p for p in live_processes(str(suite))):
            assert time.monotonic() < deadline, "no valgrind process started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143
    assert live_processes(str(suite)) == []


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("==12== Cachegrind\n==12== \n==12== I   refs:      34,904,779\n", 34_904_779),
        ("==7== Cachegrind\n==7== I refs:        1,234\n", 1_234),
        # A forked child writes its own summary to the same log: the first process's counts.
        ("==5== Cachegrind\n==9== I   refs:   99\n==5== I   refs:   1,000\n", 1_000),
        ("==5== Cachegrind\n==5== error while loading shared libraries\n", None),
        ("", None),
    ],
)
def test_parse_instructions(log: str, expected: int | None) -> None:
    assert parse_instructions(log) == expected
