"""The composition root's tests: `inv` tasks and nox sessions run as a user runs them.

Each test calls the real command line in the repository root as a subprocess, with tiny inputs
and its history in a temporary folder; the nox sessions they start build (or reuse) their
environments under .nox/ as `inv` itself does.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPERF_FILE = ROOT / "packages/report/tests/data/pyperf/telco.json"

Run = Callable[..., subprocess.CompletedProcess[str]]


def user_environment() -> dict[str, str]:
    """The caller's environment less the outer nox session's virtualenv marker, so each inner
    nox builds its own sessions as it does for a user."""
    env = dict(os.environ)
    # inv's nox reuses the environments it built before, without reinstalling (tasks.py NOX).
    env["PERFKIT_NOX"] = "nox -R"
    env.pop("VIRTUAL_ENV", None)
    env.pop("NOX_CURRENT_SESSION", None)
    return env


@pytest.fixture
def environment() -> dict[str, str]:
    """A copy of the environment a user's command gets (see ``user_environment``)."""
    return user_environment()


@pytest.fixture
def run() -> Run:
    """Run a command in the repository root; its CompletedProcess (text, both streams kept)."""

    def call(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            cwd=ROOT,
            env=env or user_environment(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    return call


@pytest.fixture
def history(tmp_path: Path, run: Run) -> Path:
    """A history.db holding one run (pyperf's telco example), made with the real CLI."""
    db = tmp_path / "history.db"
    done = run("nox", "-R", "-s", "history", "--", "ingest", "--db", str(db), str(PYPERF_FILE))
    assert done.returncode == 0, done.stderr
    return db
