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

__all__ = ["PROGRAM_ARGS", "burn", "main", "parse_cpu_list", "slowed"]

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
        if args.error_file:
            cmd.extend(("--error-file", args.error_file))
        if args.inject_percent:
            cmd.extend(("--inject-percent", repr(args.inject_percent)))

    runner = pyperf.Runner(add_cmdline_args=forward, program_args=PROGRAM_ARGS)
    runner.argparser.add_argument("--suite-path", required=True, help="suite file to import")
    runner.argparser.add_argument("--bench", required=True, help="benchmark id to run")
    runner.argparser.add_argument("--error-file", help="write the first error here, one line")
    runner.argparser.add_argument(
        "--inject-percent",
        type=float,
        default=0.0,
        metavar="P",
        help="slow every call by P %% with a busy-wait inside the timing (ab --inject-head)",
    )
    args = runner.parse_args(argv)
    if not (math.isfinite(args.inject_percent) and args.inject_percent >= 0):
        raise WorkerError(f"--inject-percent {args.inject_percent!r}: expected a percentage >= 0")

    spec = _find(args.suite_path, args.bench)
    if spec.kind != "time":
        raise WorkerError(f"{spec.id} is kind={spec.kind!r}; run it with the 'sample' worker")
    func = resolve(spec)
    if spec.call_kwargs:
        func = functools.partial(func, **spec.call_kwargs)
    if args.inject_percent:
        func = slowed(func, args.inject_percent / 100)
    runner.bench_time_func(
        spec.id, func, inner_loops=spec.inner_loops, metadata=dict(spec.metadata())
    )
    return 0


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
    func = resolve(spec)
    if spec.call_kwargs:
        func = functools.partial(func, **spec.call_kwargs)

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


def slowed(func: Callable[[int], float], fraction: float) -> Callable[[int], float]:
    """``func`` (a time workload, ``f(loops) -> elapsed seconds``) made slower by ``fraction``.

    Each call runs ``func`` unchanged, then busy-waits ``fraction`` times the elapsed time
    ``func`` returned (:func:`burn`), and returns that elapsed time plus the busy-wait's own
    duration, timed with ``perf_counter`` around it. The busy-wait is real time spent inside the
    value pyperf records (the worker process, its noise and pyperf's arithmetic are exercised
    as for any workload); it follows the workload's timed region, so the setup ``func`` excludes
    stays excluded; and because it is sized by the very call it follows, in the same clock, every
    value is ``(1 + fraction)`` times what it would have been, whatever the machine's drift.
    (On an oversubscribed machine a busy-wait descheduled at its very end ends late: the
    slowdown then comes out a little larger.)

    Two alternatives were measured here and rejected: a fixed busy-wait computed once from a
    calibration process (that process ran 60 % slower than the later ones, so a 40 % injection
    came out as 57 %), and a busy-wait on the thread's CPU time (with the two cores shared, the
    CPU-time wait stretched a second time: 40 % came out as 86 %).
    """

    def slowed_func(loops: int) -> float:
        elapsed = float(func(loops))
        spin_started = time.perf_counter()
        burn(elapsed * fraction)
        return elapsed + (time.perf_counter() - spin_started)

    return slowed_func


def burn(seconds: float) -> None:
    """Busy-wait ``seconds`` of wall time on ``perf_counter`` (one call costs ~50 ns here, which
    bounds the overshoot); a spin, not a sleep, so the process stays on the CPU as real work
    would."""
    clock = time.perf_counter
    end = clock() + seconds
    while clock() < end:
        pass


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
