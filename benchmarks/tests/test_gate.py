"""The regression gate end to end, as `nox -s regression -- --aa --quick` runs it, on a tiny
suite in a git repository made here: perfkit-bench regression drives perfkit-bench ab and
perfkit-report check (installed in this session, as in the gate's head environment) as
processes, and an A/A check of unchanged code passes with the report files written."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyperf

BENCHMARKS = Path(__file__).resolve().parents[1]

SUITE = """
import time

from perfkit_bench import benchmark


@benchmark("tiny.sum", target="tiny")
def total(loops: int) -> float:
    t0 = time.thread_time()
    for _ in range(loops):
        sum(range(500))
    return time.thread_time() - t0


@benchmark("tiny.join", target="tiny")
def join(loops: int) -> float:
    t0 = time.thread_time()
    for _ in range(loops):
        ",".join(map(str, range(50)))
    return time.thread_time() - t0
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def test_an_aa_quick_check_passes_and_writes_the_report(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "benchmarks").mkdir(parents=True)
    (repo / "benchmarks" / "tiny.py").write_text(textwrap.dedent(SUITE))
    (repo / "benchmarks" / "targets.toml").write_text(
        (BENCHMARKS / "targets.toml").read_text(encoding="utf-8")
    )
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "suite")
    out = repo / "reports" / "regression"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfkit_bench",
            "regression",
            "--aa",
            "--quick",
            "--pairs",
            "6",
            "--budget",
            "60",
            "--seed",
            "11",
            "--quick-only",
            "tiny.sum",
            "--quick-only",
            "tiny.join",
            # The harness both sides' environments need (the gate builds the head's too).
            "--install",
            str(BENCHMARKS.parent / "packages" / "bench"),
            "--reproduce-with",
            "nox -s regression --",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    verdict = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    assert verdict["exit_code"] == 0
    assert verdict["kind"] == "ab"
    assert {v["benchmark"] for v in verdict["verdicts"]} == {"tiny.sum", "tiny.join"}
    assert all(v["verdict"] != "regressed" for v in verdict["verdicts"])
    comment = (out / "comment.md").read_text(encoding="utf-8")
    assert comment.splitlines()[0] == "<!-- perfkit-regression-gate -->"
    assert "nox -s regression -- --base" in comment
    base = pyperf.BenchmarkSuite.load(str(out / "ab" / "base.json"))
    assert sorted(base.get_benchmark_names()) == ["tiny.join", "tiny.sum"]
    assert len(base.get_benchmark("tiny.sum").get_runs()) >= 6
    assert (repo / "history.db").exists()  # the check was stored
    assert "gate finished in" in done.stderr
