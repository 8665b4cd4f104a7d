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


@nox.session(python=PYTHON)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's test suite in an environment holding only that package."""
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
