"""CPU time beside wall time: the ``<id>.cpu_time`` benchmark of ``perfkit-bench run``.

A time benchmark that declares a CPU clock (``thread`` or ``process``) is still recorded in wall
time by ``run`` (pyperf's value, what a user waits), and its worker processes also read the
declared clock at the same moments (``_worker.on_clock``), one line per call of the workload in
``cpu.jsonl``: ``{"loops", "seconds", "cpu"}``. The calibration's calls and the warm-ups are in
that file too; each recorded value is found by its own number, since pyperf's value is exactly
``seconds / (loops * inner_loops)``. The CPU values become a second pyperf benchmark,
``<id>.cpu_time``, one run per worker process in the same order, carrying ``<id>``'s metadata
plus ``perfkit_metric = "cpu_time"``, ``perfkit_id = "<id>"`` and ``perfkit_clock`` (the declared
clock), which perfkit-report ingests as benchmark ``<id>``, metric ``cpu_time``
(docs/benchmarks.md, "Result file").
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from perfkit_bench._clock import CLOCK_METADATA
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["CPU_FILE", "CPU_SUFFIX", "cpu_benchmark"]

CPU_FILE = "cpu.jsonl"
CPU_SUFFIX = ".cpu_time"


def cpu_benchmark(spec: BenchmarkSpec, result: Path, cpu_file: Path) -> Any | None:
    """The ``<id>.cpu_time`` pyperf benchmark matching the runs of ``result``, or None when a
    value has no CPU reading (nothing is invented)."""
    import pyperf

    if not cpu_file.exists():
        return None
    readings: dict[tuple[int, float], deque[float]] = defaultdict(deque)
    for line in cpu_file.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        loops = int(item["loops"])
        value = float(item["seconds"]) / (loops * spec.inner_loops)
        readings[(loops, value)].append(float(item["cpu"]) / (loops * spec.inner_loops))
    (bench,) = pyperf.BenchmarkSuite.load(str(result)).get_benchmarks()
    runs = []
    for run in bench.get_runs():
        if not run.values:
            continue  # pyperf's calibration run holds no values
        metadata = dict(run.get_metadata())
        loops = int(metadata["loops"])
        found = [readings[(loops, value)] for value in run.values]
        if not all(found):
            return None
        metadata.update(
            name=spec.id + CPU_SUFFIX,
            perfkit_metric="cpu_time",
            perfkit_id=spec.id,
            perfkit_clock=CLOCK_METADATA[spec.clock],
        )
        values = [queue.popleft() for queue in found]
        runs.append(pyperf.Run(values, metadata=metadata, collect_metadata=False))
    return pyperf.Benchmark(runs) if runs else None
