"""Isolated sessions for perfkit: tests, lint, typecheck (and, as their issues land, bench and regression).

Each package's tests run in an environment holding only that package and its own test extra, so an
undeclared import of another perfkit package fails there.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

import nox
import nox.command

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
PYTHON = "3.11"
# zizmor: the GitHub Actions static analyser (pinned actions, credentials, injection, triggers).
LINT_DEPS = ["ruff==0.17.5", "zizmor==1.32.0"]
# nox and invoke ship their own type information: noxfile.py and tasks.py are checked with them.
TYPECHECK_DEPS = ["mypy==2.4.1", "hypothesis", "pytest", "nox==2026.10.20", "invoke==3.0.3"]
# Libraries the suites measure beside the runtime (reference implementations, optional codecs).
BENCH_DEPS = ["pykka==4.5.0", "orjson", "msgpack", "faster-fifo"]
# One process, one value, no warm-up, one loop: enough to prove a benchmark runs and reports.
SMOKE_KNOBS = ["--processes", "1", "--values", "1", "--warmups", "0", "--loops", "1", "--quiet"]
# The root tests call `inv` and `nox` as a user does (tests/): the drivers of requirements.txt.
ROOT_TEST_DEPS = ["-r", "requirements.txt", "pytest", "pytest-timeout"]


# The commands some sessions need from the system, and the Debian package that brings each:
# the report's and the profile pages' browser tests drive chromium, perfkit-bench's instructions
# channel runs valgrind.
SYSTEM_PACKAGES = {"chromium": "chromium", "valgrind": "valgrind"}
SESSION_TOOLS = {"report": ["chromium"], "profile": ["chromium"], "bench": ["valgrind"]}
# Where Debian installs them, looked at after an install when PATH does not hold that folder.
SYSTEM_BIN = ["/usr/bin", "/bin", "/usr/local/bin"]


@nox.session(python=PYTHON)
@nox.parametrize("package", [*PACKAGES, "runtime-ray", "benchmarks", "root"])
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests (only that package installed), Ray mode against a local Ray,
    smoke-run the benchmark suites, or test the composition root (tasks.py and noxfile.py, as a
    user calls them)."""
    system_tools(session, *SESSION_TOOLS.get(package, []))
    if package == "runtime-ray":
        ray_tests(session)
        return
    if package == "root":
        session.install(*ROOT_TEST_DEPS)
        session.run("pytest", "tests", *session.posargs)
        return
    if package == "benchmarks":
        session.install(
            "./packages/runtime[fast]",
            "./packages/bench",
            "./packages/report",  # the toolkit suite measures perfkit-report itself
            "./packages/profile[all]",  # the gate's --profile-regressions step (test_gate_profiles)
            *BENCH_DEPS,
            "pytest",
            "pytest-timeout",
        )
        session.run("pytest", "benchmarks/tests", *session.posargs)
        return
    session.install("-e", f"packages/{package}[test]")
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


def ray_tests(session: nox.Session) -> None:
    """Ray mode against a real local Ray, then its benchmarks smoke-run: its own session because
    Ray is a 285 MB install and takes ~10 s to start, which the runtime's own tests do not pay."""
    session.install("-e", "packages/runtime[test,ray]", "./packages/bench")
    session.run("pytest", "packages/runtime/tests_ray", *session.posargs)
    output = Path(session.create_tmp()) / "ray-smoke.json"
    output.unlink(missing_ok=True)
    session.run(
        "perfkit-bench",
        "run",
        "benchmarks/message_throughput.py",
        "benchmarks/concurrent_load.py",
        "-k",
        "ray",
        *SMOKE_KNOBS,
        "--output",
        str(output),
    )


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff, functions' length, and the workflows with zizmor."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # Offline: the audits that need GitHub's API (e.g. known-vulnerable action versions) are off.
    session.run("zizmor", "--offline", ".github/workflows/")
    too_long = _long_functions(MAX_FUNCTION_LINES)
    if too_long:
        session.error(f"functions over {MAX_FUNCTION_LINES} lines: {', '.join(too_long)}")


# Ruff's complexity rules (pyproject.toml) count branches and statements, not lines: an argument
# parser of 40 add_argument calls passes them at 120 lines. 80 lines is one screen with its context.
MAX_FUNCTION_LINES = 80


def _long_functions(limit: int) -> list[str]:
    """`path:line name (N lines)` of every function in the tree longer than ``limit`` lines."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue  # .nox environments, .git
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > limit:
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.append(f"{where} {node.name} ({lines} lines)")
    return found


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package's src/, noxfile.py and tasks.py with mypy in strict mode."""
    session.install(*TYPECHECK_DEPS, *(f"-e./packages/{p}[test]" for p in PACKAGES))
    session.run(
        "mypy", *(f"packages/{p}/src" for p in PACKAGES), "noxfile.py", "tasks.py", *session.posargs
    )


# Examples per property test in `nox -s fuzz` (the test suite runs 200 of each, the same ones
# every time); override with `nox -s fuzz -- N`.
FUZZ_EXAMPLES = "5000"


@nox.session(python=PYTHON, default=False)
def fuzz(session: nox.Session) -> None:
    """Run perfkit-report's property tests of its input contract with many fresh examples."""
    session.install("-e", "packages/report[test]")
    examples = session.posargs[0] if session.posargs else FUZZ_EXAMPLES
    session.run(
        "pytest",
        "packages/report/tests/test_input_fuzz.py",
        "--hypothesis-show-statistics",
        "-p",
        "no:cacheprovider",
        "-o",
        "timeout=0",
        env={"PERFKIT_FUZZ_EXAMPLES": examples},
    )


@nox.session(python=PYTHON, default=False)
def example(session: nox.Session) -> None:
    """Run every program in examples/ against the runtime built as a wheel."""
    session.install("./packages/runtime[fast]")
    for script in sorted((ROOT / "examples").glob("*.py")):
        run_passing_code(session, "python", str(script), *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmark suites with pyperf against the runtime installed from a built wheel."""
    # Not editable: the measured code is what a user installs, byte-compiled in site-packages.
    # perfkit-report too: the toolkit suite measures it (render and ingest speed).
    session.install(
        "./packages/runtime[fast]", "./packages/bench", "./packages/report", *BENCH_DEPS
    )
    run_passing_code(session, "perfkit-bench", "run", "benchmarks", *session.posargs)


@nox.session(python=PYTHON, default=False)
def profile(session: nox.Session) -> None:
    """Profile a target under scalene, memray and py-spy (perfkit-profile ARGS; default: list)."""
    # perfkit-bench is installed beside perfkit-profile so `perfkit-profile` can ask
    # `python -m perfkit_bench list --json` for the registry; neither imports the other.
    # perfkit-report is the workload of the toolkit suite (target "report"), as in `bench`.
    session.install(
        "./packages/runtime[fast]",
        "./packages/bench",
        "./packages/report",
        "./packages/profile[all]",
        *BENCH_DEPS,
    )
    run_passing_code(session, "perfkit-profile", *(session.posargs or ["list"]))


@nox.session(python=PYTHON, default=False)
def history(session: nox.Session) -> None:
    """Run perfkit-report (ingest, summary, prune, baseline, render, ingest-profile) on the history."""
    session.install("./packages/report")
    run_passing_code(session, "perfkit-report", *session.posargs)


# -- the regression gate ---------------------------------------------------------------------------
#
# The gate's logic is `perfkit-bench regression` (packages/bench, docs/regression.md); this
# session installs the head and tells the driver what this repository's sides are made of.

# What each side installs from its own revision: the measured code.
GATE_MEASURED = ["packages/runtime[fast]"]
# What both sides install alike: the harness (this checkout's) and the libraries the suites use.
GATE_INSTALL = ["packages/bench", *BENCH_DEPS]
GATE_PROFILERS = ["packages/profile[all]"]
# The quick check: tell and ask in the three delivery modes, time channel only (about 2 minutes).
GATE_QUICK = [
    f"message_throughput.{scenario}.{mode}"
    for scenario in ("tell", "ask")
    for mode in ("sync", "threads", "asyncio")
]
# The full check: the runtime's suites (the toolkit suite measures perfkit-report itself).
GATE_SUITES = [
    "message_throughput",
    "agent_spawning",
    "memory_usage",
    "database_queries",
    "concurrent_load",
]


@nox.session(python=PYTHON, default=False)
def regression(session: nox.Session) -> None:
    """The regression gate: paired, interleaved A/B of base and head (docs/regression.md)."""
    profilers = GATE_PROFILERS if "--profile-regressions" in session.posargs else []
    if not {"--quick", "--no-instructions"} & set(session.posargs):
        system_tools(session, "valgrind")  # the instructions channel
    session.install(
        *(f"./{spec}" for spec in [*GATE_MEASURED, "packages/bench", "packages/report"]),
        *profilers,
        *BENCH_DEPS,
    )
    layout = [
        *(arg for spec in GATE_MEASURED for arg in ("--measured", spec)),
        *(arg for spec in GATE_INSTALL for arg in ("--install", spec)),
        *(arg for spec in GATE_PROFILERS for arg in ("--profile-install", spec)),
        *(arg for bench_id in GATE_QUICK for arg in ("--quick-only", bench_id)),
        *(arg for suite in GATE_SUITES for arg in ("--default-suite", suite)),
        "--work-dir",
        ".nox/regression",
        "--reproduce-with",
        "nox -s regression --",
    ]
    # The gate's exit code is its answer (0 pass, 1 regression, 2 no verdict), so it is passed
    # on as is: session.run would turn every failure into nox's own exit 1. PYTHONPATH is
    # dropped (nox removes a variable given as None) so only what the session installed is seen.
    run_passing_code(
        session, "perfkit-bench", "regression", *layout, *session.posargs, env={"PYTHONPATH": None}
    )


# -- what every session shares -------------------------------------------------------------------


def run_passing_code(session: nox.Session, *args: str, **kwargs: Any) -> None:
    """``session.run``, with the tool's own exit code as nox's: 1 a finding, 2 bad input.

    session.run turns every failure into nox's exit 1, so `inv profile --target nope` (the
    tool's 2) would read as a failed run. Leaving by SystemExit stops this nox invocation,
    which is what these single-command sessions want. Keyword arguments go to session.run.
    """
    try:
        session.run(*args, **kwargs)
    except nox.command.CommandFailed as failed:
        raise SystemExit(failed.return_code or 1) from None


_apt_updated = False


def system_tools(session: nox.Session, *tools: str) -> None:
    """Make sure each command is on PATH: install its Debian package when missing (root with
    apt-get: `apt-get update` once, then `apt-get install -y`), else stop at once with one line
    giving the command to run (exit 2, as any missing prerequisite of a task)."""
    global _apt_updated
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    packages = [SYSTEM_PACKAGES[tool] for tool in missing]
    command = f"apt-get update && apt-get install -y {' '.join(packages)}"
    names = " and ".join(missing)
    if shutil.which("apt-get") is None:
        _stop(
            f"{names} not found and this system has no apt-get: install {' '.join(packages)} "
            "with its package manager, then run this command again"
        )
    if os.geteuid() != 0:
        _stop(f"{names} not found: run `sudo sh -c '{command}'`, then this command again")
    session.log(f"{names} not on PATH: installing Debian's {' '.join(packages)}")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        session.run_install("apt-get", "update", "-qq", external=True, env=env)
        _apt_updated = True
    session.run_install("apt-get", "install", "-y", "-qq", *packages, external=True, env=env)
    for tool in missing:
        found = _find(tool)
        if found is None:
            _stop(f"{tool} is still not found after `{command}`; install it by hand")
        if shutil.which(tool) is None:  # installed into a folder PATH does not list
            folder = str(Path(found).parent)
            # On top of what an earlier tool's folder made of the session's PATH.
            base = session.env.get("PATH") or os.environ.get("PATH", "")
            session.env["PATH"] = os.pathsep.join([folder, base])


def _find(tool: str) -> str | None:
    """The command on PATH, else where Debian puts it (for a PATH that hides that folder)."""
    return shutil.which(tool) or shutil.which(tool, path=os.pathsep.join(SYSTEM_BIN))


def _stop(line: str) -> NoReturn:
    """One line on stderr and exit 2: a prerequisite the user must provide."""
    print(f"nox > {line}", file=sys.stderr)
    raise SystemExit(2)
