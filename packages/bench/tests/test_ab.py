"""perfkit-bench ab in process pairs (``--mode processes``), end to end: real worker processes of
two sides (both run by this test's interpreter) on two tiny suite folders written here, where the
head's workload does twice the work, a benchmark was removed and another added. The slice mode
(the default) has its own module, test_ab_slices.py.

One session is shared by most tests of this module (~10 s here); the others run their own small
sessions with the tiniest knobs that still go through real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
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

from perfkit_bench._ab import is_reference, pair_order
from perfkit_bench._worker import slowed

SUITE = """
import time

from perfkit_bench import benchmark

FACTOR = {factor}


@benchmark("demo.work", target="math", inner_loops=2)
def work(loops: int) -> float:
    # Timed in this thread's CPU time: the tests share two cores with whatever else runs, and
    # wall time then swings by 2x between processes; CPU time much less.
    t0 = time.thread_time()
    for _ in range(loops):
        for _ in range(2):
            sum(range(2000 * FACTOR))
    return time.thread_time() - t0


@benchmark("demo.footprint", target="memory", kind="bytes")
def footprint() -> float:
    return 4096.0 * FACTOR


@benchmark("demo.load", target="load", kind="latency")
def load() -> dict[str, float]:
    return {{"p50": 0.001, "p95": 0.002, "p99": 0.004, "throughput": 2500.0}}


@benchmark("demo.reference.bare", target="math")
def bare(loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(100))
    return time.perf_counter() - t0


@benchmark("demo.{one_sided}", target="math")
def one_sided(loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(100))
    return time.perf_counter() - t0
"""

# The tiniest knobs that still measure: 2 values per process, no warm-up, 5 ms values.
KNOBS = ["--mode", "processes", "--values", "2", "--warmups", "0", "--min-time", "0.005", "--quiet"]
SEED = 1234
PAIRS = 3


def write(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def ab(
    base: Path, head: Path, out: Path, *extra: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """``python -m perfkit_bench ab`` with this interpreter on both sides."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit_bench",
            "ab",
            "--base-python",
            sys.executable,
            "--base-suites",
            str(base),
            "--head-python",
            sys.executable,
            "--head-suites",
            str(head),
            "--out-dir",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )


def load(path: Path) -> dict[str, Any]:
    return {str(b.get_name()): b for b in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()}


def run_metadata(bench: Any, key: str) -> list[Any]:
    return [run.get_metadata()[key] for run in bench.get_runs()]


def pair_ratios(base: Any, head: Any) -> list[float]:
    """head / base of each pair's per-process medians."""
    return [
        statistics.median(h.values) / statistics.median(b.values)
        for b, h in zip(base.get_runs(), head.get_runs(), strict=True)
    ]


@dataclass(frozen=True)
class Session:
    base_suites: Path
    head_suites: Path
    out: Path
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    root = tmp_path_factory.mktemp("ab")
    base = write(root / "base", "demo", SUITE.format(factor=1, one_sided="old"))
    head = write(root / "head", "demo", SUITE.format(factor=2, one_sided="new"))
    out = root / "out"
    done = ab(base, head, out, "--pairs", str(PAIRS), "--seed", str(SEED), *KNOBS)
    assert done.returncode == 0, done.stderr
    return Session(base, head, out, done)


# -- the shared session ----------------------------------------------------------------------


def test_writes_two_pyperf_suites_and_prints_the_folder(session: Session) -> None:
    assert session.done.stdout.strip() == str(session.out)
    assert sorted(p.name for p in session.out.iterdir()) == ["ab.json", "base.json", "head.json"]
    common = {"demo.work", "demo.footprint", "demo.load.p50", "demo.load.p95", "demo.load.p99"}
    common |= {"demo.load.throughput", "demo.reference.bare"}
    assert set(load(session.out / "base.json")) == common | {"demo.old"}
    assert set(load(session.out / "head.json")) == common | {"demo.new"}


def test_one_run_per_pair_in_pair_order_with_the_recorded_order(session: Session) -> None:
    base, head = load(session.out / "base.json"), load(session.out / "head.json")
    for name in ("demo.work", "demo.footprint", "demo.load.p99"):
        bench_id = name.removesuffix(".p99")
        expected = [pair_order(SEED, bench_id, pair) for pair in range(1, PAIRS + 1)]
        for side in (base, head):
            assert run_metadata(side[name], "perfkit_pair") == [1, 2, 3]
            assert run_metadata(side[name], "perfkit_ab_order") == expected
            assert len(side[name].get_values()) == PAIRS * 2


def test_both_sides_of_a_pair_run_the_same_loops(session: Session) -> None:
    base, head = load(session.out / "base.json"), load(session.out / "head.json")
    manifest = json.loads((session.out / "ab.json").read_text())
    loops = manifest["benchmarks"]["demo.work"]["loops"]
    assert loops >= 1
    assert manifest["benchmarks"]["demo.work"]["calibrated_on"] == "base"
    assert run_metadata(base["demo.work"], "loops") == [loops] * PAIRS
    assert run_metadata(head["demo.work"], "loops") == [loops] * PAIRS
    assert base["demo.work"].get_metadata()["inner_loops"] == 2


def test_side_metadata(session: Session) -> None:
    for side in ("base", "head"):
        for bench in load(session.out / f"{side}.json").values():
            meta = bench.get_metadata()
            assert meta["perfkit_ab_side"] == side
            assert meta["perfkit_ab_seed"] == SEED
            assert meta["perfkit_ab_pairs"] == PAIRS
            assert meta["perfkit_mode"] == "ab"
            assert meta["perfkit_failed"] == "[]"
            assert meta["perfkit_suite"] == "demo"
            assert "perfkit_libraries" in meta
            assert "perfkit_injected_percent" not in meta


def test_the_head_doing_twice_the_work_is_slower(session: Session) -> None:
    base, head = load(session.out / "base.json"), load(session.out / "head.json")
    # 2x the work; a generous floor for a busy 2-core machine.
    assert statistics.median(pair_ratios(base["demo.work"], head["demo.work"])) > 1.25
    assert head["demo.footprint"].get_values()[0] == 2 * base["demo.footprint"].get_values()[0]


def test_one_sided_benchmarks_run_on_their_side_only(session: Session) -> None:
    base, head = load(session.out / "base.json"), load(session.out / "head.json")
    assert run_metadata(base["demo.old"], "perfkit_ab_order") == ["base-only"] * PAIRS
    assert run_metadata(head["demo.new"], "perfkit_ab_order") == ["head-only"] * PAIRS
    manifest = json.loads((session.out / "ab.json").read_text())
    assert manifest["benchmarks"]["demo.old"]["sides"] == ["base"]
    assert manifest["benchmarks"]["demo.new"]["sides"] == ["head"]
    assert manifest["benchmarks"]["demo.work"]["sides"] == ["base", "head"]


def test_manifest(session: Session) -> None:
    manifest = json.loads((session.out / "ab.json").read_text())
    assert manifest["version"] == 2
    assert manifest["seed"] == SEED
    assert manifest["settings"] == {
        "mode": "processes",
        "values": 2,
        "warmups": 0,
        "min_time": 0.005,
        "slices": 60,
        "slice_warmups": 6,
        "slice_time": 0.002,
        "pair_seconds": 1.0,
        "affinity": None,
        "inject_head_percent": 0.0,
    }
    assert manifest["sides"]["base"]["python"] == sys.executable
    assert manifest["sides"]["head"]["suites"] == str(session.head_suites.resolve())
    assert manifest["files"] == {"base": "base.json", "head": "head.json"}
    assert manifest["failures"] == []
    [only] = manifest["sessions"]
    assert only["pairs_requested"] == PAIRS
    assert only["budget_reached"] is False
    assert only["duration"] > 0
    work = manifest["benchmarks"]["demo.work"]
    assert (work["mode"], work["slices"]) == ("processes", None)
    assert work["pairs"] == PAIRS
    assert work["orders"] == [pair_order(SEED, "demo.work", p) for p in (1, 2, 3)]
    assert work["seconds"] > 0


def test_append_continues_the_pair_numbers(session: Session, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(session.out, out)
    loops = json.loads((out / "ab.json").read_text())["benchmarks"]["demo.work"]["loops"]
    # A latency metric name (what a report lists) selects its benchmark.
    only = ["--only", "demo.work", "--only", "demo.load.p99"]
    done = ab(
        session.base_suites, session.head_suites, out, "--append", *only, "--pairs", "2", *KNOBS
    )
    assert done.returncode == 0, done.stderr

    base, head = load(out / "base.json"), load(out / "head.json")
    for side in (base, head):
        assert run_metadata(side["demo.work"], "perfkit_pair") == [1, 2, 3, 4, 5]
        assert run_metadata(side["demo.work"], "loops") == [loops] * 5
        assert run_metadata(side["demo.load.p50"], "perfkit_pair") == [1, 2, 3, 4, 5]
        assert side["demo.work"].get_metadata()["perfkit_ab_pairs"] == 5
        assert len(side["demo.footprint"].get_runs()) == PAIRS  # not selected: unchanged
    expected = [pair_order(SEED, "demo.work", p) for p in range(1, 6)]
    assert run_metadata(head["demo.work"], "perfkit_ab_order") == expected
    manifest = json.loads((out / "ab.json").read_text())
    assert len(manifest["sessions"]) == 2
    assert manifest["sessions"][1]["append"] is True
    assert manifest["sessions"][1]["benchmarks"] == ["demo.work", "demo.load"]
    assert manifest["benchmarks"]["demo.work"]["pairs"] == 5
    assert manifest["benchmarks"]["demo.footprint"]["pairs"] == PAIRS


def test_an_existing_run_is_not_overwritten(session: Session) -> None:
    done = ab(session.base_suites, session.head_suites, session.out, "--pairs", "1", *KNOBS)
    assert done.returncode == 2
    assert "pass --append" in done.stderr
    assert done.stderr.count("\n") == 1


def test_append_refuses_other_settings(session: Session, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(session.out, out)
    knobs = ["--mode", "processes", "--values", "3", "--warmups", "0", "--min-time", "0.005"]
    done = ab(session.base_suites, session.head_suites, out, "--append", "--pairs", "1", *knobs)
    assert done.returncode == 2
    assert "other sides or settings" in done.stderr
    seed = ["--seed", "99"]
    done = ab(session.base_suites, session.head_suites, out, "--append", "--pairs", "1", *seed)
    assert done.returncode == 2
    assert "--seed 1234" in done.stderr


def test_append_needs_a_manifest(session: Session, tmp_path: Path) -> None:
    done = ab(session.base_suites, session.head_suites, tmp_path, "--append", "--pairs", "1")
    assert done.returncode == 2
    assert "run without --append first" in done.stderr


def test_exclude_references(session: Session, tmp_path: Path) -> None:
    done = ab(
        session.base_suites,
        session.head_suites,
        tmp_path / "out",
        "--exclude-references",
        "-k",
        "demo.[or]*",
        "--pairs",
        "1",
        *KNOBS,
    )
    assert done.returncode == 0, done.stderr
    assert set(load(tmp_path / "out" / "base.json")) == {"demo.old"}
    assert is_reference("demo.reference.bare")
    assert not is_reference("reference.work")  # the suite name is not a marker


# -- the order ------------------------------------------------------------------------------


def test_pair_order_is_balanced_random_and_reproducible() -> None:
    ids = [f"suite.bench_{i}" for i in range(40)]
    for bench_id in ids:
        orders = [pair_order(7, bench_id, pair) for pair in range(1, 11)]
        assert orders == [pair_order(7, bench_id, pair) for pair in range(1, 11)]
        for block in range(5):
            assert {orders[2 * block], orders[2 * block + 1]} == {"base-first", "head-first"}
    firsts = [pair_order(7, bench_id, 1) for bench_id in ids]
    assert 5 < firsts.count("base-first") < 35  # a coin, not a constant
    assert firsts != [pair_order(8, bench_id, 1) for bench_id in ids]
    with pytest.raises(ValueError, match="from 1"):
        pair_order(7, "suite.x", 0)


# -- the budget -----------------------------------------------------------------------------


def test_budget_stops_starting_pairs_and_keeps_complete_ones(tmp_path: Path) -> None:
    suite = """
    import time
    from perfkit_bench import benchmark

    @benchmark("slow.nap")
    def nap(loops: int) -> float:
        t0 = time.perf_counter()
        time.sleep(0.05 * loops)
        return time.perf_counter() - t0
    """
    folder = write(tmp_path / "suites", "slow", suite)
    started = time.monotonic()
    done = ab(folder, folder, tmp_path / "out", "--pairs", "50", "--budget", "3", *KNOBS)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert "budget of 3 s ran out" in done.stderr
    assert "only complete pairs were kept" in done.stderr
    base, head = load(tmp_path / "out" / "base.json"), load(tmp_path / "out" / "head.json")
    pairs = len(base["slow.nap"].get_runs())
    assert 1 <= pairs < 50
    assert len(head["slow.nap"].get_runs()) == pairs
    assert base["slow.nap"].get_metadata()["perfkit_ab_pairs"] == pairs
    manifest = json.loads((tmp_path / "out" / "ab.json").read_text())
    assert manifest["sessions"][0]["budget_reached"] is True
    assert manifest["benchmarks"]["slow.nap"]["pairs"] == pairs
    assert elapsed < 30


# -- injection ------------------------------------------------------------------------------


def test_slowed_adds_the_fraction_inside_the_value() -> None:
    # A clock that advances 1 ms per reading makes the arithmetic exact: the workload reports
    # 20 ms; the busy-wait must last 8 ms of that clock and be added to the value.
    readings = iter(range(10**6))

    def clock() -> float:
        return next(readings) / 1000

    assert slowed(lambda loops: 0.002 * loops, 0.4, clock)(10) == pytest.approx(0.028)
    # The real clock: never shorter (it may end late when preempted on a loaded machine).
    assert slowed(lambda loops: 0.002 * loops, 0.4)(10) >= 0.028


def test_slowed_on_a_cpu_clock_slows_that_clock() -> None:
    # The gate measures CPU time: the busy-wait must add CPU time to the measuring thread, the
    # clock the value is read on, whatever else runs on the machine (a wall-clock wait beside a
    # busy neighbour would add only half its length to CPU time).
    reported: list[float] = []

    def work(loops: int) -> float:
        t0 = time.thread_time()
        for _ in range(loops):
            sum(range(20_000))
        reported.append(time.thread_time() - t0)
        return reported[-1]

    slow = slowed(work, 0.25, time.thread_time)
    value_shares: list[float] = []
    added_shares: list[float] = []
    for _ in range(7):
        t0 = time.thread_time()
        value = slow(20)
        spent = time.thread_time() - t0
        value_shares.append(value / reported[-1])
        added_shares.append((spent - reported[-1]) / reported[-1])
    # Compared call by call (CPU time per call drifts on a loaded machine too), as medians: a
    # single call can be charged an interrupt or a page fault of a few hundred microseconds.
    # The value is 25 % more than the workload's own time...
    assert statistics.median(value_shares) == pytest.approx(1.25, abs=0.01)
    # ...and the thread's CPU clock really advanced by that 25 % besides the workload (a wall-clock
    # spin beside a busy neighbour would add about half of it: 12.5 %).
    assert 0.24 <= statistics.median(added_shares) <= 0.32


def test_inject_head_slows_the_head_by_the_given_percentage(tmp_path: Path) -> None:
    suite = """
    import time
    from perfkit_bench import benchmark

    @benchmark("inject.cpu")
    def cpu(loops: int) -> float:
        # CPU time, as demo.work: wall time on two shared cores swings too much for a test.
        t0 = time.thread_time()
        for _ in range(loops):
            sum(range(3000))
        return time.thread_time() - t0

    @benchmark("inject.reported")
    def reported(loops: int) -> float:
        # Reports 1 ms per loop without spending it: no noise but the injection's own.
        return 0.001 * loops

    @benchmark("inject.footprint", kind="bytes")
    def footprint() -> float:
        return 100.0
    """
    folder = write(tmp_path / "suites", "inject", suite)  # A/A: the same code on both sides
    knobs = ["--mode", "processes", "--values", "3", "--warmups", "1", "--min-time", "0.01", "-q"]
    done = ab(folder, folder, tmp_path / "out", "--pairs", "6", "--inject-head", "40", *knobs)
    assert done.returncode == 0, done.stderr
    base, head = load(tmp_path / "out" / "base.json"), load(tmp_path / "out" / "head.json")

    # The busy-wait ends on time unless the process is preempted at its very end (a loaded
    # machine): the least delayed of 18 values shows the injected size itself.
    exact = min(head["inject.reported"].get_values()) / min(base["inject.reported"].get_values())
    assert 1.39 < exact < 1.45, exact
    # A real workload on a shared 2-core machine (pairs ran back to back): a generous band. With
    # other test suites loading both cores, 6 sessions here gave 1.31-1.65.
    ratios = pair_ratios(base["inject.cpu"], head["inject.cpu"])
    assert 1.1 < statistics.median(ratios) < 2.0, ratios

    assert head["inject.cpu"].get_metadata()["perfkit_injected_percent"] == 40.0
    assert head["inject.footprint"].get_metadata()["perfkit_injected_percent"] == 0.0
    assert "perfkit_injected_percent" not in base["inject.cpu"].get_metadata()
    assert head["inject.footprint"].get_values() == base["inject.footprint"].get_values()
    manifest = json.loads((tmp_path / "out" / "ab.json").read_text())
    assert manifest["settings"]["inject_head_percent"] == 40.0


# -- failures -------------------------------------------------------------------------------

FAILING = """
import time
from perfkit_bench import benchmark

@benchmark("fail.ok")
def ok(loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(100))
    return time.perf_counter() - t0

@benchmark("fail.broken")
def broken(loops: int) -> float:
    {broken}
    return 1e-3 * loops

@benchmark("fail.hang", timeout=2)
def hang(loops: int) -> float:
    {hang}
    return 1e-3 * loops
"""


def test_a_failing_side_stops_its_benchmark_and_the_rest_goes_on(
    tmp_path: Path, live_processes: Callable[[str], list[str]]
) -> None:
    base = write(tmp_path / "base", "fail", FAILING.format(broken="pass", hang="pass"))
    head = write(
        tmp_path / "head",
        "fail",
        FAILING.format(broken="raise ValueError('head broke it')", hang="time.sleep(3600)"),
    )
    done = ab(base, head, tmp_path / "out", "--pairs", "2", *KNOBS)
    assert done.returncode == 1
    assert "FAILED fail.broken (error) on the head side" in done.stderr
    assert "ValueError: head broke it" in done.stderr
    assert "FAILED fail.hang (timeout) on the head side" in done.stderr
    assert live_processes(str(head / "fail.py")) == []

    base_results, head_results = (
        load(tmp_path / "out" / "base.json"),
        load(tmp_path / "out" / "head.json"),
    )
    # Failed in its first pair: no complete pair, so on neither side.
    assert set(base_results) == set(head_results) == {"fail.ok"}
    assert len(head_results["fail.ok"].get_runs()) == 2
    failed = json.loads(head_results["fail.ok"].get_metadata()["perfkit_failed"])
    assert {f["id"] for f in failed} == {"fail.broken", "fail.hang"}
    assert json.loads(base_results["fail.ok"].get_metadata()["perfkit_failed"]) == []
    manifest = json.loads((tmp_path / "out" / "ab.json").read_text())
    kinds = {f["id"]: (f["side"], f["kind"], f["pair"]) for f in manifest["failures"]}
    assert kinds == {"fail.broken": ("head", "error", 1), "fail.hang": ("head", "timeout", 1)}
    assert manifest["benchmarks"]["fail.broken"]["pairs"] == 0


def test_a_base_that_fails_everything_is_exit_2(tmp_path: Path) -> None:
    broken_base = """
    from perfkit_bench import benchmark

    @benchmark("fail.ok")
    def ok(loops: int) -> float:
        raise ImportError("no module named perfkit_runtime")

    @benchmark("fail.footprint", kind="bytes")
    def footprint() -> float:
        raise ImportError("no module named perfkit_runtime")
    """
    base = write(tmp_path / "base", "fail", broken_base)
    head = write(
        tmp_path / "head", "fail", broken_base.replace("raise ImportError", "return 1.0 #")
    )
    done = ab(base, head, tmp_path / "out", "--pairs", "2", *KNOBS)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert "the base side failed every benchmark it ran" in done.stderr
    assert "check its environment" in done.stderr
    assert not (tmp_path / "out" / "base.json").exists()
    assert len(json.loads((tmp_path / "out" / "ab.json").read_text())["failures"]) == 2


def test_a_base_interpreter_that_cannot_list_is_exit_2(session: Session, tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'No module named perfkit_bench' >&2\nexit 1\n")
    broken.chmod(0o755)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit_bench",
            "ab",
            "--base-python",
            str(broken),
            "--base-suites",
            str(session.base_suites),
            "--head-python",
            sys.executable,
            "--head-suites",
            str(session.head_suites),
            "--pairs",
            "1",
            "--out-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "the base side cannot list its benchmarks (No module named perfkit_bench)" in done.stderr
    assert "perfkit-bench and the base revision's packages" in done.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pairs", "2", "--inject-head", "-5"], "--inject-head must be a percentage"),
        (["--pairs", "2", "--affinity", "x"], "use a CPU list"),
        (["--pairs", "2", "--only", "demo.nope"], "--only demo.nope: no such benchmark"),
        (["--pairs", "2", "--suite", "nope"], "unknown suite 'nope'; valid suites: demo"),
    ],
)
def test_bad_usage_is_exit_2_with_one_line(
    session: Session, tmp_path: Path, extra: list[str], message: str
) -> None:
    done = ab(session.base_suites, session.head_suites, tmp_path / "out", *extra)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_missing_suites_folder_is_exit_2(session: Session, tmp_path: Path) -> None:
    done = ab(tmp_path / "missing", session.head_suites, tmp_path / "out", "--pairs", "1")
    assert done.returncode == 2
    assert "--base-suites" in done.stderr
    assert "is not a folder" in done.stderr


def test_pairs_must_be_positive(session: Session, tmp_path: Path) -> None:
    done = ab(session.base_suites, session.head_suites, tmp_path / "out", "--pairs", "0")
    assert done.returncode == 2
    assert "must be >= 1" in done.stderr


def test_a_listed_spec_reads_back_as_the_same_spec(session: Session) -> None:
    from perfkit_bench import discover
    from perfkit_bench._spec import BenchmarkSpec

    for spec in discover([session.base_suites]):
        assert BenchmarkSpec.from_json(json.loads(json.dumps(spec.as_json()))) == spec
    with pytest.raises(ValueError, match="unknown kind"):
        BenchmarkSpec.from_json({**spec.as_json(), "kind": "speed"})
