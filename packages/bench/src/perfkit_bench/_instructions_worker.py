"""The process the instructions channel measures. ``_instructions`` starts it; people do not.

::

    python -m perfkit_bench._instructions_worker count SUITE_FILE BENCH_ID LOOPS
    python -m perfkit_bench._instructions_worker calibrate SUITE_FILE BENCH_ID MIN_SECONDS

``count`` runs under valgrind's cachegrind. It imports the suite file, resolves the workload of
``BENCH_ID`` (a ``kind="time"`` benchmark: ``f(loops)``) and calls it once with ``LOOPS``; nothing
else. The parent runs it twice with the same command line but for ``LOOPS`` (N, then 0): both
processes pay the same harness (interpreter start-up, imports, the suite's set-up inside ``f``,
shutdown), so the difference of their instruction counts is the work of N loops.

``calibrate`` runs natively, before any valgrind run: it doubles the loops until ``f`` reports
at least ``MIN_SECONDS`` for them (the elapsed seconds ``f`` returns, its own timed region) and
prints ``{"loops": N, "seconds": s}`` on stdout.

The command line is parsed by hand, not with argparse: every module imported here is part of
the harness that both runs pay, and argparse (with gettext) is millions of instructions, about a
tenth of a second under valgrind, for nothing. On an error the last line on stderr is the error,
as one line, and the exit code is 1.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from perfkit_bench._discovery import load_suite, resolve
from perfkit_bench._exceptions import WorkerError, one_line
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["PROGRAM_ARGS", "main"]

# How the parent starts this module (it prepends the interpreter, and valgrind before that).
PROGRAM_ARGS = ("-m", "perfkit_bench._instructions_worker")

# Calibration stops here whatever f reports: a function that ignores its loops argument would
# otherwise double forever. 2**24 loops of even an empty Python loop last about a second.
_MAX_LOOPS = 1 << 24
# ... and once one call takes this long in wall time (heavy set-up, or a function whose reported
# seconds do not grow with its loops).
_MAX_CALL_SECONDS = 1.0

_USAGE = (
    "usage: python -m perfkit_bench._instructions_worker "
    "{count SUITE_FILE BENCH_ID LOOPS | calibrate SUITE_FILE BENCH_ID MIN_SECONDS}"
)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) != 4 or args[0] not in ("count", "calibrate"):
            raise WorkerError(_USAGE)
        mode, suite_path, bench_id, number = args
        func = _workload(suite_path, bench_id)
        if mode == "count":
            loops = int(number)
            if loops < 0:
                raise WorkerError(f"LOOPS must be >= 0, got {number}")
            func(loops)
        else:
            loops, seconds = calibrate(func, float(number))
            print(json.dumps({"loops": loops, "seconds": seconds}))
    except Exception as exc:
        print(one_line(exc), file=sys.stderr)
        return 1
    return 0


def calibrate(func: Callable[[int], Any], min_seconds: float) -> tuple[int, float]:
    """The smallest power of two of loops that ``func`` reports as lasting ``min_seconds``.

    Powers of two, so two runs on a noisy machine usually pick the same N (and the counts per
    operation then repeat exactly); the best of two calls at each step, so one slow call does
    not stop the doubling early.
    """
    func(1)  # the first call pays one-off costs (lazy imports, caches) that would skew N = 1
    loops = 1
    while True:
        seconds, wall = min(_seconds(func, loops) for _ in range(2))
        if seconds >= min_seconds or wall >= _MAX_CALL_SECONDS or loops >= _MAX_LOOPS:
            return loops, seconds
        loops *= 2


def _seconds(func: Callable[[int], Any], loops: int) -> tuple[float, float]:
    """(seconds ``func`` reports for ``loops``, wall seconds of the call)."""
    began = time.perf_counter()
    reported = func(loops)
    wall = time.perf_counter() - began
    if isinstance(reported, int | float) and not isinstance(reported, bool) and reported > 0:
        return float(reported), wall  # the function's own timed region: set-up excluded
    return wall, wall


def _workload(suite_path: str, bench_id: str) -> Callable[[int], Any]:
    spec = _find(suite_path, bench_id)
    if spec.kind != "time":
        raise WorkerError(
            f"{spec.id} is kind={spec.kind!r}: the instructions channel counts time benchmarks "
            "only (f(loops)); remove 'instructions' from its channels"
        )
    func = resolve(spec)
    if spec.call_kwargs:
        func = functools.partial(func, **spec.call_kwargs)
    return func


def _find(suite_path: str, bench_id: str) -> BenchmarkSpec:
    for spec in load_suite(suite_path):
        if spec.id == bench_id:
            return spec
    raise WorkerError(f"{suite_path} declares no benchmark {bench_id!r}")


if __name__ == "__main__":
    sys.exit(main())
