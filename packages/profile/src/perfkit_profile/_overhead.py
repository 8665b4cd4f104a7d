"""What a profiler costs: the workload's wall time with and without it, in the same run.

The machine drifts by 8-15 % between runs, so the modes are measured *interleaved*: each round
runs the bare driver and the driver under each profiler once, in an order
that rotates from round to round, and the figures are medians over rounds. Every process runs
the same fixed work (``loops`` calibrated once, bare, then ``iterations`` calls) pinned to one
CPU with ``taskset -c`` when it is available, so the two cores do not blur the comparison.

Two figures per mode:

- *workload*: seconds inside the workload calls, timed by the driver from inside the profiled
  process: the slowdown of the code itself;
- *process*: the whole process, profiler start-up and the writing of its output included (the
  reports built afterwards are not).
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit_profile._capture import preflight
from perfkit_profile._child import driver_path, read_json, run_child, tail, write_spec
from perfkit_profile._exceptions import ProfilerUnavailable, WorkloadFailed
from perfkit_profile._progress import Progress
from perfkit_profile._pyspy import PySpySettings, record_command
from perfkit_profile._scalene import scalene_options
from perfkit_profile._tool import require
from perfkit_profile._workload import Workload

__all__ = ["OverheadReport", "measure_overhead", "render_overhead"]

BARE = "bare"


@dataclass(frozen=True)
class OverheadReport:
    """Per mode, the workload seconds and process seconds of each round."""

    workload: str
    loops: int | None
    iterations: int
    rounds: int
    affinity: str | None
    versions: dict[str, str]
    workload_s: dict[str, list[float]] = field(default_factory=dict)
    process_s: dict[str, list[float]] = field(default_factory=dict)

    def median(self, mode: str, figure: str = "workload") -> float:
        values = (self.workload_s if figure == "workload" else self.process_s)[mode]
        return float(statistics.median(values))

    def ratio(self, mode: str, figure: str = "workload") -> float:
        return self.median(mode, figure) / self.median(BARE, figure)

    def as_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "loops": self.loops,
            "iterations": self.iterations,
            "rounds": self.rounds,
            "affinity": self.affinity,
            "versions": self.versions,
            "workload_s": self.workload_s,
            "process_s": self.process_s,
            "median_workload_s": {mode: self.median(mode) for mode in self.workload_s},
            "median_process_s": {mode: self.median(mode, "process") for mode in self.process_s},
            "workload_ratio": {mode: self.ratio(mode) for mode in self.workload_s},
            "process_ratio": {mode: self.ratio(mode, "process") for mode in self.process_s},
        }


def measure_overhead(
    workload: Workload,
    *,
    profilers: Sequence[str],
    rounds: int,
    iterations: int,
    affinity: str | None,
    timeout: float,
    progress: Progress,
    pyspy: PySpySettings | None = None,
) -> OverheadReport:
    versions = {name: require(name) for name in profilers}
    pyspy = pyspy or PySpySettings()
    pin = ["taskset", "-c", affinity] if affinity and shutil.which("taskset") else []
    modes = [BARE, *profilers]
    with tempfile.TemporaryDirectory(prefix="perfkit-overhead-") as tmp:
        scratch = Path(tmp)
        workload, unavailable = preflight(workload, profilers, pyspy, scratch, progress)
        if unavailable:  # a measurement needs every profiler asked for
            raise ProfilerUnavailable(next(iter(unavailable.values())))
        loops = None
        if workload.kind == "time":
            with progress.step("calibrating loops (bare)"):
                first = _run(
                    workload, BARE, scratch, "calibrate", pin, {"iterations": 0}, timeout, pyspy
                )
                loops = first.get("loops")
        fixed = {"iterations": iterations, "loops": loops, "duration": None}
        report = OverheadReport(
            workload=workload.func,
            loops=loops,
            iterations=iterations,
            rounds=rounds,
            affinity=affinity if pin else None,
            versions=versions,
            workload_s={mode: [] for mode in modes},
            process_s={mode: [] for mode in modes},
        )
        for index in range(rounds):
            # Rotate the order so no mode always runs first (after a cold cache) or last.
            order = modes[index % len(modes) :] + modes[: index % len(modes)]
            with progress.step(f"round {index + 1}/{rounds}: {', '.join(order)}"):
                for mode in order:
                    result = _run(workload, mode, scratch, f"r{index}", pin, fixed, timeout, pyspy)
                    report.workload_s[mode].append(float(result["workload_s"]))
                    report.process_s[mode].append(float(result["process_s"]))
    return report


def _run(
    workload: Workload,
    mode: str,
    scratch: Path,
    tag: str,
    pin: list[str],
    budget: dict[str, Any],
    timeout: float,
    pyspy: PySpySettings,
) -> dict[str, Any]:
    result_path = scratch / f"{mode}-{tag}-result.json"
    spec = write_spec(
        scratch / f"{mode}-{tag}-spec.json",
        {**workload.spec(), **budget, "min_call_s": 0.1, "result": str(result_path)},
    )
    driver = [str(driver_path()), "profile", str(spec)]
    if mode == "scalene":
        out = scratch / f"scalene-{tag}.json"
        command = [
            sys.executable, "-m", "scalene", "run", *scalene_options(), "-o", str(out),
            driver[0], "---", *driver[1:],
        ]  # fmt: skip
    elif mode == "memray":
        out = scratch / f"memray-{tag}.bin"
        command = [
            sys.executable, "-m", "memray", "run", "-q", "-f", "--trace-python-allocators",
            "-o", str(out), *driver,
        ]  # fmt: skip
    elif mode == "py-spy":
        folded = scratch / f"pyspy-{tag}.folded"
        command = record_command(pyspy, folded, [sys.executable, *driver])
    else:
        command = [sys.executable, *driver]
    child = run_child([*pin, *command], log=scratch / f"{mode}-{tag}.log", timeout=timeout)
    result = read_json(result_path)
    if not child.ok or result is None or result.get("error"):
        error = (result or {}).get("error") or tail(child.log) or f"exit {child.returncode}"
        raise WorkloadFailed(f"overhead run ({mode}) of {workload.func} failed: {error}")
    return {**result, "process_s": child.wall_s}


def render_overhead(report: OverheadReport) -> str:
    pinned = f"pinned to CPU {report.affinity}" if report.affinity else "not pinned"
    loops = f"{report.loops} loops x " if report.loops else ""
    lines = [
        f"overhead on {report.workload}: {loops}{report.iterations} calls per process, "
        f"{report.rounds} interleaved rounds, {pinned}; medians",
        "",
        f"{'mode':<16} {'workload s':>11} {'x bare':>8} {'process s':>10} {'x bare':>8}",
    ]
    for mode in report.workload_s:
        name = mode if mode == BARE else f"{mode} {report.versions.get(mode, '')}".strip()
        lines.append(
            f"{name:<16} {report.median(mode):>11.3f} {report.ratio(mode):>8.2f} "
            f"{report.median(mode, 'process'):>10.3f} {report.ratio(mode, 'process'):>8.2f}"
        )
    return "\n".join(lines)
