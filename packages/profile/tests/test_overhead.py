"""perfkit-profile overhead: bare and profiled runs of the same fixed work, interleaved."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from perfkit_profile._overhead import OverheadReport, render_overhead

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def test_ratios_are_medians_against_bare() -> None:
    report = OverheadReport(
        workload="m:f",
        loops=8,
        iterations=2,
        rounds=3,
        affinity="0",
        versions={"memray": "1.20.0"},
        workload_s={"bare": [1.0, 1.2, 9.0], "memray": [3.0, 3.6, 3.3]},
        process_s={"bare": [2.0, 2.0, 2.0], "memray": [5.0, 4.0, 6.0]},
    )
    assert report.median("bare") == 1.2
    assert report.ratio("memray") == pytest.approx(3.3 / 1.2)
    assert report.ratio("memray", "process") == 2.5
    text = render_overhead(report)
    assert "8 loops x 2 calls per process, 3 interleaved rounds, pinned to CPU 0" in text
    assert "memray 1.20.0" in text


@pytest.mark.slow
def test_overhead_of_every_profiler(project: Path, run_cli: RunCli) -> None:
    done = run_cli(
        "overhead", "tiny:churn", "--kwargs", '{"size": 100}', "--rounds", "2",
        "--iterations", "2", "--json", "-q", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report["workload_s"]) == {"bare", "scalene", "memray", "py-spy"}
    assert all(len(values) == 2 for values in report["workload_s"].values())
    assert report["loops"] >= 1
    assert report["workload_ratio"]["bare"] == 1.0
    # memray records every allocation of a workload that does little else: clearly slower.
    assert report["workload_ratio"]["memray"] > 1.0
