"""Shared fixtures: writing suite files into tmp_path, and running the CLI as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# The smallest pyperf settings that still go through real worker processes: two processes of
# two values, no warmup, one loop (no calibration). A time benchmark then costs ~1 s here.
TINY = ["--processes", "2", "--values", "2", "--warmups", "0", "--loops", "1"]

WriteSuite = Callable[..., Path]
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(autouse=True)
def _isolated_imports() -> Iterator[None]:
    """Suites are imported as top-level modules with their folder on sys.path: undo that."""
    path = list(sys.path)
    modules = set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


@pytest.fixture
def write_suite(tmp_path: Path) -> WriteSuite:
    """``write_suite("name", source, folder="benchmarks")`` writes ``folder/name.py``."""

    def write(name: str, source: str, folder: str = "benchmarks") -> Path:
        directory = tmp_path / folder
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.py"
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    return write


@pytest.fixture
def tiny() -> list[str]:
    return list(TINY)


@pytest.fixture
def run_cli() -> RunCli:
    """Run ``python -m perfkit_bench ARGS`` in ``cwd`` and return the completed process."""

    def run(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "perfkit_bench", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )

    return run


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that contain ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def live_processes() -> Callable[[str], list[str]]:
    return processes_mentioning
