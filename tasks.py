"""Tasks for people: thin wrappers over nox sessions and the packages' command lines.

`inv --list` shows them. Each task only composes; the work lives in the packages.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from pathlib import Path

from invoke import Context, Exit, task

HISTORY = "history.db"
TARGETS = "benchmarks/targets.toml"


def _require(tool: str, fix: str) -> None:
    if shutil.which(tool) is None:
        raise Exit(f"{tool} is not on PATH; {fix}", code=2)


@task(help={"package": "only this package's tests (runtime, bench, profile, report)"})
def test(c: Context, package: str = "") -> None:
    """Run the test suites, each package in its own isolated environment."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    session = f"tests(package='{package}')" if package else "tests"
    c.run(f'nox -s "{session}"', pty=False)


@task
def check(c: Context) -> None:
    """Lint (ruff) and type-check (mypy strict) the whole workspace."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    c.run("nox -s lint typecheck")


@task
def example(c: Context) -> None:
    """Run the multi-agent examples from examples/ against a freshly built runtime."""
    _require("nox", "install the drivers: python -m pip install -r requirements.txt")
    c.run("nox -s example")


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
    result = c.run(f"nox -s bench -- {shlex.join(args)}", warn=True)
    if not Path(output).exists():
        raise Exit(
            f"the benchmark run wrote no result file ({output}); see the errors above", code=1
        )
    c.run(f"nox -s history -- ingest --db {shlex.quote(db)} {shlex.quote(output)}")
    c.run(
        f"nox -s history -- summary --db {shlex.quote(db)} --run latest "
        f"--targets {shlex.quote(TARGETS)}"
    )
    if result is not None and result.exited != 0:
        raise Exit("some benchmarks failed; they are listed above", code=result.exited)


@task(help={"db": "history store", "days": "keep raw samples this many days"})
def prune(c: Context, db: str = HISTORY, days: int = 90) -> None:
    """Drop raw samples older than the window (summaries and pinned baselines stay)."""
    c.run(f"nox -s history -- prune --db {shlex.quote(db)} --days {int(days)}")
