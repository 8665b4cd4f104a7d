"""Shared fixtures: tiny workload suites and registry files in tmp_path, the CLI as a process.

The tests need no other perfkit package: targets come from registry JSON written here (what
``perfkit-bench list --json`` prints), and workloads are plain functions in files written here.
Only the leak test of the runtime's spawn/send/stop cycle uses perfkit-runtime, from its source
folder in this checkout (stdlib only, so no install is needed), and skips outside a checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

RunCli = Callable[..., subprocess.CompletedProcess[str]]

# A time workload that allocates and computes in lines the tests look for. ``size`` is small so
# that memray's reports (one pass over every recorded allocation) stay around a second.
TINY = """
from time import perf_counter

HELD = []


def churn(loops, *, size=300):
    t0 = perf_counter()
    for _ in range(loops):
        table = {str(i): [i] * 4 for i in range(size)}
        HELD.append(bytearray(20_000))
        sorted(table)
    del HELD[:-50]
    return perf_counter() - t0


def footprint():
    return float(len(bytearray(1000)))
"""

# Runs for ~0.6 s of CPU time in total, then raises: long enough for scalene to sample.
CRASHY = """
from time import process_time

STARTED = process_time()


def spin_then_fail(loops):
    total = 0
    while process_time() - STARTED < 0.6:
        total += sum(i * i for i in range(2000))
        held = [str(i) for i in range(200)]
    raise ValueError("boom: the workload failed on purpose")
"""

REGISTRY = [
    {
        "id": "tiny.churn",
        "suite": "tiny",
        "target": "churning",
        "kind": "time",
        "func": "tiny:churn",
        "call_kwargs": {"size": 300},
        "reference": None,
    },
    {
        "id": "tiny.footprint",
        "suite": "tiny",
        "target": "churning",
        "kind": "bytes",
        "func": "tiny:footprint",
        "call_kwargs": {},
        "reference": None,
    },
    {
        "id": "tiny.crash",
        "suite": "crashy",
        "target": "crashing",
        "kind": "time",
        "func": "crashy:spin_then_fail",
        "call_kwargs": {},
        "reference": None,
    },
]


@pytest.fixture(autouse=True)
def _isolated_imports() -> Iterator[None]:
    """Workload modules imported in-process by a test are forgotten afterwards."""
    path = list(sys.path)
    modules = set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if not name.startswith(("perfkit_profile", "rich", "memray", "scalene", "playwright")):
            del sys.modules[name]


def write_project(root: Path) -> Path:
    """``root/benchmarks/{tiny,crashy}.py`` and ``root/registry.json``; returns ``root``."""
    suites = root / "benchmarks"
    suites.mkdir(parents=True, exist_ok=True)
    (suites / "tiny.py").write_text(textwrap.dedent(TINY), encoding="utf-8")
    (suites / "crashy.py").write_text(textwrap.dedent(CRASHY), encoding="utf-8")
    (root / "registry.json").write_text(json.dumps(REGISTRY), encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with suites and a registry, made the current directory."""
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(
    *args: str, cwd: Path, timeout: float = 240, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m perfkit_profile ARGS`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "perfkit_profile", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture
def run_cli() -> RunCli:
    return cli


@pytest.fixture(scope="session")
def capture_all(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One real capture of the ``churning`` target under scalene and memray, shared by the tests
    that inspect its folder (each capture costs ~10 s here)."""
    root = write_project(tmp_path_factory.mktemp("capture"))
    done = cli(
        "run", "churning", "--registry", "registry.json", "--duration", "0.4", "--out", "profiles",
        cwd=root,
    )  # fmt: skip
    folder = Path(done.stdout.strip()) if done.stdout.strip() else root / "missing"
    return {
        "root": root,
        "done": done,
        "folder": root / folder if not folder.is_absolute() else folder,
    }
