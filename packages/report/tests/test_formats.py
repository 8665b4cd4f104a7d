"""The formats people come from: pytest-benchmark JSON and asv results, made by the real tools
here (pytest-benchmark and asv run for real on tiny benchmarks), ingested and compared.

Each tool measures a base and a head whose ``work`` sums twice as many numbers, so compare must
call the head's ``work`` a regression; ``steady`` does not change.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History
from perfkit_report._history import read_results

BENCH_TESTS = """
def test_work(benchmark):
    benchmark(sum, range({size}))

def test_steady(benchmark):
    benchmark(sorted, list(range(200, 0, -1)))
"""

ASV_BENCHMARKS = """
class Suite:
    params = [10, 20]
    param_names = ["n"]

    def time_work(self, n):
        sum(range({size} * n))

    def time_steady(self, n):
        sorted(range(200, 0, -1))


def mem_list():
    return [0] * 1000
"""

ASV_CONF = {
    "version": 1,
    "project": "demo",
    "project_url": "https://example.invalid/",
    "repo": ".",
    "environment_type": "existing",
    "benchmark_dir": "benchmarks",
    "results_dir": "results",
    "html_dir": "html",
}


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, (args, done.stdout[-3000:], done.stderr[-3000:])


def _pytest_benchmark(folder: Path, size: int, *options: str) -> None:
    (folder / "test_bench.py").write_text(BENCH_TESTS.format(size=size), encoding="utf-8")
    _run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py",
            "--benchmark-only", "--benchmark-min-rounds=30", "--benchmark-max-time=0.05",
            "--benchmark-warmup=off", *options,
        ],
        folder,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pytest_benchmark_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """base/head JSON with raw rounds (--benchmark-json), and saved files without them."""
    files = {}
    for side, size in (("base", 2000), ("head", 4000)):
        folder = tmp_path_factory.mktemp(f"pb-{side}")
        _pytest_benchmark(
            folder, size, f"--benchmark-json={folder / 'rounds.json'}", f"--benchmark-save={side}"
        )
        files[f"{side}-rounds"] = folder / "rounds.json"
        (saved,) = (folder / ".benchmarks").glob(f"*/0001_{side}.json")
        files[f"{side}-summary"] = saved
    return files


def _asv(folder: Path, env: dict[str, str], *options: str) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()
    _run(
        [
            sys.executable, "-m", "asv", "run", "--python=same", "--set-commit-hash", commit,
            "-a", "repeat=7", "-a", "number=50", "-a", "rounds=1", "-a", "warmup_time=0",
            *options,
        ],
        folder,
        env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def asv_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two asv projects, each with a base and a head commit measured: one with
    --record-samples, one without (summary statistics only)."""
    found = {}
    for kind, options in (("samples", ["--record-samples"]), ("summary", [])):
        folder = tmp_path_factory.mktemp(f"asv-{kind}")
        env = {**os.environ, "HOME": str(folder / "home"), "GIT_AUTHOR_NAME": "t"}
        env |= {"GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t"}
        env |= {"GIT_COMMITTER_EMAIL": "t@example.invalid"}
        (folder / "benchmarks").mkdir()
        (folder / "benchmarks" / "__init__.py").write_text("", encoding="utf-8")
        (folder / "asv.conf.json").write_text(json.dumps(ASV_CONF), encoding="utf-8")
        _run(["git", "init", "-q", "."], folder, env)
        _run([sys.executable, "-m", "asv", "machine", "--yes", "--machine", "box"], folder, env)
        for size in (2000, 4000):
            bench = folder / "benchmarks" / "bench_demo.py"
            bench.write_text(ASV_BENCHMARKS.format(size=size), encoding="utf-8")
            _run(["git", "add", "-A"], folder, env)
            _run(["git", "commit", "-q", "-m", f"size {size}"], folder, env)
            _asv(folder, env, *options)
        found[kind] = folder / "results"
    return found


def _runs_of(results: Path) -> list[Path]:
    return sorted((results / "box").glob("*-*.json"), key=lambda path: json.loads(
        path.read_text(encoding="utf-8"))["date"])  # fmt: skip


# -- pytest-benchmark -------------------------------------------------------------------------


def test_pytest_benchmark_rounds_are_the_samples(pytest_benchmark_files: dict[str, Path]) -> None:
    (run,) = read_results(pytest_benchmark_files["base-rounds"])
    results = {result.benchmark: result for result in run.results}
    assert set(results) == {"test_bench.py::test_work", "test_bench.py::test_steady"}
    work = results["test_bench.py::test_work"]
    raw = json.loads(pytest_benchmark_files["base-rounds"].read_text(encoding="utf-8"))
    rounds = raw["benchmarks"][0]["stats"]["data"]
    assert len(work.summary.process_medians) == len(rounds) >= 30  # one sample per round
    assert work.summary.median == pytest.approx(raw["benchmarks"][0]["stats"]["median"])
    assert work.metadata["perfkit_summary_only"] is False
    assert (work.unit, work.metric, work.suite) == ("second", "time", "test_bench")
    assert run.tool_versions["pytest-benchmark"].startswith("5.")


def test_pytest_benchmark_without_rounds_rests_on_summary_statistics(
    pytest_benchmark_files: dict[str, Path],
) -> None:
    raw = json.loads(pytest_benchmark_files["base-summary"].read_text(encoding="utf-8"))
    assert "data" not in raw["benchmarks"][0]["stats"]  # --benchmark-save keeps no rounds
    (run,) = read_results(pytest_benchmark_files["base-summary"])
    work = next(r for r in run.results if r.benchmark.endswith("test_work"))
    stats = next(b for b in raw["benchmarks"] if b["name"] == "test_work")["stats"]
    assert work.metadata["perfkit_summary_only"] is True
    assert work.summary.process_medians == (
        stats["min"], stats["q1"], stats["median"], stats["q3"], stats["max"],
    )  # fmt: skip
    assert work.summary.n == stats["rounds"]


def test_pytest_benchmark_files_ingest_and_render(
    pytest_benchmark_files: dict[str, Path], run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    files = [pytest_benchmark_files[k] for k in ("base-rounds", "head-rounds", "head-summary")]
    result = run_cli("ingest", *files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ingested ") == 3
    again = run_cli("ingest", *files)
    assert again.stdout.count("already ingested") == 3
    assert run_cli("render", "--out", "reports").returncode == 0
    report = (tmp_path / "reports" / "report.md").read_text(encoding="utf-8")
    assert "test\\_bench.py::test\\_work" in report


def test_compare_pytest_benchmark_rounds_finds_the_regression(
    pytest_benchmark_files: dict[str, Path], run_cli: Callable[..., Any]
) -> None:
    base, head = pytest_benchmark_files["base-rounds"], pytest_benchmark_files["head-rounds"]
    result = run_cli("compare", base, head, "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["samples"] == "rounds" and document["summary_only"] == []
    verdicts = {v["benchmark"]: v for v in document["verdicts"]}
    work = verdicts["test_bench.py::test_work"]
    assert work["verdict"] == "regressed" and work["n_base"] >= 30
    assert work["change_percent"] > 10  # twice the work; the machine is shared


def test_compare_pytest_benchmark_summaries_says_so(
    pytest_benchmark_files: dict[str, Path], run_cli: Callable[..., Any]
) -> None:
    base, head = pytest_benchmark_files["base-summary"], pytest_benchmark_files["head-summary"]
    result = run_cli("compare", base, head)
    assert result.returncode in (0, 1), result.stderr
    assert "2 benchmark(s) rest on summary statistics" in result.stdout
    assert "unpaired summary statistics" in result.stdout


# -- asv --------------------------------------------------------------------------------------


def test_an_asv_results_directory_ingests_every_run(
    asv_results: dict[str, Path], tmp_path: Path
) -> None:
    with History.open(tmp_path / "h.db") as history:
        stored = history.ingest_many([asv_results["samples"]])
        assert [r.skipped for r in stored] == [False, False]
        assert [r.skipped for r in history.ingest_many([asv_results["samples"]])] == [True, True]
        runs = history.runs()
        assert len(runs) == 2 and len({run.commit_sha for run in runs}) == 2
        assert runs[0].fingerprint["hostname"] == "box"
        names = {result.benchmark: result for result in history.results(runs[0].id)}
    assert set(names) == {
        "bench_demo.Suite.time_work(10)",
        "bench_demo.Suite.time_work(20)",
        "bench_demo.Suite.time_steady(10)",
        "bench_demo.Suite.time_steady(20)",
        "bench_demo.mem_list",
    }
    work = names["bench_demo.Suite.time_work(10)"]
    assert (work.unit, work.metric, work.n) == ("second", "time", 7)  # 7 samples recorded
    assert names["bench_demo.mem_list"].unit == "byte"


def test_compare_asv_runs_with_samples_finds_the_regression(
    asv_results: dict[str, Path], run_cli: Callable[..., Any]
) -> None:
    base, head = _runs_of(asv_results["samples"])
    result = run_cli("compare", base, head, "--format", "json")
    document = json.loads(result.stdout)
    assert document["samples"] == "asv samples and summary statistics"
    assert document["summary_only"] == ["bench_demo.mem_list"]  # one value: asv keeps no samples
    verdicts = {v["benchmark"]: v for v in document["verdicts"]}
    assert verdicts["bench_demo.Suite.time_work(20)"]["change_percent"] > 10  # twice the work
    assert verdicts["bench_demo.Suite.time_work(20)"]["n_base"] == 7


def test_compare_asv_runs_without_samples_says_so(
    asv_results: dict[str, Path], run_cli: Callable[..., Any]
) -> None:
    base, head = _runs_of(asv_results["summary"])
    result = run_cli("compare", base, head)
    assert result.returncode in (0, 1), result.stderr
    assert "rest on summary statistics" in result.stdout


def test_compare_refuses_a_directory_of_several_runs(
    asv_results: dict[str, Path], run_cli: Callable[..., Any]
) -> None:
    result = run_cli("compare", asv_results["samples"], asv_results["summary"])
    assert result.returncode == 2
    assert "holds 2 runs" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_one_asv_run_file_with_infinity_reads_as_its_directory_does(
    asv_results: dict[str, Path], run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    """asv writes Infinity and -Infinity for the confidence interval of a benchmark with one
    sample: a run file given alone is read like the directory holding it."""
    base, head = _runs_of(asv_results["samples"])
    copy = tmp_path / "results" / "box"
    copy.mkdir(parents=True)
    for name in ("benchmarks.json", "box/machine.json", f"box/{head.name}"):
        (tmp_path / "results" / name).write_bytes((asv_results["samples"] / name).read_bytes())
    document = json.loads(base.read_text(encoding="utf-8"))
    columns = document["result_columns"]
    row = document["results"]["bench_demo.Suite.time_steady"]
    row[columns.index("stats_ci_99_a")] = [-math.inf] * len(row[0])
    row[columns.index("stats_ci_99_b")] = [math.inf] * len(row[0])
    run_file = copy / base.name
    run_file.write_text(json.dumps(document), encoding="utf-8")
    assert "-Infinity" in run_file.read_text(encoding="utf-8")
    (alone,) = read_results(run_file)
    assert alone == read_results(tmp_path / "results")[0]
    assert run_cli("ingest", run_file).returncode == 0
    assert run_cli("compare", run_file, copy / head.name).returncode in (0, 1)
    pyperf_like = tmp_path / "pyperf.json"
    pyperf_like.write_text('{"version": "1.0", "benchmarks": [], "x": Infinity}', encoding="utf-8")
    refused = run_cli("ingest", pyperf_like)
    assert refused.returncode == 2 and "contains Infinity" in refused.stderr


# -- bad input: one line, exit 2, nothing written ----------------------------------------------


def _damaged(files: dict[str, Path], asv: dict[str, Path], tmp_path: Path) -> list[Path]:
    """Real files, each broken one way."""
    document = json.loads(files["base-rounds"].read_text(encoding="utf-8"))
    no_stats = json.loads(json.dumps(document))
    del no_stats["benchmarks"][0]["stats"]
    negative = json.loads(json.dumps(document))
    negative["benchmarks"][0]["stats"]["data"][0] = -1.0
    truncated = files["base-rounds"].read_text(encoding="utf-8")[:300]
    damaged = []
    for name, text in (
        ("no-stats.json", json.dumps(no_stats)),
        ("negative.json", json.dumps(negative)),
        ("truncated.json", truncated),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
        damaged.append(tmp_path / name)
    run_file = _runs_of(asv["samples"])[0]
    bad_asv = json.loads(run_file.read_text(encoding="utf-8"))
    bad_asv["version"] = 1
    copy = tmp_path / "asv-copy" / "box"
    copy.mkdir(parents=True)
    (copy / "machine.json").write_text("{}", encoding="utf-8")
    (copy / run_file.name).write_text(json.dumps(bad_asv), encoding="utf-8")
    (copy.parent / "benchmarks.json").write_text(
        (asv["samples"] / "benchmarks.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    no_benchmarks = tmp_path / "asv-empty"
    no_benchmarks.mkdir()
    return [*damaged, copy.parent, no_benchmarks]


def test_bad_files_are_one_line_exit_2_and_write_nothing(
    pytest_benchmark_files: dict[str, Path],
    asv_results: dict[str, Path],
    run_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    good = pytest_benchmark_files["base-rounds"]
    for bad in _damaged(pytest_benchmark_files, asv_results, tmp_path):
        result = run_cli("ingest", good, bad)
        assert result.returncode == 2, (bad, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad.name) in lines[0], (bad, result.stderr)
        assert not (tmp_path / "history.db").exists()  # nothing written, not even created
        compared = run_cli("compare", good, bad)
        assert compared.returncode == 2, (bad, compared.stderr)
