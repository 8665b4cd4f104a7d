"""A long-lived worker of one side of a slice-interleaved A/B session. ``perfkit-bench ab`` starts
one per side and process pair; people do not::

    python -m perfkit_bench._slice_worker --suites DIR [--affinity CPUS] [--inject-percent P]

It reads one JSON request per line on stdin and answers each with one JSON line on the stdout it
was started with (what a workload prints goes to stderr, so it can never be read as an answer):

- ``{"op": "bench", "suite": S, "id": ID, "clock": C}``: import suite ``S`` from ``DIR`` (once
  per worker), make ``ID`` the current benchmark measured on clock ``C`` (default: the one it
  declares), collect garbage; answers the ``clock`` and the ``inner_loops``.
- ``{"op": "calibrate", "target": SECONDS}``: the smallest power of two of loops whose call
  lasts at least ``SECONDS`` on the benchmark's clock, the faster of two calls (``loops``, and
  the ``seconds`` it took).
- ``{"op": "slice", "loops": L}``: one call ``f(L)`` of the current benchmark; answers the
  seconds it took on the benchmark's clock (``t``), timed inside this process by the
  workload's own :func:`perfkit_bench.timer` readings.
- ``{"op": "metadata"}``: pyperf's metadata of this process (interpreter, machine, ...),
  collected here, in the measuring interpreter, as pyperf's own workers do.
- ``{"op": "quit"}``.

An exception answers ``{"error": "one line"}``; the parent then ends the process pair. With
``--inject-percent P`` every slice is followed, inside its time, by a busy-wait of ``P`` % of it
on the benchmark's clock (``_worker.slowed``): the A/B gate's evaluation.

Both sides run this same code in the same order (the parent sends both the same requests), so
whatever the harness does to a process (imports, garbage collections, warm-up slices, the
allocator's state after the previous benchmarks) happens alike on both sides.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from perfkit_bench._clock import CLOCK_FUNCTIONS, CLOCKS, Clock
from perfkit_bench._discovery import load_suite
from perfkit_bench._exceptions import WorkerError, one_line
from perfkit_bench._spec import BenchmarkSpec
from perfkit_bench._worker import on_clock, parse_cpu_list, slowed, workload

__all__ = ["main"]

# Calibration doubles the loops from 1; a workload whose call never reaches the target by then
# reports too little time to measure at all.
_MAX_LOOPS = 2**30


class _Server:
    """The worker's state: the suites it imported and the current benchmark."""

    def __init__(self, suites: Path, inject: float) -> None:
        self.suites = suites
        self.inject = inject
        self.specs: dict[str, dict[str, BenchmarkSpec]] = {}
        self.spec: BenchmarkSpec | None = None
        self.func: Callable[[int], float] | None = None

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "bench":
            clock = request.get("clock")
            return self._bench(str(request["suite"]), str(request["id"]), clock)
        if op == "calibrate":
            return self._calibrate(float(request["target"]))
        if op == "slice":
            return {"t": self._call(int(request["loops"]))}
        if op == "metadata":
            return {"metadata": _pyperf_metadata()}
        if op == "quit":
            return {}
        raise WorkerError(f"unknown request {op!r}")

    def _bench(self, suite: str, bench_id: str, clock: str | None) -> dict[str, Any]:
        if suite not in self.specs:
            specs = load_suite(self.suites / f"{suite}.py")
            self.specs[suite] = {spec.id: spec for spec in specs}
        spec = self.specs[suite].get(bench_id)
        if spec is None:
            raise WorkerError(f"{self.suites / suite}.py declares no benchmark {bench_id!r}")
        if spec.kind != "time":
            raise WorkerError(
                f"{bench_id} is kind={spec.kind!r}: only time benchmarks run in slices"
            )
        measured = _clock(clock or spec.clock)
        func = on_clock(workload(spec), spec, measured)
        if self.inject:
            func = slowed(func, self.inject, CLOCK_FUNCTIONS[measured])
        self.spec, self.func = spec, func
        # Every benchmark starts from a collected heap, on both sides alike.
        gc.collect()
        return {"clock": measured, "inner_loops": spec.inner_loops}

    def _call(self, loops: int) -> float:
        if self.func is None:
            raise WorkerError("no current benchmark: send a 'bench' request first")
        elapsed = float(self.func(loops))
        if not (math.isfinite(elapsed) and elapsed > 0):
            assert self.spec is not None
            raise WorkerError(
                f"{self.spec.id} returned {elapsed!r} s: a time workload must return the "
                "positive seconds its loops took"
            )
        return elapsed

    def _calibrate(self, target: float) -> dict[str, Any]:
        # Each loop count is timed twice and the faster call counts: the first calls of a fresh
        # process pay one-off costs (a threads-mode runtime's first ask took 1.2 ms here, the
        # next ones 20 us), which would leave every later slice far shorter than the target.
        loops = 1
        while True:
            elapsed = min(self._call(loops), self._call(loops))
            if elapsed >= target or loops >= _MAX_LOOPS:
                return {"loops": loops, "seconds": elapsed}
            loops *= 2


def _clock(name: str) -> Clock:
    for clock in CLOCKS:
        if clock == name:
            return clock
    raise WorkerError(f"unknown clock {name!r}: one of {', '.join(CLOCKS)}")


def _pyperf_metadata() -> dict[str, Any]:
    """What pyperf records about the process that measured a run (its ``collect_metadata``, via
    the public ``Run``), without the run's own keys."""
    import pyperf

    run = pyperf.Run([1.0], metadata={"name": "perfkit-slices"}, collect_metadata=True)
    metadata = dict(run.get_metadata())
    for key in ("name", "date", "duration", "load_avg_1min", "mem_max_rss", "uptime"):
        metadata.pop(key, None)
    return metadata


def _serve(server: _Server, requests: IO[str], answers: IO[str]) -> None:
    for line in requests:
        request = json.loads(line)
        try:
            answer = server.handle(request)
        except Exception as exc:  # answered, not raised: the parent decides what ends
            answer = {"error": one_line(exc)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
        if request.get("op") == "quit":
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perfkit_bench._slice_worker")
    parser.add_argument("--suites", required=True, type=Path, help="the side's suite folder")
    parser.add_argument("--affinity", metavar="CPU_LIST", help="pin this process to these CPUs")
    parser.add_argument("--inject-percent", type=float, default=0.0, metavar="P")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.inject_percent) and args.inject_percent >= 0):
        parser.error(f"--inject-percent {args.inject_percent!r}: expected a percentage >= 0")
    if args.affinity:
        os.sched_setaffinity(0, parse_cpu_list(args.affinity))
    # The answers keep the original stdout; fd 1 (print, C extensions) becomes stderr.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(_Server(args.suites, args.inject_percent / 100), sys.stdin, answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
