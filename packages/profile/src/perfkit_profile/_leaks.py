"""The leak check: does memory the workload keeps grow with the number of times it runs?

The workload runs in a child process (``_driver.py leaks``): ``warmup`` calls first (caches,
interned strings, lazily built tables), then ``iterations`` calls; after each, ``gc.collect()``
and a tracemalloc snapshot give the bytes and blocks still allocated since tracing began.

A leak grows by about the same amount every call; one-off growth (a dict resizing once, a name
getting one digit longer) happens in one call only. So the figure judged is the *median* of the
per-call growths: a steady leak moves it, a one-off does not. The mean is reported too, and the
allocation sites that grew most (tracemalloc, first versus last snapshot) point at the culprit.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit_profile._child import driver_path, read_json, run_child, tail, write_spec
from perfkit_profile._exceptions import WorkloadFailed
from perfkit_profile._progress import Progress
from perfkit_profile._workload import Workload, check_workload

__all__ = ["LeakReport", "check_leaks", "render_leaks"]


@dataclass(frozen=True)
class LeakReport:
    """``bytes`` and ``blocks`` are what tracemalloc saw before the first measured call (index 0)
    and after each of the ``iterations`` calls."""

    workload: str
    iterations: int
    warmup: int
    loops: int | None
    threshold: float
    bytes: list[int]
    blocks: list[int]
    sites: list[dict[str, Any]] = field(default_factory=list)

    @property
    def byte_deltas(self) -> list[int]:
        return [b - a for a, b in zip(self.bytes, self.bytes[1:], strict=False)]

    @property
    def block_deltas(self) -> list[int]:
        return [b - a for a, b in zip(self.blocks, self.blocks[1:], strict=False)]

    @property
    def retained_bytes_per_iteration(self) -> float:
        return float(statistics.median(self.byte_deltas)) if self.byte_deltas else 0.0

    @property
    def retained_blocks_per_iteration(self) -> float:
        return float(statistics.median(self.block_deltas)) if self.block_deltas else 0.0

    @property
    def mean_bytes_per_iteration(self) -> float:
        deltas = self.byte_deltas
        return sum(deltas) / len(deltas) if deltas else 0.0

    @property
    def leaking(self) -> bool:
        return self.retained_bytes_per_iteration > self.threshold

    def as_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "iterations": self.iterations,
            "warmup": self.warmup,
            "loops": self.loops,
            "threshold_bytes": self.threshold,
            "retained_bytes_per_iteration": self.retained_bytes_per_iteration,
            "retained_blocks_per_iteration": self.retained_blocks_per_iteration,
            "mean_bytes_per_iteration": self.mean_bytes_per_iteration,
            "leaking": self.leaking,
            "bytes": self.bytes,
            "blocks": self.blocks,
            "sites": self.sites,
        }


def check_leaks(
    workload: Workload,
    *,
    iterations: int,
    warmup: int,
    loops: int | None,
    threshold: float,
    timeout: float,
    progress: Progress,
) -> LeakReport:
    """Run the leak check; raises :class:`WorkloadFailed` when the workload raises."""
    with tempfile.TemporaryDirectory(prefix="perfkit-leaks-") as tmp:
        scratch = Path(tmp)
        with progress.step(f"importing {workload.func}"):
            workload = check_workload(workload, scratch)
        result_path = scratch / "leaks-result.json"
        spec = write_spec(
            scratch / "leaks-spec.json",
            {
                **workload.spec(),
                "result": str(result_path),
                "iterations": iterations,
                "warmup": warmup,
                "loops": loops,
            },
        )
        label = f"leak check: {warmup} warm-up + {iterations} measured calls"
        with progress.step(label) as step:
            child = run_child(
                [sys.executable, str(driver_path()), "leaks", str(spec)],
                log=scratch / "leaks.log",
                timeout=timeout,
            )
            result = read_json(result_path)
            if not child.ok or result is None or result.get("error"):
                if child.returncode is None:
                    error = f"killed after the {timeout:g} s timeout"
                elif result and result.get("error"):
                    error = f"the workload raised {result['error']}"
                else:
                    error = f"exit code {child.returncode}: {tail(child.log)}"
                step.fail(error)
                raise WorkloadFailed(f"leak check of {workload.func} failed: {error}")
    return LeakReport(
        workload=workload.func,
        iterations=iterations,
        warmup=warmup,
        loops=result.get("loops"),
        threshold=threshold,
        bytes=[int(value) for value in result.get("bytes", [])],
        blocks=[int(value) for value in result.get("blocks", [])],
        sites=list(result.get("sites") or []),
    )


def render_leaks(report: LeakReport) -> str:
    """A plain-text report: the verdict line first, then per-call growth and the top sites."""
    verdict = "LEAK" if report.leaking else "no leak"
    lines = [
        f"{verdict}: {report.workload} retains {report.retained_bytes_per_iteration:+,.0f} bytes "
        f"and {report.retained_blocks_per_iteration:+,.0f} blocks per call (median of "
        f"{report.iterations} calls after {report.warmup} warm-up; threshold "
        f"{report.threshold:,.0f} bytes; mean {report.mean_bytes_per_iteration:+,.1f} bytes)",
        "",
        f"{'call':>5}  {'traced bytes':>14}  {'Δ bytes':>10}  {'blocks':>8}  {'Δ blocks':>8}",
    ]
    for index, (size, count) in enumerate(zip(report.bytes, report.blocks, strict=False)):
        if index == 0:
            lines.append(f"{'start':>5}  {size:>14,}  {'':>10}  {count:>8,}  {'':>8}")
            continue
        lines.append(
            f"{index:>5}  {size:>14,}  {size - report.bytes[index - 1]:>+10,}  "
            f"{count:>8,}  {count - report.blocks[index - 1]:>+8,}"
        )
    if report.sites:
        lines += ["", "allocation sites that grew most (last call versus start):"]
        for site in report.sites:
            lines.append(
                f"  {site['bytes']:>+12,} bytes  {site['count']:>+8,} blocks  "
                f"{_one_line(site['file'])}:{site['line']}"
            )
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return json.dumps(text)[1:-1] if not text.isprintable() else text
