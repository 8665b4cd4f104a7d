"""The process that measures one benchmark. The orchestrator starts it; people do not.

Time benchmarks (``kind="time"``) go through pyperf itself::

    python -m perfkit_bench._worker --suite-path FILE --bench ID [pyperf options] -o OUT.json

builds one ``pyperf.Runner`` whose manager calibrates loops and spawns pyperf's worker
processes; each re-executes this module with pyperf's ``--worker`` options plus ours (handed over
through ``add_cmdline_args``), imports the suite file and calls ``runner.bench_time_func``.

Bytes, count and latency benchmarks return a value rather than a duration, so pyperf's loop
calibration (which divides by the number of loops) does not apply. For them the orchestrator
starts this module once per process::

    python -m perfkit_bench._worker sample --suite-path FILE --bench ID \\
        --values N --warmups W [--affinity CPUS] -o OUT.json

which calls the function ``W`` times (discarded as warmups) then ``N`` times, and writes a
pyperf ``BenchmarkSuite`` holding one ``pyperf.Run`` per metric (one for bytes/count, one per key
for latency), with the unit set and pyperf's usual per-process metadata collected here, in the
measuring process, as pyperf's own workers do. The orchestrator merges the per-process files.
An extra latency key with a value <= 0 cannot be stored by pyperf: it is left out and named in
``perfkit_omitted`` (the required percentiles must be > 0, or the benchmark fails).

``perfkit-bench ab`` starts pyperf's worker mode directly (``--worker --loops L --warmups W
--values V``, one process per side and pair, the same ``L`` on both sides), and on the head side
of an injection run adds ``--inject-percent P``: each call of the workload is followed, inside
the value pyperf records, by a busy-wait of ``P`` % of that call's own duration (:func:`slowed`).
It also asks each side's interpreter for its environment::

    python -m perfkit_bench._worker fingerprint --repo DIR

which prints the :class:`~perfkit_bench._fingerprint.Fingerprint` of that interpreter (its
library versions) and of the git checkout holding ``DIR`` as JSON.

Whatever goes wrong, the first error is written as one line to ``--error-file`` so the
orchestrator can report the benchmark's own exception rather than pyperf's "worker failed".
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from perfkit_bench._clock import (
    CLOCK_FUNCTIONS,
    CLOCK_METADATA,
    CLOCKS,
    Clock,
    Readings,
    burn,
    reading,
)
from perfkit_bench._discovery import load_suite, resolve
from perfkit_bench._exceptions import WorkerError, one_line
from perfkit_bench._spec import (
    LATENCY_REQUIRED,
    NAME_PATTERN,
    UNITS,
    BenchmarkSpec,
    MetadataValue,
    latency_metric_unit,
)

__all__ = ["PROGRAM_ARGS", "main", "on_clock", "parse_cpu_list", "slowed", "workload"]

# How pyperf re-executes us for its worker processes (it prepends sys.executable).
PROGRAM_ARGS = ("-m", "perfkit_bench._worker")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    error_file = _option(args, "--error-file")
    try:
        if args[:1] == ["sample"]:
            return _sample_main(args[1:])
        if args[:1] == ["fingerprint"]:
            return _fingerprint_main(args[1:])
        return _time_main(args)
    except Exception as exc:
        _record_error(error_file, exc)
        raise


def _time_main(argv: list[str]) -> int:
    import pyperf

    def forward(cmd: list[str], args: argparse.Namespace) -> None:
        # pyperf rebuilds the command line of its workers from its own options only.
        cmd.extend(("--suite-path", args.suite_path, "--bench", args.bench))
        cmd.extend(("--clock", args.clock))
        for option, value in (("--error-file", args.error_file), ("--cpu-file", args.cpu_file)):
            if value:
                cmd.extend((option, value))
        if args.inject_percent:
            cmd.extend(("--inject-percent", repr(args.inject_percent)))

    runner = pyperf.Runner(add_cmdline_args=forward, program_args=PROGRAM_ARGS)
    _add_time_options(runner.argparser)
    args = runner.parse_args(argv)
    if not (math.isfinite(args.inject_percent) and args.inject_percent >= 0):
        raise WorkerError(f"--inject-percent {args.inject_percent!r}: expected a percentage >= 0")

    spec = _find(args.suite_path, args.bench)
    if spec.kind != "time":
        raise WorkerError(f"{spec.id} is kind={spec.kind!r}; run it with the 'sample' worker")
    clock: Clock = spec.clock if args.clock == "declared" else args.clock
    record = None
    if args.cpu_file and clock == "wall" and spec.clock != "wall":
        record = functools.partial(_record_cpu, args.cpu_file)
    func = on_clock(workload(spec), spec, clock, also=spec.clock if record else None, record=record)
    if args.inject_percent:
        func = slowed(func, args.inject_percent / 100, CLOCK_FUNCTIONS[clock])
    # perfkit_clock names the clock of the values in this file (run: perf_counter; the declared
    # clock's values go to <id>.cpu_time).
    metadata = {**spec.metadata(), "perfkit_clock": CLOCK_METADATA[clock]}
    runner.bench_time_func(spec.id, func, inner_loops=spec.inner_loops, metadata=metadata)
    return 0


def _add_time_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite-path", required=True, help="suite file to import")
    parser.add_argument("--bench", required=True, help="benchmark id to run")
    parser.add_argument("--error-file", help="write the first error here, one line")
    parser.add_argument(
        "--clock",
        choices=("declared", *CLOCKS),
        default="wall",
        help="the clock of the values: wall (run: perf_counter), or the benchmark's declared "
        "clock or a named one (ab)",
    )
    parser.add_argument(
        "--cpu-file",
        help="with --clock wall: append each call's time on the declared CPU clock here (run)",
    )
    parser.add_argument(
        "--inject-percent",
        type=float,
        default=0.0,
        metavar="P",
        help="slow every call by P %% with a busy-wait inside the timing (ab --inject-head)",
    )


def workload(spec: BenchmarkSpec) -> Callable[..., Any]:
    """The benchmark's function, called with its grid point (its suite must be loaded)."""
    func = resolve(spec)
    if spec.call_kwargs:
        func = functools.partial(func, **spec.call_kwargs)
    return func


def on_clock(
    func: Callable[[int], float],
    spec: BenchmarkSpec,
    clock: Clock,
    *,
    also: Clock | None = None,
    record: Callable[[int, float, float], None] | None = None,
) -> Callable[[int], float]:
    """``func`` (a time workload) with :func:`perfkit_bench.timer` reading ``clock`` during each
    call, and ``also`` beside it (its total handed to ``record(loops, seconds, also_seconds)``).

    A CPU clock must come from the workload's own ``timer()`` readings: when the readings do not
    add up to the time it returned, the call raises :class:`WorkerError` instead of recording a
    time taken on some other clock (a workload still timing itself with ``perf_counter``)."""
    primary = CLOCK_FUNCTIONS[clock]
    secondary = CLOCK_FUNCTIONS[also] if also is not None else None
    checked = clock != "wall" or also is not None

    def call(loops: int) -> float:
        readings = Readings(primary, secondary)
        with reading(readings):
            elapsed = float(func(loops))
        problem = readings.problem(elapsed) if checked else None
        if problem is not None:
            raise WorkerError(
                f"{spec.id} declares clock={spec.clock!r} but {problem}; time its loop with "
                "t0 = perfkit_bench.timer() ... return perfkit_bench.timer() - t0"
            )
        if record is not None:
            record(loops, elapsed, readings.secondary_total)
        return elapsed

    return call


def _record_cpu(path: str, loops: int, seconds: float, cpu_seconds: float) -> None:
    # One line per call, read by the orchestrator after the benchmark (perfkit-bench run): the
    # calibration's calls and the warm-ups are there too, and are matched out by their value.
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"loops": loops, "seconds": seconds, "cpu": cpu_seconds}) + "\n")


def _sample_main(argv: list[str]) -> int:
    import pyperf

    parser = argparse.ArgumentParser(prog="python -m perfkit_bench._worker sample")
    parser.add_argument("--suite-path", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--values", type=int, required=True)
    parser.add_argument("--warmups", type=int, required=True)
    parser.add_argument("--affinity", metavar="CPU_LIST")
    parser.add_argument("--error-file")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args(argv)
    if args.values < 1 or args.warmups < 0:
        raise WorkerError("--values must be >= 1 and --warmups >= 0")
    if args.affinity:
        # Same effect as pyperf's --affinity for its workers.
        os.sched_setaffinity(0, parse_cpu_list(args.affinity))

    spec = _find(args.suite_path, args.bench)
    if spec.kind == "time":
        raise WorkerError(f"{spec.id} is kind='time'; run it through pyperf, not 'sample'")
    func = workload(spec)

    start = time.monotonic()
    warmups = [_measure(spec, func) for _ in range(args.warmups)]
    values = [_measure(spec, func) for _ in range(args.values)]
    duration = time.monotonic() - start

    keys = list(values[0])
    for sample in warmups + values:
        if list(sample) != keys:
            raise WorkerError(
                f"{spec.id} returned keys {sorted(sample)} then {sorted(keys)}: "
                "a latency benchmark must return the same keys on every call"
            )
    # pyperf stores only values > 0. An extra latency key that legitimately reads 0 (drops,
    # errors) cannot be stored, so it is left out and named in perfkit_omitted instead of
    # failing the benchmark; the required percentiles were checked to be > 0 in _measure.
    omitted = [key for key in keys if any(sample[key] <= 0 for sample in warmups + values)]
    benchmarks = []
    for key in keys:
        if key in omitted:
            continue
        metadata: dict[str, MetadataValue] = {
            **spec.metadata(),
            "name": spec.id if spec.kind != "latency" else f"{spec.id}.{key}",
            "unit": UNITS[spec.kind] if spec.kind != "latency" else latency_metric_unit(key),
            "loops": 1,
            "duration": duration,
        }
        if omitted:
            metadata["perfkit_omitted"] = ",".join(omitted)
        run = pyperf.Run(
            [sample[key] for sample in values],
            # pyperf stores warmups as (loops, value) pairs; one call is one loop here.
            warmups=[(1, sample[key]) for sample in warmups] or None,
            metadata=metadata,
        )
        benchmarks.append(pyperf.Benchmark([run]))
    pyperf.BenchmarkSuite(benchmarks).dump(args.output)
    return 0


def _fingerprint_main(argv: list[str]) -> int:
    from perfkit_bench._fingerprint import collect

    parser = argparse.ArgumentParser(prog="python -m perfkit_bench._worker fingerprint")
    parser.add_argument("--repo", required=True, help="a folder inside the checkout to describe")
    args = parser.parse_args(argv)
    print(json.dumps(dataclasses.asdict(collect(args.repo)), sort_keys=True))
    return 0


def slowed(
    func: Callable[[int], float], fraction: float, clock: Callable[[], float] = time.perf_counter
) -> Callable[[int], float]:
    """``func`` (a time workload, ``f(loops) -> elapsed seconds`` on ``clock``) made slower by
    ``fraction``.

    Each call runs ``func`` unchanged, then busy-waits until ``clock`` has advanced ``fraction``
    times the elapsed time ``func`` returned (:func:`perfkit_bench._clock.burn`), and returns that
    elapsed time plus the busy-wait's own duration on ``clock``. The busy-wait is real time spent
    inside the value (the worker process, its noise and pyperf's arithmetic are exercised as for
    any workload); it follows the workload's timed region, so the setup ``func`` excludes stays
    excluded; and because it is sized by the very call it follows, on the same clock, every value
    is ``(1 + fraction)`` times what it would have been, whatever the machine's drift.

    The clock must be the one the value is measured on: a spin on ``perf_counter`` beside a
    busy neighbour gets half the CPU, so it would add only half its length to a CPU-time value;
    a spin on ``thread_time`` sized from a wall time stretches twice (both were measured here:
    40 % injected came out as +57 % and +86 % with the clocks mixed). On a CPU clock only the
    spin's running counts, so the slowdown is exact even on a loaded machine.
    """

    def slowed_func(loops: int) -> float:
        elapsed = float(func(loops))
        return elapsed + burn(elapsed * fraction, clock)

    return slowed_func


def _measure(spec: BenchmarkSpec, func: Callable[..., Any]) -> dict[str, float]:
    result = func()
    if spec.kind != "latency":
        return {"value": _positive(spec, "value", result)}
    if not isinstance(result, dict):
        raise WorkerError(
            f"{spec.id} is kind='latency' and must return a dict like "
            f"{{'p50': s, 'p95': s, 'p99': s}}, got {type(result).__name__}"
        )
    missing = [key for key in LATENCY_REQUIRED if key not in result]
    if missing:
        raise WorkerError(f"{spec.id} returned no {', '.join(missing)}: latency needs p50/p95/p99")
    for key in result:
        if not isinstance(key, str) or not NAME_PATTERN.fullmatch(key):
            raise WorkerError(f"{spec.id} returned key {key!r}: keys must match [a-z0-9_]+")
    return {
        key: _positive(spec, key, value) if key in LATENCY_REQUIRED else _finite(spec, key, value)
        for key, value in result.items()
    }


def _finite(spec: BenchmarkSpec, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WorkerError(f"{spec.id} returned {key}={value!r}: expected a finite number")
    return float(value)


def _positive(spec: BenchmarkSpec, key: str, value: object) -> float:
    number = _finite(spec, key, value)
    if not number > 0:
        # pyperf.Run accepts only values > 0 (and would raise a less helpful ValueError).
        raise WorkerError(
            f"{spec.id} returned {key}={value!r}: pyperf stores only finite values > 0"
        )
    return number


def _find(suite_path: str, bench_id: str) -> BenchmarkSpec:
    for spec in load_suite(suite_path):
        if spec.id == bench_id:
            return spec
    raise WorkerError(f"{suite_path} declares no benchmark {bench_id!r}")


def parse_cpu_list(text: str) -> set[int]:
    """``"0-2,5"`` -> ``{0, 1, 2, 5}``, the syntax of pyperf's and taskset's ``--affinity``."""
    cpus: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, sep, last = part.partition("-")
        try:
            cpus.update(range(int(first), int(last) + 1) if sep else [int(first)])
        except ValueError:
            raise ValueError(f"--affinity {text!r}: use a CPU list like '0' or '0-1,3'") from None
    if not cpus:
        raise ValueError(f"--affinity {text!r}: use a CPU list like '0' or '0-1,3'")
    return cpus


def _option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _record_error(error_file: str | None, exc: BaseException) -> None:
    # First error wins: a pyperf worker writes the benchmark's exception before its manager
    # fails with "worker failed with exit code 1".
    if not error_file:
        return
    try:
        with open(error_file, "x", encoding="utf-8") as out:
            out.write(one_line(exc) + "\n")
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
