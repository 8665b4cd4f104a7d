"""Counting one benchmark: the native run that calibrates N, the (N, 0) pairs under
cachegrind, and the pyperf benchmark made of their difference (the method is in
``perfkit_bench._instructions``' docstring)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit_bench._exceptions import MissingToolError, RunFailed, UsageError
from perfkit_bench._fingerprint import collect
from perfkit_bench._instructions._harness import (
    HASH_SEED,
    Count,
    Harness,
    parse_instructions,
    run_all,
)
from perfkit_bench._instructions_worker import PROGRAM_ARGS
from perfkit_bench._plumbing import (
    DEFAULT_TIMEOUT,
    Failure,
    RunResult,
    last_line,
    refuse_existing,
    run_metadata,
    write_suite,
)
from perfkit_bench._progress import Progress
from perfkit_bench._spec import UNITS, BenchmarkSpec, MetadataValue

__all__ = [
    "CALIBRATION_SECONDS",
    "CHANNEL",
    "DEFAULT_REPEAT",
    "HASH_SEED",
    "VALGRIND_MISSING",
    "InstructionsOptions",
    "find_valgrind",
    "iterations_from",
    "measure",
    "parse_instructions",
]

CHANNEL = "instructions"
# Two repeats of the (N, 0) pair: enough to show in every file that the counts repeat exactly,
# without doubling again a cost that is mostly interpreter start-up under valgrind.
DEFAULT_REPEAT = 2
# Native seconds of work per counted run. Under cachegrind Python runs ~50x slower, so N loops
# cost 0.5-1 s there; doubling from 1 stops between 10 and 20 ms. Much less and first-call costs
# (lazy imports, caches) show in the per-operation count; more only adds valgrind time.
CALIBRATION_SECONDS = 0.01
# Calibration is native and short: a benchmark whose calibration exceeds this is broken.
_CALIBRATION_TIMEOUT = 120.0

VALGRIND_MISSING = (
    "valgrind is not installed; install it (apt-get install valgrind) or run the time channel only"
)


@dataclass(frozen=True)
class InstructionsOptions:
    """``iterations`` fixes N for every benchmark, ``iterations_for`` per benchmark id (else N is
    calibrated); ``repeat`` pairs per benchmark; ``jobs`` count processes at a time; ``timeout``
    seconds per process unless the benchmark declares one."""

    iterations: int | None = None
    iterations_for: Mapping[str, int] = field(default_factory=dict)
    repeat: int = DEFAULT_REPEAT
    jobs: int = 1
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        for loops in (self.iterations, *self.iterations_for.values()):
            if loops is not None and loops < 1:
                raise UsageError(f"iterations must be >= 1, got {loops}")
        if self.repeat < 1 or self.jobs < 1:
            raise UsageError("--repeat and --jobs must be >= 1")

    def loops_for(self, bench_id: str) -> int | None:
        """N for ``bench_id``, or None: calibrate it."""
        return self.iterations_for.get(bench_id, self.iterations)


def iterations_from(path: Path) -> dict[str, int]:
    """``perfkit_iterations`` of every benchmark in an earlier ``instructions`` file: the N to
    count again with, so that two files compare the same work (``--iterations-from``)."""
    import pyperf

    try:
        suite = pyperf.BenchmarkSuite.load(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--iterations-from {path}: cannot read it ({exc}); pass a file written by "
            "perfkit-bench instructions"
        ) from None
    found: dict[str, int] = {}
    for bench in suite.get_benchmarks():
        metadata = bench.get_metadata()
        loops = metadata.get("perfkit_iterations")
        if metadata.get("perfkit_channel") != CHANNEL or not isinstance(loops, int) or loops < 1:
            raise UsageError(
                f"--iterations-from {path}: benchmark {bench.get_name()!r} has no "
                "perfkit_iterations; pass a file written by perfkit-bench instructions"
            )
        found[str(bench.get_name())] = loops
    return found


def find_valgrind() -> tuple[str, str]:
    """(path, version) of the valgrind on PATH; :class:`MissingToolError` when there is none."""
    path = shutil.which("valgrind")
    if path is None:
        raise MissingToolError(VALGRIND_MISSING)
    try:
        done = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingToolError(f"{path} --version failed ({exc}); {VALGRIND_MISSING}") from None
    version = done.stdout.strip()
    if done.returncode != 0 or not version:
        raise MissingToolError(f"{path} --version failed; {VALGRIND_MISSING}")
    return path, version


@dataclass(frozen=True)
class _Valgrind:
    path: str
    version: str


def measure(
    specs: Sequence[BenchmarkSpec],
    suite_paths: dict[str, Path],
    options: InstructionsOptions,
    progress: Progress,
    *,
    output: Path,
    force: bool = False,
    repo_dir: Path | None = None,
) -> RunResult:
    """Count ``specs`` (each must declare the channel) and write the result file ``output``.

    Raises :class:`MissingToolError` without valgrind and :class:`OutputExistsError` for an
    existing output without ``force``, before running anything; :class:`RunFailed` when no
    benchmark produced a count (no file is written then).
    """
    valgrind = _Valgrind(*find_valgrind())
    refuse_existing(output, force)
    started = dt.datetime.now(dt.UTC)
    fingerprint = collect(repo_dir if repo_dir is not None else Path.cwd())
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="perfkit-instructions-") as tmp:
        benchmarks, failures = _measure_all(
            specs, suite_paths, options, progress, valgrind, Path(tmp)
        )
    if not benchmarks:
        raise RunFailed(
            f"every selected benchmark failed ({len(specs)}); no result file written",
            [f.as_json() for f in failures],
        )
    metadata = run_metadata(
        run_id=run_id,
        started=started,
        finished=dt.datetime.now(dt.UTC),
        fingerprint=fingerprint,
        failed=[f.as_json() for f in failures],
    )
    names = write_suite(benchmarks, metadata, output, force)
    return RunResult(output=output, run_id=run_id, benchmarks=names, failures=failures)


def _measure_all(
    specs: Sequence[BenchmarkSpec],
    suite_paths: dict[str, Path],
    options: InstructionsOptions,
    progress: Progress,
    valgrind: _Valgrind,
    tmp: Path,
) -> tuple[list[Any], list[Failure]]:
    """Each benchmark in turn: the pyperf benchmarks counted, the failures."""
    harness = Harness.create(tmp)
    failures: list[Failure] = []
    benchmarks: list[Any] = []
    progress.start(len(specs))
    try:
        for index, spec in enumerate(specs):
            progress.begin(index, spec.id)
            began = time.monotonic()
            workdir = tmp / f"{index:04d}"
            workdir.mkdir()
            counter = _Counter(spec, suite_paths[spec.suite], options, harness, valgrind, workdir)
            outcome = counter.measure()
            if isinstance(outcome, Failure):
                failures.append(outcome)
                progress.finish(spec.id, time.monotonic() - began, outcome.error)
            else:
                benchmarks.append(outcome)
                progress.finish(spec.id, time.monotonic() - began, None)
    finally:
        progress.close()
    return benchmarks, failures


@dataclass(frozen=True)
class _Counter:
    """Counting one benchmark, in its own ``workdir``."""

    spec: BenchmarkSpec
    suite_path: Path
    options: InstructionsOptions
    harness: Harness
    valgrind: _Valgrind
    workdir: Path

    @property
    def timeout(self) -> float:
        return self.spec.timeout if self.spec.timeout is not None else self.options.timeout

    @property
    def worker(self) -> list[str]:
        return [sys.executable, *PROGRAM_ARGS]

    def measure(self) -> Any:
        """One pyperf Benchmark of ``repeat`` runs, or the Failure that prevented it."""
        spec = self.spec
        if spec.kind != "time":
            return Failure(
                spec.id,
                "error",
                f"kind={spec.kind!r}: the instructions channel counts time benchmarks only "
                "(f(loops)); remove 'instructions' from its channels",
            )
        native = self._native()
        if isinstance(native, Failure):
            return native
        loops, calibration = native
        env = self.harness.environ(self.suite_path, write_bytecode=False)
        done = run_all(
            self._counted(loops),
            env,
            self.harness.cwd,
            self.workdir,
            self.options.jobs,
            self.timeout,
            valgrind_logs=True,
        )
        for outcome in done.values():
            if outcome.error is not None:
                return self._named(outcome.error)
        return self._benchmark(done, loops, calibration)

    def _native(self) -> tuple[int, float | None] | Failure:
        """The native run first, alone: it calibrates N (or, with --iterations, runs f(N) once),
        finds a broken benchmark in a fraction of a second instead of minutes under valgrind,
        and is the only process allowed to write .pyc files into the harness's cache, for every
        module f(N) imports. (N, the calibration's seconds or None) or the Failure."""
        spec = self.spec
        suite_file = str(self.suite_path.resolve())
        fixed = self.options.loops_for(spec.id)
        if fixed is None:
            cmd = [*self.worker, "calibrate", suite_file, spec.id, repr(CALIBRATION_SECONDS)]
        else:
            cmd = [*self.worker, "count", suite_file, spec.id, str(fixed)]
        native = self.harness.environ(self.suite_path, write_bytecode=True)
        limit = min(self.timeout, _CALIBRATION_TIMEOUT)
        outcome = run_all({"native": cmd}, native, self.harness.cwd, self.workdir, 1, limit)
        if outcome["native"].error is not None:
            return self._named(outcome["native"].error)
        if fixed is not None:
            return fixed, None
        try:
            answer = json.loads((self.workdir / "native.out").read_text(encoding="utf-8"))
            return int(answer["loops"]), float(answer["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            text = last_line(self.workdir / "native.out") or "nothing"
            return Failure(spec.id, "error", f"calibration printed {text!r}")

    def _counted(self, loops: int) -> dict[str, list[str]]:
        """The valgrind command lines, name -> argv: ``repeat`` pairs of (N, 0)."""
        counted = [
            self.valgrind.path,
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
        ]
        suite_file = str(self.suite_path.resolve())
        commands: dict[str, list[str]] = {}
        for repeat in range(self.options.repeat):
            for n in (loops, 0):
                name = f"r{repeat}-n{n}"
                log = self.workdir / f"{name}.valgrind"
                commands[name] = [
                    *counted,
                    f"--log-file={log}",
                    *self.worker,
                    "count",
                    suite_file,
                    self.spec.id,
                    str(n),
                ]
        return commands

    def _benchmark(self, done: dict[str, Count], loops: int, calibration: float | None) -> Any:
        import pyperf

        spec = self.spec
        runs = []
        for repeat in range(self.options.repeat):
            full, empty = done[f"r{repeat}-n{loops}"], done[f"r{repeat}-n0"]
            assert full.instructions is not None and empty.instructions is not None
            per_op = (full.instructions - empty.instructions) / (loops * spec.inner_loops)
            if not per_op > 0:
                return Failure(
                    spec.id,
                    "error",
                    f"{loops} loops counted {full.instructions:,} instructions and 0 loops "
                    f"{empty.instructions:,}: no work per loop (does the function use its loops "
                    "argument?)",
                )
            metadata = self._run_metadata(full, empty, loops)
            if calibration is not None:
                metadata["perfkit_calibration_seconds"] = calibration
            runs.append(pyperf.Run([per_op], metadata=metadata))
        return pyperf.Benchmark(runs)

    def _run_metadata(self, full: Count, empty: Count, loops: int) -> dict[str, MetadataValue]:
        assert full.instructions is not None and empty.instructions is not None
        return {
            **self.spec.metadata(),
            "name": self.spec.id,
            "unit": UNITS["count"],
            "loops": loops,
            "inner_loops": self.spec.inner_loops,
            "duration": full.seconds + empty.seconds,
            "perfkit_channel": CHANNEL,
            "perfkit_metric": CHANNEL,
            "perfkit_iterations": loops,
            "perfkit_hash_seed": HASH_SEED,
            "perfkit_valgrind": self.valgrind.version,
            "perfkit_instructions_total": full.instructions,
            "perfkit_instructions_harness": empty.instructions,
        }

    def _named(self, failure: Failure) -> Failure:
        return Failure(self.spec.id, failure.kind, failure.error)
