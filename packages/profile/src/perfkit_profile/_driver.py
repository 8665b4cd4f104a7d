"""The program the profilers run: import one workload, call it within a budget, write what happened.

This file is run as a *script* (``python _driver.py MODE SPEC.json``, ``scalene run _driver.py ---
MODE SPEC.json``, ``memray run _driver.py MODE SPEC.json``), never imported by the rest of the
package, so it uses the standard library only: a profiled process should hold the workload and
as little else as possible. The parent process writes SPEC.json and reads the result file named
in it; the two formats are private to this package and documented below.

SPEC.json::

    {"workload": "module:function", "paths": [dirs put first on sys.path], "kwargs": {...},
     "kind": "time" | "call" | "auto", "result": "path of the result file",
     "duration": seconds or null, "iterations": calls or null, "loops": fixed loops or null,
     "min_call_s": 0.1, "warmup": calls (leaks), "frames": tracemalloc frames (leaks)}

- ``time`` workloads are ``f(loops, **kwargs) -> elapsed seconds`` (pyperf's bench_time_func
  convention); ``call`` workloads are ``f(**kwargs)`` (bytes, count and latency benchmarks, or any
  plain function). ``auto`` picks ``time`` when the function has a required positional parameter.
- ``check`` mode only imports the workload and reports its kind: a fast check of the input before
  any profiler starts.
- ``profile`` mode calibrates ``loops`` so one call takes about ``min_call_s`` (like pyperf's
  calibration: double until the returned time reaches it), then calls until ``duration`` seconds
  of wall time have passed in all, or exactly ``iterations`` times after calibration; the result
  has the operations run (loops summed over every call) and the process's CPU seconds.
- ``leaks`` mode calls the workload ``warmup`` times, then ``iterations`` times, and after each call
  records the bytes and blocks tracemalloc still sees (after ``gc.collect()``), excluding the
  tracer's own and this file's allocations.

The result file is written even when the workload raises: ``error`` then holds the exception's
last traceback line and the process exits 1 after printing the traceback to stderr.
"""

from __future__ import annotations

import fnmatch
import gc
import importlib
import inspect
import json
import sys
import time
import traceback
import tracemalloc
from collections.abc import Callable
from typing import Any

# Calibration stops doubling here even if a call is still shorter than min_call_s (a workload that
# ignores ``loops`` would otherwise double forever).
MAX_LOOPS = 1 << 24
# Top growing allocation sites kept in a leaks result.
TOP_SITES = 10


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("check", "profile", "leaks"):
        print("usage: _driver.py check|profile|leaks SPEC.json", file=sys.stderr)
        return 2
    mode, spec_path = argv
    with open(spec_path, encoding="utf-8") as file:
        spec: dict[str, Any] = json.load(file)
    result: dict[str, Any] = {"mode": mode, "started": False, "error": None}
    try:
        func, kind = _load(spec)
        result["started"] = True
        result["kind"] = kind
        if mode == "profile":
            _profile(func, kind, spec, result)
        elif mode == "leaks":
            _leaks(func, kind, spec, result)
    except BaseException as exc:
        result["error"] = _one_line(exc)
        _write(spec["result"], result)
        if isinstance(exc, KeyboardInterrupt):
            raise
        traceback.print_exc()
        return 1
    _write(spec["result"], result)
    return 0


def _load(spec: dict[str, Any]) -> tuple[Callable[..., Any], str]:
    for path in reversed(spec.get("paths", [])):
        sys.path.insert(0, path)
    module_name, _, attr = spec["workload"].partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec['workload']} is not callable")
    kind = spec.get("kind", "auto")
    if kind not in ("time", "call"):
        kind = "time" if _takes_loops(obj, spec.get("kwargs", {})) else "call"
    return obj, kind


def _takes_loops(func: Callable[..., Any], kwargs: dict[str, Any]) -> bool:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    for param in params:
        if param.kind in positional and param.name not in kwargs:
            return param.default is inspect.Parameter.empty
    return False


def _profile(
    func: Callable[..., Any], kind: str, spec: dict[str, Any], result: dict[str, Any]
) -> None:
    kwargs = spec.get("kwargs", {})
    duration = spec.get("duration")
    iterations = spec.get("iterations")
    calls: list[dict[str, Any]] = []
    result["calls"] = calls
    start = time.perf_counter()

    def call(loops: int | None, calibration: bool) -> float | None:
        t0 = time.perf_counter()
        value = func(loops, **kwargs) if loops is not None else func(**kwargs)
        wall = time.perf_counter() - t0
        calls.append({"loops": loops, "wall_s": wall, "calibration": calibration})
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None

    loops: int | None = None
    if kind == "time":
        loops = spec.get("loops") or _calibrate(call, float(spec.get("min_call_s", 0.1)))
    result["loops"] = loops
    if iterations is not None:
        for _ in range(int(iterations)):
            call(loops, False)
    else:
        # At least one measured call, even when calibration used up the duration.
        while not [c for c in calls if not c["calibration"]] or (
            time.perf_counter() - start < float(duration or 0)
        ):
            call(loops, False)
    measured = [c for c in calls if not c["calibration"]]
    result["wall_s"] = time.perf_counter() - start
    result["workload_s"] = sum(c["wall_s"] for c in measured)
    result["operations"] = sum(c["loops"] or 1 for c in calls)
    # CPU seconds of the whole process so far, every thread, start-up and import included: what
    # a sampling profiler's samples of this process add up to (see _stack_diff).
    result["cpu_s"] = time.process_time()


def _calibrate(call: Callable[[int | None, bool], float | None], min_call_s: float) -> int:
    loops = 1
    while loops < MAX_LOOPS:
        t0 = time.perf_counter()
        value = call(loops, True)
        elapsed = value if value is not None else time.perf_counter() - t0
        if elapsed >= min_call_s:
            break
        loops *= 2
    return loops


def _leaks(
    func: Callable[..., Any], kind: str, spec: dict[str, Any], result: dict[str, Any]
) -> None:
    kwargs = spec.get("kwargs", {})
    loops = int(spec.get("loops") or 1) if kind == "time" else None
    result["loops"] = loops

    def call() -> None:
        if loops is not None:
            func(loops, **kwargs)
        else:
            func(**kwargs)

    for _ in range(int(spec.get("warmup", 0))):
        call()
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, __file__),
    ]
    for rule in ignore:  # compile the filters' patterns now: fnmatch caches them on first use
        fnmatch.fnmatch(rule.filename_pattern, rule.filename_pattern)
    bytes_seen: list[int] = []
    blocks_seen: list[int] = []
    first: tracemalloc.Snapshot | None = None
    last: tracemalloc.Snapshot | None = None
    gc.collect()
    tracemalloc.start(int(spec.get("frames", 1)))
    try:
        for index in range(int(spec["iterations"]) + 1):
            if index:  # measurement 0 is the baseline before the first measured call
                call()
            gc.collect()
            last = tracemalloc.take_snapshot().filter_traces(ignore)
            stats = last.statistics("filename")
            bytes_seen.append(sum(stat.size for stat in stats))
            blocks_seen.append(sum(stat.count for stat in stats))
            if first is None:
                first = last
    finally:
        tracemalloc.stop()
    result["bytes"] = bytes_seen
    result["blocks"] = blocks_seen
    result["sites"] = _grown_sites(first, last)


def _grown_sites(
    first: tracemalloc.Snapshot | None, last: tracemalloc.Snapshot | None
) -> list[dict[str, Any]]:
    """The lines whose retained bytes or blocks grew from the first snapshot to the last."""
    sites: list[dict[str, Any]] = []
    if first is None or last is None:
        return sites
    for diff in last.compare_to(first, "lineno")[:TOP_SITES]:
        if diff.size_diff <= 0 and diff.count_diff <= 0:
            continue
        frame = diff.traceback[0]
        sites.append(
            {
                "file": frame.filename,
                "line": frame.lineno,
                "bytes": diff.size_diff,
                "count": diff.count_diff,
            }
        )
    return sites


def _one_line(exc: BaseException) -> str:
    """``Type: message (file:line in function)``: the last traceback line and where it was raised."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = frames[-1]
        line += f" ({where.filename}:{where.lineno} in {where.name})"
    return line


def _write(path: str, result: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(result, file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
