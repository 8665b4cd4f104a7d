"""The driver script the profilers run: calibration, budgets, kinds, errors (no profiler here)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from perfkit_profile._child import driver_path

WORKLOADS = """
import time

CALLS = []


def timed(loops, *, pause=0.0005):
    # Each loop takes ~0.5 ms: calibration to 0.02 s lands on 64 loops (32 gives ~0.016 s).
    t0 = time.perf_counter()
    for _ in range(loops):
        time.sleep(pause)
    CALLS.append(loops)
    return time.perf_counter() - t0


def plain(n=3):
    return {"p50": 0.1, "n": n}


def broken(loops):
    raise KeyError("missing")
"""


def drive(
    tmp_path: Path, mode: str, **spec: Any
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    (tmp_path / "workloads.py").write_text(textwrap.dedent(WORKLOADS), encoding="utf-8")
    result = tmp_path / "result.json"
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(
        json.dumps({"paths": [str(tmp_path)], "kwargs": {}, "result": str(result), **spec}),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(driver_path()), mode, str(spec_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, json.loads(result.read_text())


def test_time_workload_is_calibrated_then_called_n_times(tmp_path: Path) -> None:
    done, result = drive(
        tmp_path, "profile", workload="workloads:timed", kind="time", iterations=3, min_call_s=0.02
    )
    assert done.returncode == 0, done.stderr
    assert result["kind"] == "time"
    calibration = [call["loops"] for call in result["calls"] if call["calibration"]]
    assert calibration[0] == 1
    assert calibration == [2**i for i in range(len(calibration))]  # doubling, like pyperf
    assert 16 <= result["loops"] <= 256
    measured = [call for call in result["calls"] if not call["calibration"]]
    assert [call["loops"] for call in measured] == [result["loops"]] * 3
    assert result["operations"] == sum(calibration) + 3 * result["loops"]
    assert result["workload_s"] == pytest.approx(sum(call["wall_s"] for call in measured))


def test_fixed_loops_skip_calibration(tmp_path: Path) -> None:
    _, result = drive(
        tmp_path, "profile", workload="workloads:timed", kind="time", iterations=2, loops=5
    )
    assert [(call["loops"], call["calibration"]) for call in result["calls"]] == [(5, False)] * 2


def test_duration_budget_keeps_calling(tmp_path: Path) -> None:
    _, result = drive(
        tmp_path, "profile", workload="workloads:timed", kind="time", duration=0.3, min_call_s=0.02
    )
    assert result["wall_s"] >= 0.3
    assert len([call for call in result["calls"] if not call["calibration"]]) >= 2


def test_auto_kind_from_the_signature(tmp_path: Path) -> None:
    _, result = drive(tmp_path, "check", workload="workloads:timed", kind="auto")
    assert result["kind"] == "time"
    _, result = drive(tmp_path, "check", workload="workloads:plain", kind="auto")
    assert result["kind"] == "call"
    _, result = drive(tmp_path, "profile", workload="workloads:plain", kind="auto", iterations=4)
    assert [call["loops"] for call in result["calls"]] == [None] * 4
    assert result["operations"] == 4


def test_a_raising_workload_is_recorded_with_its_location(tmp_path: Path) -> None:
    done, result = drive(
        tmp_path, "profile", workload="workloads:broken", kind="time", iterations=1
    )
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert result["started"] is True
    assert result["error"].startswith("KeyError: 'missing' (")
    assert result["error"].endswith("workloads.py:21 in broken)")


def test_an_unimportable_workload_never_starts(tmp_path: Path) -> None:
    done, result = drive(tmp_path, "check", workload="workloads_missing:f")
    assert done.returncode == 1
    assert result["started"] is False
    assert result["error"].startswith("ModuleNotFoundError")


def test_usage(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(driver_path()), "bogus"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert "usage" in done.stderr
