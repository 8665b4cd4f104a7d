"""Tasks for people: thin wrappers over nox sessions and the packages' command lines.

`inv --list` shows them. Each task only composes; the work lives in the packages.

Exit codes (docs/ci.md): 0 done, 1 a finding (a regression, a failed benchmark, a profiled
workload that crashed) or a command that failed, 2 bad usage or input. A tool's own code comes
through nox unchanged (noxfile.py ``run_passing_code``) and through ``c.run``: a failing command
stops the task and `inv` exits with that command's code. Numbers are taken as text and checked
here, so a bad one is exit 2 with one line rather than invoke's traceback (invoke's own parser
errors, an unknown task or flag, exit 1: that is invoke's code, not a task's).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

# The nox command the tasks run: `PERFKIT_NOX="nox -R" inv bench` reuses the sessions'
# environments without reinstalling (the root tests do; so can anyone iterating).
NOX = os.environ.get("PERFKIT_NOX", "nox")
HISTORY = "history.db"
TARGETS = "benchmarks/targets.toml"
# What `inv test --package` accepts: the packages, the runtime's ray suite, the benchmark smoke
# runs, the root tests (noxfile.py's tests sessions).
_PACKAGES = Path(__file__).parent / "packages"
TEST_SESSIONS = sorted(
    [p.name for p in _PACKAGES.iterdir() if (p / "pyproject.toml").exists()]
    + ["runtime-ray", "benchmarks", "root"]
)


def _require(tool: str, fix: str) -> None:
    if shutil.which(tool) is None:
        raise Exit(f"{tool} is not on PATH; {fix}", code=2)


def _number(flag: str, text: str, kind: type[int] | type[float], least: float = 0) -> str:
    """``text`` checked as a number of ``kind`` >= ``least`` and given back as text, or exit 2."""
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value < least:
        what = "a whole number" if kind is int else "a number"
        raise Exit(f"{flag} {text!r}: give {what} >= {least:g}", code=2)
    return text


@task(
    help={
        "package": "only these tests: a package (runtime, bench, profile, report), runtime-ray, "
        "benchmarks or root"
    }
)
def test(c: Context, package: str = "") -> None:
    """Run the test suites, each package in its own isolated environment."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    if package and package not in TEST_SESSIONS:
        raise Exit(f"--package {package!r}: choose one of {', '.join(TEST_SESSIONS)}", code=2)
    session = f"tests(package='{package}')" if package else "tests"
    c.run(f'{NOX} -s "{session}"', pty=False)


@task
def check(c: Context) -> None:
    """Lint (ruff) and type-check (mypy strict) the whole workspace."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    c.run(f"{NOX} -s lint typecheck")


@task
def example(c: Context) -> None:
    """Run the multi-agent examples from examples/ against a freshly built runtime."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    c.run(f"{NOX} -s example")


def _result_path() -> str:
    """results/<UTC yyyymmddTHHMMSSZ>-<short commit>.json, perfkit-bench's own naming."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "nocommit"
    return f"results/{stamp}-{commit or 'nocommit'}.json"


@task(
    help={
        "fast": "smoke run: seconds per benchmark (pyperf --fast)",
        "rigorous": "more worker processes (pyperf --rigorous)",
        "suite": "only this suite",
        "target": "only this target (spawning, routing, serialization, history, database, load)",
        "k": "only benchmarks whose id contains this text or matches this glob",
        "affinity": "pin worker processes to these CPUs, e.g. 0",
        "db": "history store to record the run in",
    }
)
def bench(
    c: Context,
    fast: bool = False,
    rigorous: bool = False,
    suite: str = "",
    target: str = "",
    k: str = "",
    affinity: str = "",
    db: str = HISTORY,
) -> None:
    """Benchmark the runtime in an isolated environment, record the run, print the summary."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    if fast and rigorous:
        raise Exit("choose one of --fast and --rigorous", code=2)
    output = _result_path()
    Path(output).parent.mkdir(exist_ok=True)
    args = ["--output", output]
    args += ["--fast"] if fast else ["--rigorous"] if rigorous else []
    for flag, value in (
        ("--suite", suite),
        ("--target", target),
        ("-k", k),
        ("--affinity", affinity),
    ):
        if value:
            args += [flag, value]
    # warn=True: a run where some benchmarks failed (exit 1) still wrote its file; record it.
    result = c.run(f"{NOX} -s bench -- {shlex.join(args)}", warn=True)
    code = result.exited if result is not None else 1
    if code == 2 or not Path(output).exists():  # bad input (2) passes on as it is
        raise Exit(f"the benchmark run wrote no result file ({output}); see above", code=code or 1)
    c.run(f"{NOX} -s history -- ingest --db {shlex.quote(db)} {shlex.quote(output)}")
    c.run(
        f"{NOX} -s history -- summary --db {shlex.quote(db)} --run latest "
        f"--targets {shlex.quote(TARGETS)}"
    )
    if result is not None and result.exited != 0:
        raise Exit("some benchmarks failed; they are listed above", code=result.exited)


@task(
    help={
        "target": "the target to profile (spawning, routing, serialization, history, database, load)",
        "list": "list the targets and the workload each one profiles",
        "profiler": "scalene, memray, py-spy or all (default all)",
        "duration": "seconds the workload runs under each profiler (default 5)",
        "benchmark": "profile this benchmark id of the target instead of its default",
    }
)
def profile(
    c: Context,
    target: str = "",
    list_: bool = False,
    profiler: str = "all",
    duration: str = "",
    benchmark: str = "",
) -> None:
    """Profile a target under scalene, memray and py-spy into profiles/<capture>/ (offline pages,
    the CPU flame graph and its folded stacks, summary.json)."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    if list_:
        c.run(f"{NOX} -s profile -- list")
        return
    if not target:
        raise Exit("name a target: inv profile --target routing (inv profile --list shows them)", 2)
    args = ["run", target, "--profiler", profiler]
    if duration:
        args += ["--duration", _number("--duration", duration, float)]
    if benchmark:
        args += ["--benchmark", benchmark]
    c.run(f"{NOX} -s profile -- {shlex.join(args)}")


@task(
    help={
        "db": "history store to read",
        "out": "folder for index.html, report.md and analysis.md",
        "targets": "targets file (goals, severity bands)",
    }
)
def report(c: Context, db: str = HISTORY, out: str = "reports", targets: str = TARGETS) -> None:
    """Write the offline HTML dashboard, report.md and analysis.md from the history; print paths."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    if not Path(db).exists():
        raise Exit(f"{db} does not exist yet; run `inv bench` first (it records every run)", code=2)
    # Profile captures are stored (idempotently) first so the report links the latest ones;
    # a capture that cannot be read is reported and does not stop the report.
    captures = sorted(str(p.parent) for p in Path("profiles").glob("*/summary.json"))
    if captures:
        c.run(
            f"{NOX} -s history -- ingest-profile --db {shlex.quote(db)} {shlex.join(captures)}",
            warn=True,
        )
    c.run(
        f"{NOX} -s history -- render --db {shlex.quote(db)} --out {shlex.quote(out)} "
        f"--targets {shlex.quote(targets)}"
    )


@task(help={"db": "history store", "days": "keep raw samples this many days"})
def prune(c: Context, db: str = HISTORY, days: str = "90") -> None:
    """Drop raw samples older than the window (summaries and pinned baselines stay)."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    days = _number("--days", days, float)
    c.run(f"{NOX} -s history -- prune --db {shlex.quote(db)} --days {shlex.quote(days)}")


def _exit_with(result: object, what: str) -> None:
    """Pass a nox session's exit code on: the gate's 1 (regression) and 2 (bad input) matter."""
    code = getattr(result, "exited", 0) or 0
    if code:
        raise Exit(f"{what} exited {code} (see above)", code=code)


@task(
    help={
        "base": "base revision (default: the merge-base of HEAD with main)",
        "against_baseline": "compare a fresh run with this stored baseline instead",
        "quick": "core benchmarks only, fewer pairs (about 2 minutes)",
        "pairs": "A/B pairs per benchmark (default 12, fewer if the budget runs out)",
        "budget": "seconds the check may take, extra pairs for inconclusive ones included",
        "suite": "only this suite",
        "k": "only benchmarks whose id contains this text or matches this glob",
        "fail_on": "minor, major or critical: the least severity that fails (default minor)",
        "allow_dirty": "measure uncommitted changes as the head",
        "profile_regressions": "profile regressed benchmarks on both sides: differential flame "
        "graphs in OUT/profile-diffs/, the growing frames in the comment",
        "db": "history store for the verdicts",
    }
)
def regression(
    c: Context,
    base: str = "",
    against_baseline: str = "",
    quick: bool = False,
    pairs: str = "",
    budget: str = "",
    suite: str = "",
    k: str = "",
    fail_on: str = "minor",
    allow_dirty: bool = False,
    profile_regressions: bool = False,
    db: str = HISTORY,
) -> None:
    """The regression gate: paired A/B of the base and your head; exit 1 on a regression."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    args = ["--fail-on", fail_on, "--db", db]
    for flag, value in (
        ("--base", base),
        ("--against-baseline", against_baseline),
        ("--pairs", pairs and _number("--pairs", pairs, int, 1)),
        ("--budget", budget and _number("--budget", budget, float)),
        ("--suite", suite),
        ("-k", k),
    ):
        if value:
            args += [flag, value]
    for flag, on in (
        ("--quick", quick),
        ("--allow-dirty", allow_dirty),
        ("--profile-regressions", profile_regressions),
    ):
        if on:
            args.append(flag)
    _exit_with(c.run(f"{NOX} -s regression -- {shlex.join(args)}", warn=True), "the gate")


@task(
    help={
        "name": "baseline name (default main)",
        "run": "run id to point it at, or latest (default)",
        "branch": "take that branch's latest run and record the branch",
        "list_": "list the baselines",
        "delete": "delete the baseline NAME",
        "unpin": "unpin NAME (pruning may then drop its raw samples)",
        "db": "history store",
    }
)
def baseline(
    c: Context,
    name: str = "main",
    run: str = "latest",
    branch: str = "",
    list_: bool = False,
    delete: bool = False,
    unpin: bool = False,
    db: str = HISTORY,
) -> None:
    """Set (and pin) a named baseline from the latest run or a given run; list, delete, unpin."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    if not Path(db).exists():
        raise Exit(f"{db} does not exist yet; run `inv bench` first (it records every run)", 2)
    if sum((list_, delete, unpin)) > 1:
        raise Exit("choose one of --list, --delete and --unpin", code=2)
    if list_:
        args = ["baseline", "list"]
    elif delete:
        args = ["baseline", "delete", name]
    elif unpin:
        args = ["baseline", "unpin", name]
    else:
        args = ["baseline", "set", name, "--run", run]
        if branch:
            args += ["--branch", branch]
    args += ["--db", db]
    _exit_with(c.run(f"{NOX} -s history -- {shlex.join(args)}", warn=True), "perfkit-report")


@task(
    help={
        "checks": "checks per session: pairs = checks x pairs-per-check (default 30)",
        "pairs_per_check": "pairs one simulated check uses (default 12, the gate's default)",
        "levels": "injected slowdowns in percent, comma-separated (default 2,5,10)",
        "threshold": "practical threshold in percent for every benchmark (default 1)",
        "suite": "evaluate on this suite instead of the quick check's tell/ask benchmarks",
        "target": "with --suite: only this target",
        "neighbour": "a busy process on the CPU of the timed slices during every session",
        "out": "folder for the sessions and the evaluation report",
        "db": "history store for the evaluation rows",
    }
)
def evaluate(
    c: Context,
    checks: str = "30",
    pairs_per_check: str = "12",
    levels: str = "2,5,10",
    threshold: str = "1",
    suite: str = "",
    target: str = "",
    neighbour: bool = False,
    out: str = "reports/evaluate",
    db: str = HISTORY,
) -> None:
    """Measure the gate itself: A/A false alarms, and power against injected 2/5/10 % slowdowns."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    try:
        percents = [float(p) for p in levels.split(",") if p.strip()]
    except ValueError:
        raise Exit(f"--levels {levels!r}: write percentages like 2,5,10", code=2) from None
    checks = _number("--checks", checks, int, 1)
    pairs_per_check = _number("--pairs-per-check", pairs_per_check, int, 3)
    threshold = _number("--threshold", threshold, float)
    cpu = max(os.sched_getaffinity(0))  # the timed slices' CPU, and the neighbour's
    common = [
        "--aa",
        "--collect-only",
        "--allow-dirty",
        "--pairs",
        str(int(checks) * int(pairs_per_check)),
        "--budget",
        "100000",
        "--no-instructions",
        "--affinity",
        str(cpu),
    ]
    # The benchmarks of the quick check (tell and ask in three modes) unless told otherwise.
    common += ["--suite", suite] if suite else ["--quick"]
    common += ["--target", target] if target else []
    sessions = [("aa", None)] + [(f"inject-{p:g}", p) for p in percents]
    for name, percent in sessions:
        args = [*common, "--out", f"{out}/{name}"]
        if percent is not None:
            args += ["--inject-head", f"{percent:g}"]
        with _busy_neighbour(cpu if neighbour else None):
            result = c.run(f"{NOX} -s regression -- {shlex.join(args)}", warn=True)
        _exit_with(result, "the A/B run")
    evaluate_args = ["evaluate", "--aa", f"{out}/aa/ab"]
    for name, _ in sessions[1:]:
        evaluate_args += ["--inject", f"{out}/{name}/ab"]
    evaluate_args += [
        "--pairs-per-check",
        pairs_per_check,
        "--threshold",
        threshold,
        "--targets",
        TARGETS,
        "--db",
        db,
        "--out",
        f"{out}/evaluation.md",
        "--json",
        f"{out}/evaluation.json",
    ]
    _exit_with(
        c.run(f"{NOX} -s history -- {shlex.join(evaluate_args)}", warn=True), "perfkit-report"
    )


@contextlib.contextmanager
def _busy_neighbour(cpu: int | None) -> Iterator[None]:
    """A process spinning on ``cpu`` (a noisy neighbour, the evaluation's worst case) while the
    block runs; nothing when ``cpu`` is None."""
    if cpu is None:
        yield
        return
    spin = subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spin.kill()
        spin.wait()
