"""perfkit-bench ab in slices (the default mode), end to end: one long-lived worker per side and
process pair, both pinned to one CPU, alternating single slices A B B A ...; real processes of
this test's interpreter on tiny suite folders written here.

One session is shared by most tests (a few seconds); the others run their own small sessions.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyperf
import pytest

from perfkit_bench._ab import pair_order

SUITE = """
import os
import time

from perfkit_bench import benchmark, timer

FACTOR = {factor}
PIDS = {pids!r}


def _note_pid(name: str) -> None:
    with open(PIDS, "a") as out:
        out.write(f"{{name}} {{os.getpid()}}\\n")


@benchmark("demo.work", inner_loops=2, clock="thread")
def work(loops: int) -> float:
    _note_pid("work")
    t0 = timer()
    for _ in range(loops):
        for _ in range(2):
            sum(range(2000 * FACTOR))
    return timer() - t0


@benchmark("demo.same", clock="thread")
def same(loops: int) -> float:
    _note_pid("same")
    t0 = timer()
    for _ in range(loops):
        sorted(range(300, 0, -1))
    return timer() - t0


@benchmark("demo.fresh", clock="thread", fresh_process=True)
def fresh(loops: int) -> float:
    t0 = timer()
    for _ in range(loops):
        sum(range(500))
    return timer() - t0


@benchmark("demo.footprint", kind="bytes")
def footprint() -> float:
    return 4096.0 * FACTOR
"""

SEED = 4321
PAIRS = 3
SLICES = 24
# Few, short slices; no cap from --pair-seconds on a loaded machine.
KNOBS = ["--slices", str(SLICES), "--slice-warmups", "2", "--pair-seconds", "30", "--quiet"]
PROCESS_KNOBS = ["--values", "2", "--warmups", "0", "--min-time", "0.005"]


def write(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


def ab(
    base: Path, head: Path, out: Path, *extra: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
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


def within_pair(base: Any, head: Any) -> list[float]:
    """Per process pair, the median of head / base over its adjacent slices."""
    return [
        math.exp(
            statistics.median(math.log(h / b) for b, h in zip(rb.values, rh.values, strict=True))
        )
        for rb, rh in zip(base.get_runs(), head.get_runs(), strict=True)
    ]


@dataclass(frozen=True)
class Session:
    base_suites: Path
    head_suites: Path
    out: Path
    pids: Path
    done: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    root = tmp_path_factory.mktemp("slices")
    pids = root / "pids.txt"
    base = write(root / "base", "demo", SUITE.format(factor=1, pids=str(pids) + ".base"))
    head = write(root / "head", "demo", SUITE.format(factor=2, pids=str(pids) + ".head"))
    out = root / "out"
    extra = ["--pairs", str(PAIRS), "--seed", str(SEED), *KNOBS, *PROCESS_KNOBS]
    done = ab(base, head, out, *extra)
    assert done.returncode == 0, done.stderr
    return Session(base, head, out, pids, done)


def test_time_benchmarks_run_in_slices_the_others_in_process_pairs(session: Session) -> None:
    manifest = json.loads((session.out / "ab.json").read_text())
    modes = {bench_id: info["mode"] for bench_id, info in manifest["benchmarks"].items()}
    assert modes == {
        "demo.work": "slices",
        "demo.same": "slices",
        "demo.fresh": "processes",  # fresh_process=True
        "demo.footprint": "processes",  # sampled in a fresh process
    }
    assert manifest["settings"]["mode"] == "slices"
    assert manifest["benchmarks"]["demo.work"]["slices"] == SLICES
    base = load(session.out / "base.json")
    assert "perfkit_ab_mode" not in base["demo.fresh"].get_metadata()
    assert len(base["demo.fresh"].get_runs()[0].values) == 2  # --values, one process a pair


def test_one_run_per_process_pair_holding_its_slices(session: Session) -> None:
    base, head = load(session.out / "base.json"), load(session.out / "head.json")
    manifest = json.loads((session.out / "ab.json").read_text())
    loops = manifest["benchmarks"]["demo.work"]["loops"]
    expected = [pair_order(SEED, "demo.work", pair) for pair in range(1, PAIRS + 1)]
    for side in (base, head):
        work = side["demo.work"]
        meta = work.get_metadata()
        assert (meta["perfkit_ab_mode"], meta["perfkit_ab_slices"]) == ("slices", SLICES)
        assert meta["perfkit_clock"] == "thread_time" and meta["perfkit_ab_pairs"] == PAIRS
        assert run_metadata(work, "perfkit_pair") == [1, 2, 3]
        assert run_metadata(work, "perfkit_ab_order") == expected
        assert run_metadata(work, "loops") == [loops] * PAIRS
        for run in work.get_runs():
            assert len(run.values) == SLICES
            assert [warm_loops for warm_loops, _ in run.warmups] == [loops, loops]


def test_slice_runs_are_dated_as_pyperf_dates_its_workers_runs(session: Session) -> None:
    # A full check holds slice benchmarks beside process-pair ones in one file; readers compare
    # the runs' dates, and a timezone on some of them only cannot be compared with pyperf's
    # naive local time (the full gate once exited 2 on it).
    base = load(session.out / "base.json")
    slices = [run.get_metadata()["date"] for run in base["demo.work"].get_runs()]
    processes = [run.get_metadata()["date"] for run in base["demo.fresh"].get_runs()]
    dates = [dt.datetime.fromisoformat(date) for date in slices + processes]
    assert all(date.tzinfo is None for date in dates)
    assert slices and processes  # both kinds of run are dated
    assert sorted(dates)  # comparable with one another (raises TypeError when they are not)
    assert all(" " in date and "+" not in date for date in slices)


def test_a_process_pair_serves_every_slice_benchmark_of_its_round(session: Session) -> None:
    for side in ("base", "head"):
        lines = [line.split() for line in Path(f"{session.pids}.{side}").read_text().splitlines()]
        pids = {name: {pid for n, pid in lines if n == name} for name in ("work", "same")}
        # One worker per side and round, each importing the suite once and running both.
        assert len(pids["work"]) == PAIRS
        assert pids["work"] == pids["same"]


def test_the_head_doing_twice_the_work_reads_twice_as_slow(session: Session) -> None:
    base, head = load(session.out / "base.json"), load(session.out / "head.json")
    ratios = within_pair(base["demo.work"], head["demo.work"])
    assert all(1.6 < ratio < 2.5 for ratio in ratios), ratios
    same = within_pair(base["demo.same"], head["demo.same"])
    assert all(0.85 < ratio < 1.18 for ratio in same), same


def test_append_adds_process_pairs_with_the_same_loops_and_slices(
    session: Session, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(session.out, out)
    extra = ["--append", "--only", "demo.work", "--pairs", "2", *KNOBS, *PROCESS_KNOBS]
    done = ab(session.base_suites, session.head_suites, out, *extra)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "ab.json").read_text())
    loops = manifest["benchmarks"]["demo.work"]["loops"]
    for side in load(out / "base.json"), load(out / "head.json"):
        assert run_metadata(side["demo.work"], "perfkit_pair") == [1, 2, 3, 4, 5]
        assert run_metadata(side["demo.work"], "loops") == [loops] * 5
        assert {len(run.values) for run in side["demo.work"].get_runs()} == {SLICES}
    refused = ab(
        session.base_suites, session.head_suites, out, "--append", "--pairs", "1", "--slices", "5"
    )
    assert refused.returncode == 2 and "other sides or settings" in refused.stderr


# -- clocks, failures and injection --------------------------------------------------------------

BROKEN = """
import time
from perfkit_bench import benchmark, timer

@benchmark("fail.ok", clock="thread")
def ok(loops: int) -> float:
    t0 = timer()
    for _ in range(loops):
        sum(range(300))
    return timer() - t0

@benchmark("fail.raises", clock="thread")
def raises(loops: int) -> float:
    {raises}
    return ok(loops)

@benchmark("fail.hang", clock="thread", timeout=3)
def hang(loops: int) -> float:
    {hang}
    return ok(loops)

@benchmark("fail.own_clock", clock="thread")
def own_clock(loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(300))
    return time.perf_counter() - t0
"""


def test_a_failing_worker_stops_its_benchmark_and_a_fresh_pair_serves_the_rest(
    tmp_path: Path, live_processes: Callable[[str], list[str]]
) -> None:
    base = write(tmp_path / "base", "fail", BROKEN.format(raises="pass", hang="pass"))
    head = write(
        tmp_path / "head",
        "fail",
        BROKEN.format(raises="raise ValueError('head broke it')", hang="time.sleep(3600)"),
    )
    done = ab(base, head, tmp_path / "out", "--pairs", "2", *KNOBS)
    assert done.returncode == 1
    assert "FAILED fail.raises (error) on the head side" in done.stderr
    assert "ValueError: head broke it" in done.stderr
    assert "FAILED fail.hang (timeout) on the head side" in done.stderr
    # A workload that declares a CPU clock but times itself another way is refused on both
    # sides (the base is asked first).
    assert "declares clock='thread' but it never read perfkit_bench.timer()" in done.stderr
    assert live_processes(str(head)) == []
    results = load(tmp_path / "out" / "head.json")
    assert set(results) == {"fail.ok"}
    assert run_metadata(results["fail.ok"], "perfkit_pair") == [1, 2]


def test_the_clock_both_sides_can_honour_is_used(tmp_path: Path) -> None:
    # The base still times itself with perf_counter and declares nothing (wall); the head
    # declares the thread clock: both are measured on the wall clock, the only one both honour.
    base = write(
        tmp_path / "base",
        "clk",
        """
        import time
        from perfkit_bench import benchmark

        @benchmark("clk.x")
        def x(loops: int) -> float:
            t0 = time.perf_counter()
            for _ in range(loops):
                sum(range(300))
            return time.perf_counter() - t0
        """,
    )
    head = write(
        tmp_path / "head",
        "clk",
        """
        from perfkit_bench import benchmark, timer

        @benchmark("clk.x", clock="thread")
        def x(loops: int) -> float:
            t0 = timer()
            for _ in range(loops):
                sum(range(300))
            return timer() - t0
        """,
    )
    done = ab(base, head, tmp_path / "out", "--pairs", "1", *KNOBS)
    assert done.returncode == 0, done.stderr
    for side in ("base", "head"):
        bench = load(tmp_path / "out" / f"{side}.json")["clk.x"]
        assert bench.get_metadata()["perfkit_clock"] == "perf_counter"


def test_inject_head_slows_the_measured_clock_by_the_percentage(tmp_path: Path) -> None:
    # A/A, the head's slices followed by a busy-wait of 20 % on the thread's CPU clock: each
    # pair's within-pair estimate reads +20 %, on a loaded machine too (the spin's CPU time is
    # what it adds, however long the neighbours keep the CPU).
    folder = write(
        tmp_path / "suites",
        "inject",
        """
        from perfkit_bench import benchmark, timer

        @benchmark("inject.cpu", clock="thread")
        def cpu(loops: int) -> float:
            t0 = timer()
            for _ in range(loops):
                sum(range(3000))
            return timer() - t0
        """,
    )
    done = ab(folder, folder, tmp_path / "out", "--pairs", "3", "--inject-head", "20", *KNOBS)
    assert done.returncode == 0, done.stderr
    base, head = load(tmp_path / "out" / "base.json"), load(tmp_path / "out" / "head.json")
    ratios = within_pair(base["inject.cpu"], head["inject.cpu"])
    assert all(1.14 < ratio < 1.27 for ratio in ratios), ratios
    assert head["inject.cpu"].get_metadata()["perfkit_injected_percent"] == 20.0


def test_the_budget_stops_between_benchmarks_and_keeps_complete_pairs(tmp_path: Path) -> None:
    folder = write(
        tmp_path / "suites",
        "nap",
        """
        import time
        from perfkit_bench import benchmark, timer

        @benchmark("nap.long", clock="wall")
        def long(loops: int) -> float:
            t0 = timer()
            time.sleep(0.002 * loops)
            return timer() - t0
        """,
    )
    done = ab(folder, folder, tmp_path / "out", "--pairs", "50", "--budget", "3", *KNOBS)
    assert done.returncode == 0, done.stderr
    assert "budget of 3 s ran out" in done.stderr
    base, head = load(tmp_path / "out" / "base.json"), load(tmp_path / "out" / "head.json")
    pairs = len(base["nap.long"].get_runs())
    assert 1 <= pairs < 50 and len(head["nap.long"].get_runs()) == pairs
