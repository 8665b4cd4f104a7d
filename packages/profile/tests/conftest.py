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

# A request handler in three stages of about equal cost, and one more stage whose function name
# is hostile markup (set on its code object, so profilers report it as the function's name; no
# ``;``, which folded stacks cannot carry in a name). The head's copy makes ``route`` three times
# slower: the differential flame graph must find it.
HOSTILE = '<img src=x onerror="window.pwned=1">&amp</script><b>x'
SHOP = """
import types
from time import perf_counter

ROUTE = {route}
HOSTILE = {hostile}


def parse():
    total = 0
    for i in range(400):
        total += i ^ 3
    return total


def route():
    total = 0
    for i in range(ROUTE):
        total += i * 7
    return total


def render():
    total = 0
    for i in range(400):
        total += i % 5
    return total


def _hostile():
    total = 0
    for i in range(200):
        total += i
    return total


hostile = types.FunctionType(
    _hostile.__code__.replace(co_name=HOSTILE, co_qualname=HOSTILE), globals(), HOSTILE
)


def handle(loops):
    t0 = perf_counter()
    for _ in range(loops):
        parse()
        route()
        render()
        hostile()
    return perf_counter() - t0
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


# The two captures run one after the other, and py-spy counts a preempted thread as running: a
# busy neighbour during one capture stretches every frame of that side alike. parse and render
# are the same on both sides, so they show whether a pair is comparable; a pair where either moved
# by more than this (percent of A's time per operation) is captured again, up to three pairs.
COMPARABLE_PERCENT = 15.0
PAIR_ATTEMPTS = 3


@pytest.fixture(scope="session")
def pyspy_pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """py-spy captures of ``shop:handle`` in a base checkout and in a head checkout where
    ``route`` is three times slower, and their ``diff --format json`` (the first comparable
    pair of up to three)."""
    for _ in range(PAIR_ATTEMPTS):
        pair = capture_pair(tmp_path_factory.mktemp("pyspy-pair"))
        if steady_controls(pair["diff"]):
            break
    return pair


def steady_controls(diff: dict[str, Any]) -> bool:
    """Whether the frames that did not change (parse, render) stayed within the band."""
    frames = diff.get("frames")
    if frames is None:
        return True  # the tests say what is missing
    rows = frames["growing"] + frames["shrinking"]
    controls = [row for row in rows if row["function"] in ("parse", "render")]
    return all(abs(row["change_percent"]) < COMPARABLE_PERCENT for row in controls)


def capture_pair(root: Path) -> dict[str, Any]:
    """One base and one head capture in ``root``, and their diff."""
    folders: dict[str, Path] = {}
    for side, route in (("base", 400), ("head", 1200)):
        suites = root / side / "benchmarks"
        suites.mkdir(parents=True)
        (suites / "shop.py").write_text(
            textwrap.dedent(SHOP.format(route=route, hostile=repr(HOSTILE)))
        )
        done = cli(
            "run", "shop:handle", "--profiler", "py-spy", "--duration", "2", "--rate", "200",
            "--suites", str(suites), "--out", str(root / "profiles" / side), "-q", cwd=root,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        folders[side] = Path(done.stdout.strip())
    diff = cli("diff", str(folders["base"]), str(folders["head"]), "--format", "json", cwd=root)
    assert diff.returncode == 0, diff.stderr
    return {
        "root": root,
        **folders,
        "diff": json.loads(diff.stdout),
        "stderr": diff.stderr,
        "hostile": HOSTILE,
    }


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
