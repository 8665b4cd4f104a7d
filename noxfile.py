"""Isolated sessions for perfkit: tests, lint, typecheck (and, as their issues land, bench and regression).

Each package's tests run in an environment holding only that package and its own test extra, so an
undeclared import of another perfkit package fails there.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PACKAGES = sorted(p.name for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
PYTHON = "3.11"
LINT_DEPS = ["ruff==0.17.5"]
TYPECHECK_DEPS = ["mypy==2.4.1", "hypothesis", "pytest"]
# Libraries the suites measure beside the runtime (reference implementations, optional codecs).
BENCH_DEPS = ["pykka==4.5.0", "orjson", "msgpack"]


@nox.session(python=PYTHON)
@nox.parametrize("package", [*PACKAGES, "benchmarks"])
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests (only that package installed), or smoke-run the benchmark suites."""
    if package == "benchmarks":
        session.install(
            "./packages/runtime[fast]",
            "./packages/bench",
            "./packages/report",  # the toolkit suite measures perfkit-report itself
            *BENCH_DEPS,
            "pytest",
            "pytest-timeout",
        )
        session.run("pytest", "benchmarks/tests", *session.posargs)
        return
    session.install("-e", f"packages/{package}[test]")
    session.run("pytest", f"packages/{package}/tests", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*LINT_DEPS)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check every package's src/ with mypy in strict mode."""
    session.install(*TYPECHECK_DEPS, *(f"-e./packages/{p}[test]" for p in PACKAGES))
    session.run("mypy", *(f"packages/{p}/src" for p in PACKAGES), *session.posargs)


@nox.session(python=PYTHON, default=False)
def example(session: nox.Session) -> None:
    """Run every program in examples/ against the runtime built as a wheel."""
    session.install("./packages/runtime[fast]")
    for script in sorted((ROOT / "examples").glob("*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Run the benchmark suites with pyperf against the runtime installed from a built wheel."""
    # Not editable: the measured code is what a user installs, byte-compiled in site-packages.
    # perfkit-report too: the toolkit suite measures it (render and ingest speed).
    session.install(
        "./packages/runtime[fast]", "./packages/bench", "./packages/report", *BENCH_DEPS
    )
    session.run("perfkit-bench", "run", "benchmarks", *session.posargs)


@nox.session(python=PYTHON, default=False)
def profile(session: nox.Session) -> None:
    """Profile a target's workload under scalene and memray (perfkit-profile ARGS; default: list)."""
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
    session.run("perfkit-profile", *(session.posargs or ["list"]))


@nox.session(python=PYTHON, default=False)
def history(session: nox.Session) -> None:
    """Run perfkit-report (ingest, summary, prune, baseline, render, ingest-profile) on the history."""
    session.install("./packages/report")
    session.run("perfkit-report", *session.posargs)
