"""perfkit-profile leaks: retained bytes per call, exit 1 above the threshold."""

from __future__ import annotations

import json
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from perfkit_profile._leaks import LeakReport, render_leaks

RunCli = Callable[..., subprocess.CompletedProcess[str]]

RUNTIME_SRC = Path(__file__).resolve().parents[2] / "runtime" / "src"

# The runtime's spawn / send / stop cycle, as benchmarks/memory_usage.py runs it (`_cycles`),
# on one long-lived runtime: anything a cycle leaves behind accumulates across calls.
CYCLES = """
from perfkit_runtime import Agent, Runtime


class Idle(Agent):
    __slots__ = ()

    def handle(self, msg):
        return msg


RT = Runtime("sync", dead_letter_limit=16)


def spawn_send_stop(cycles=300):
    for i in range(cycles):
        ref = RT.spawn(Idle)
        ref.tell(i)
        ref.ask(i)
        RT.stop(ref)
"""

LEAKY = """
KEPT = []


def leak(n=100):
    KEPT.append([object() for _ in range(n)])


def steady(n=100):
    return [object() for _ in range(n)]


def fail():
    raise RuntimeError("no luck")
"""


@pytest.fixture
def leaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "leaky.py").write_text(textwrap.dedent(LEAKY), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.skipif(not RUNTIME_SRC.is_dir(), reason="needs the perfkit-runtime source folder")
def test_runtime_spawn_send_stop_cycle_does_not_grow(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "cycles.py").write_text(textwrap.dedent(CYCLES), encoding="utf-8")
    done = run_cli(
        "leaks", "cycles:spawn_send_stop", "-k", "8", "--json", "-q",
        cwd=tmp_path, env={"PYTHONPATH": str(RUNTIME_SRC)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["retained_bytes_per_iteration"] == 0
    assert report["retained_blocks_per_iteration"] == 0
    assert report["leaking"] is False
    assert len(report["bytes"]) == 9  # the baseline and one measurement per call


def test_a_leak_is_exit_1_with_its_size_and_site(leaky: Path, run_cli: RunCli) -> None:
    done = run_cli("leaks", "leaky:leak", "-k", "6", "--warmup", "1", "-q", cwd=leaky)
    assert done.returncode == 1, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("LEAK: leaky:leak retains +")
    assert "+102 blocks per call" in first  # 100 objects, a list and its item array
    assert "leaky.py:6" in done.stdout  # the allocation site that grew
    assert "above the threshold of 0" in done.stderr


def test_a_threshold_above_the_growth_passes(leaky: Path, run_cli: RunCli) -> None:
    done = run_cli("leaks", "leaky:leak", "-k", "4", "--threshold", "100000", "-q", cwd=leaky)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("no leak: leaky:leak")


def test_garbage_that_is_freed_is_no_leak(leaky: Path, run_cli: RunCli) -> None:
    done = run_cli("leaks", "leaky:steady", "-k", "5", "--json", "-q", cwd=leaky)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["retained_bytes_per_iteration"] == 0


def test_a_workload_that_raises_is_exit_1(leaky: Path, run_cli: RunCli) -> None:
    done = run_cli("leaks", "leaky:fail", "-q", cwd=leaky)
    assert done.returncode == 1
    assert "RuntimeError: no luck" in done.stderr
    assert done.stdout == ""


def test_median_ignores_one_off_growth() -> None:
    report = LeakReport(
        workload="m:f",
        iterations=5,
        warmup=0,
        loops=None,
        threshold=0,
        bytes=[0, 5000, 5000, 5000, 5000, 5000],
        blocks=[0, 9, 9, 9, 9, 9],
    )
    assert report.retained_bytes_per_iteration == 0
    assert report.mean_bytes_per_iteration == 1000
    assert not report.leaking
    text = render_leaks(report)
    assert text.startswith("no leak: m:f retains +0 bytes and +0 blocks per call")
    assert "+5,000" in text
