"""The gate's steps after the environments: choosing the benchmarks, counting instructions on
both sides, the timed pairs (a fresh session, then --append), reading perfkit-report's
--needs-more file, the regressed benchmarks of verdict.json, and the command line's exit codes.
Real perfkit-bench processes on a tiny suite, this interpreter on both sides; the whole gate
with perfkit-report is run by benchmarks/tests/test_gate.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyperf
import pytest

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._count import Counting, count_instructions
from perfkit_bench._regression._driver import split_cpus
from perfkit_bench._regression._options import GateOptions, Workspace
from perfkit_bench._regression._pairs import Pairs
from perfkit_bench._regression._profiles import (
    artifact_url,
    comment_command,
    diff_command,
    regressed,
)
from perfkit_bench._regression._select import selection
from perfkit_bench._regression._tools import Clock, run_tool
from perfkit_bench._regression._verdict import Check, more_wanted

SUITE = """
import time

from perfkit_bench import benchmark


@benchmark("tiny.sum", channels=("time", "instructions"))
def total(loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        sum(range(200))
    return time.perf_counter() - t0


@benchmark("tiny.reference.bare")
def bare(loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        pass
    return time.perf_counter() - t0
"""

WORKSPACE = Workspace(quick_only=("tiny.sum", "tiny.other"), default_suites=("tiny", "more"))


@pytest.fixture
def suites(tmp_path: Path) -> Path:
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "tiny.py").write_text(textwrap.dedent(SUITE))
    return folder


def sides(suites: Path) -> dict[str, tuple[Path, Path]]:
    here = Path(sys.executable)
    return {"base": (here, suites), "head": (here, suites)}


def test_the_users_filters_win() -> None:
    options = GateOptions(quick=True, suites=("a", "b"), target="t", pattern="x*")
    assert selection(options, WORKSPACE) == [
        "--suite",
        "a",
        "--suite",
        "b",
        "--target",
        "t",
        "-k",
        "x*",
    ]


def test_quick_and_full_selections() -> None:
    assert selection(GateOptions(quick=True), WORKSPACE) == [
        "--only",
        "tiny.sum",
        "--only",
        "tiny.other",
    ]
    assert selection(GateOptions(), WORKSPACE) == ["--suite", "tiny", "--suite", "more"]
    assert selection(GateOptions(), Workspace()) == []  # every benchmark


def test_defaults_of_the_check() -> None:
    assert GateOptions().pairs_wanted == 12
    assert GateOptions().budget_seconds == 600
    assert GateOptions(quick=True).budget_seconds == 120
    assert GateOptions(budget=50, pairs=3).budget_seconds == 50
    assert GateOptions().counts_instructions
    for no in (GateOptions(quick=True), GateOptions(collect_only=True)):
        assert not no.counts_instructions
    assert not GateOptions(no_instructions=True).counts_instructions


@pytest.mark.slow
def test_counts_on_both_sides_with_the_heads_iterations(suites: Path, tmp_path: Path) -> None:
    options = count_instructions(tmp_path, sides(suites), ["--only", "tiny.sum"])
    assert options == [
        "--base-instructions",
        str(tmp_path / "base-instructions.json"),
        "--head-instructions",
        str(tmp_path / "head-instructions.json"),
    ]
    loops = {}
    for side in ("base", "head"):
        (bench,) = pyperf.BenchmarkSuite.load(str(tmp_path / f"{side}-instructions.json"))
        assert len(bench.get_runs()) == 1  # --repeat 1
        loops[side] = bench.get_metadata()["perfkit_iterations"]
    assert loops["base"] == loops["head"]


def test_no_counts_when_a_side_writes_none(suites: Path, tmp_path: Path) -> None:
    assert count_instructions(tmp_path, sides(suites), ["--only", "tiny.reference.bare"]) == []
    assert not (tmp_path / "base-instructions.json").exists()


@pytest.mark.slow
def test_pairs_then_more_pairs_for_some(suites: Path, tmp_path: Path) -> None:
    here = Path(sys.executable)
    options = GateOptions(pairs=2, seed=7)
    pairs = Pairs((here, suites), (here, suites), tmp_path, [], options)
    pairs.run(Clock(600))
    base = pyperf.BenchmarkSuite.load(str(pairs.directory / "base.json"))
    assert base.get_benchmark_names() == ["tiny.sum"]  # references are skipped by default
    assert len(base.get_benchmark("tiny.sum").get_runs()) == 2
    pairs.append(["tiny.sum"], 1, 120)
    manifest = json.loads((pairs.directory / "ab.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["benchmarks"]["tiny.sum"]["pairs"] == 3
    assert [s["append"] for s in manifest["sessions"]] == [False, True]


def test_pairs_command_carries_the_evaluation_knobs(suites: Path, tmp_path: Path) -> None:
    here = Path(sys.executable)
    options = GateOptions(include_references=True, affinity="0", seed=3, inject_head=5.0)
    command = Pairs((here, suites), (here, suites), tmp_path, ["-k", "x"], options).command()
    assert "--exclude-references" not in command
    assert command[-10:] == [
        "-k",
        "x",
        "--process-pairs",
        "4",
        "--affinity",
        "0",
        "--seed",
        "3",
        "--inject-head",
        "5.0",
    ]


def test_no_pair_at_all_is_no_verdict(tmp_path: Path) -> None:
    here = Path(sys.executable)
    empty = tmp_path / "empty"
    empty.mkdir()
    pairs = Pairs((here, empty), (here, empty), tmp_path, [], GateOptions(pairs=1))
    with pytest.raises(GateError, match="the A/B run produced no result"):
        pairs.run(Clock(600))


def test_the_slices_get_the_last_cpu_and_the_counts_the_others() -> None:
    available = sorted(os.sched_getaffinity(0))
    timed, counted = split_cpus(None)
    assert timed == str(available[-1])
    assert counted == (",".join(map(str, available[:-1])) or None)
    timed, counted = split_cpus(str(available[0]))
    assert timed == str(available[0])
    assert counted == (",".join(map(str, available[1:])) or None)


@pytest.mark.slow
def test_counting_runs_beside_the_pairs_and_hands_its_options_over(
    suites: Path, tmp_path: Path
) -> None:
    cpu = str(max(os.sched_getaffinity(0)))
    counting = Counting(tmp_path, sides(suites), ["--only", "tiny.sum"], cpu)
    counting.start()
    try:
        options = counting.finish()
    finally:
        counting.stop()
    assert options[-1] == str(tmp_path / "head-instructions.json")
    assert (tmp_path / "base-instructions.json").exists()


def test_more_wanted_reads_the_needs_more_file(tmp_path: Path) -> None:
    path = tmp_path / "needs-more.json"
    assert more_wanted(path, 12).ids == []  # no file: nothing wanted
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "tool": "perfkit-report check",
                "benchmarks": [
                    {"benchmark": "b.y", "channel": "time", "suggested": 30},
                    {"benchmark": "a.x", "channel": "time", "suggested": 20},
                    {"benchmark": "c.z", "channel": "instructions", "suggested": 40},
                ],
            }
        )
    )
    wanted = more_wanted(path, 12)
    assert wanted.ids == ["a.x", "b.y"]  # instructions cannot take more pairs
    assert wanted.extra == 28  # the largest suggestion minus the pairs there are


def test_the_check_command(tmp_path: Path) -> None:
    options = GateOptions(fail_on="major", fail_on_inconclusive=True, out=tmp_path, no_store=True)
    check = Check(options, Workspace(head_python=Path("py")), "main@12345678")
    command = check.with_inputs("--base", "b.json").command("--needs-more", "n.json")
    assert command[:4] == ["py", "-m", "perfkit_report", "check"]
    assert command[command.index("--head-label") + 1] == "main@12345678"
    assert command[command.index("--fail-on") + 1] == "major"
    assert command[-5:] == ["--fail-on-inconclusive", "--base", "b.json", "--needs-more", "n.json"]


def test_regressed_benchmarks_once_each_in_order(tmp_path: Path) -> None:
    verdict = tmp_path / "verdict.json"
    verdict.write_text(
        json.dumps(
            {
                "verdicts": [
                    {"benchmark": "b", "channel": "time", "verdict": "regressed"},
                    {"benchmark": "a", "channel": "time", "verdict": "same"},
                    {"benchmark": "c", "channel": "time", "verdict": "regressed"},
                    {"benchmark": "b", "channel": "instructions", "verdict": "regressed"},
                ]
            }
        )
    )
    assert regressed(verdict) == ["b", "c"]


def test_profile_diffs_are_json_and_perfkit_report_writes_the_comment(tmp_path: Path) -> None:
    diff = diff_command(Path("py"), "base/cap", "head/cap", tmp_path / "profile-diffs" / "a.b")
    assert diff == [
        "py", "-m", "perfkit_profile", "diff", "--format", "json",
        "--out", str(tmp_path / "profile-diffs" / "a.b"), "base/cap", "head/cap",
    ]  # fmt: skip
    diffs = [tmp_path / "profile-diffs" / "a.b" / "diff.json"]
    command = comment_command(Path("py"), tmp_path, diffs, ["c.d"], "https://x.example/r/1")
    assert command[:4] == ["py", "-m", "perfkit_report", "append-profile-diffs"]
    assert command[command.index("--comment") + 1] == str(tmp_path / "comment.md")
    assert command[command.index("--artifact-root") + 1] == str(tmp_path)
    assert command[command.index("--artifact-url") + 1] == "https://x.example/r/1"
    assert command[command.index("--missing") + 1] == "c.d"
    assert command[-1] == str(diffs[0])
    assert "--artifact-url" not in comment_command(Path("py"), tmp_path, diffs, [], None)


def test_the_artifact_link_is_the_actions_run_page() -> None:
    environ = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "o/perfkit",
        "GITHUB_RUN_ID": "123",
    }
    assert artifact_url(environ) == "https://github.com/o/perfkit/actions/runs/123"
    assert artifact_url({**environ, "GITHUB_RUN_ID": ""}) is None
    assert artifact_url({}) is None


def test_tool_codes_0_1_2_are_answers_others_a_crash() -> None:
    for code in (0, 1, 2):
        assert run_tool("t", [sys.executable, "-c", f"raise SystemExit({code})"]) == code
    with pytest.raises(GateError, match=r"t crashed \(exit 3\)"):
        run_tool("t", [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(GateError, match="cannot be started"):
        run_tool("t", ["/no/such/program"])


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "uncommitted changes; commit or stash them"),
        (["--allow-dirty", "--base", "nope"], "--base 'nope' is not a commit here"),
        (["--allow-dirty", "--against-baseline", "main"], "history.db does not exist"),
    ],
)
def test_no_verdict_is_exit_2_with_one_line(tmp_path: Path, extra: list[str], message: str) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "f").write_text("a")
    git(tmp_path, "add", "f")
    git(tmp_path, "commit", "-q", "-m", "a")
    (tmp_path / "f").write_text("b")
    done = subprocess.run(
        [sys.executable, "-m", "perfkit_bench", "regression", *extra],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("perfkit-bench: error: ")
    assert message in done.stderr
    assert done.stderr.count("\n") == 1
