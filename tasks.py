"""Tasks for people: thin wrappers over nox sessions and the packages' command lines.

`inv --list` shows them. Each task only composes; the work lives in the packages.
"""

from __future__ import annotations

import shutil

from invoke import Context, Exit, task


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
