"""Running the selected benchmarks one after another and writing the run's result file.

Every benchmark runs in its own worker processes (see ``_worker``), started in a new session so
a timeout can kill the whole process group: pyperf's manager and all its workers. A benchmark
that raises or times out is recorded in ``perfkit_failed`` and the run goes on. At the end the
per-benchmark pyperf files are merged into one ``BenchmarkSuite`` carrying the run-level
``perfkit_*`` metadata on every benchmark.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeAlias

from perfkit_bench._exceptions import RunFailed, UsageError
from perfkit_bench._fingerprint import Fingerprint, collect
from perfkit_bench._plumbing import (
    DEFAULT_TIMEOUT,
    Failure,
    RunResult,
    failed,
    pythonpath,
    refuse_existing,
    run_metadata,
    run_process,
    stripped_environ,
    timed_out,
    write_suite,
)
from perfkit_bench._progress import Progress
from perfkit_bench._run._cpu import CPU_FILE, cpu_benchmark
from perfkit_bench._spec import BenchmarkSpec
from perfkit_bench._worker import PROGRAM_ARGS, parse_cpu_list

__all__ = [
    "RESULTS_DIR",
    "Mode",
    "RunOptions",
    "default_output",
    "run",
]

Mode: TypeAlias = Literal["fast", "default", "rigorous"]

RESULTS_DIR = Path("results")

# Sampled kinds (bytes, count, latency) call the whole workload once per value, so pyperf's time
# defaults (20 processes x 3 values of ~0.1 s each) would repeat a multi-second scenario 80 times.
# Memory and counts barely move within a process; what varies is between processes (hash seed,
# allocator and import state), so we keep several processes and few values. "fast" keeps 3
# processes for the reason pyperf --fast does: 3 different randomized hash seeds.
# (processes, values, warmups)
_SAMPLED_MODES: dict[str, tuple[int, int, int]] = {
    "fast": (3, 2, 0),
    "default": (10, 3, 1),
    "rigorous": (20, 3, 1),
}


@dataclass(frozen=True)
class RunOptions:
    """How hard to measure. ``None`` knobs keep the mode's own numbers."""

    mode: Mode = "default"
    processes: int | None = None
    values: int | None = None
    warmups: int | None = None
    min_time: float | None = None
    loops: int | None = None
    affinity: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    inherit_environ: tuple[str, ...] = ()
    copy_env: bool = False

    def __post_init__(self) -> None:
        if self.affinity is not None:
            try:  # fail before the first benchmark, not in every worker
                parse_cpu_list(self.affinity)
            except ValueError as exc:
                raise UsageError(str(exc)) from None

    @property
    def recorded_mode(self) -> str:
        """``perfkit_mode``: the mode, or ``custom`` once any count or duration knob is set."""
        knobs = (self.processes, self.values, self.warmups, self.min_time, self.loops)
        return "custom" if any(k is not None for k in knobs) else self.mode


def default_output(started: dt.datetime, fingerprint: Fingerprint) -> Path:
    """``results/<UTC yyyymmddTHHMMSSZ>-<short commit or 'nocommit'>.json``."""
    stamp = started.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIR / f"{stamp}-{fingerprint.short_commit or 'nocommit'}.json"


def run(
    specs: Sequence[BenchmarkSpec],
    suite_paths: dict[str, Path],
    options: RunOptions,
    progress: Progress,
    *,
    output: Path | None = None,
    force: bool = False,
    repo_dir: Path | None = None,
) -> RunResult:
    """Run ``specs`` (``suite_paths`` maps a suite name to its file) and write the result file.

    Raises :class:`OutputExistsError` before running anything if the output exists and not
    ``force``; :class:`RunFailed` if no benchmark produced values (no file is written then).
    """
    started = dt.datetime.now(dt.UTC)
    fingerprint = collect(repo_dir if repo_dir is not None else Path.cwd())
    output = output if output is not None else default_output(started, fingerprint)
    refuse_existing(output, force)
    run_id = uuid.uuid4().hex
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-") as tmp:
        files, failures = _run_all(specs, suite_paths, options, progress, Path(tmp))
        if not files:
            raise RunFailed(
                f"every selected benchmark failed ({len(specs)}); no result file written",
                [f.as_json() for f in failures],
            )
        metadata = run_metadata(
            run_id=run_id,
            mode=options.recorded_mode,
            started=started,
            finished=dt.datetime.now(dt.UTC),
            fingerprint=fingerprint,
            failed=[f.as_json() for f in failures],
        )
        names = write_suite(_load_all(files), metadata, output, force)
    return RunResult(output=output, run_id=run_id, benchmarks=names, failures=failures)


def _run_all(
    specs: Sequence[BenchmarkSpec],
    suite_paths: dict[str, Path],
    options: RunOptions,
    progress: Progress,
    tmp: Path,
) -> tuple[list[Path], list[Failure]]:
    """Each benchmark in turn, in its own folder of ``tmp``: the result files, the failures."""
    failures: list[Failure] = []
    files: list[Path] = []
    progress.start(len(specs))
    try:
        for index, spec in enumerate(specs):
            progress.begin(index, spec.id)
            began = time.monotonic()
            workdir = tmp / f"{index:04d}"
            workdir.mkdir()
            outcome = _run_benchmark(spec, suite_paths[spec.suite], options, workdir)
            if isinstance(outcome, Failure):
                failures.append(outcome)
                progress.finish(spec.id, time.monotonic() - began, outcome.error)
            else:
                files.extend([outcome, *_cpu_result(spec, outcome, workdir)])
                progress.finish(spec.id, time.monotonic() - began, None)
    finally:
        progress.close()
    return files, failures


def _cpu_result(spec: BenchmarkSpec, result: Path, workdir: Path) -> list[Path]:
    """The ``<id>.cpu_time`` file of a time benchmark on a CPU clock (``_cpu``), if any."""
    import pyperf

    if spec.kind != "time" or spec.clock == "wall":
        return []
    try:
        bench = cpu_benchmark(spec, result, workdir / CPU_FILE)
    except ValueError:  # a CPU reading pyperf refuses (0 s): none rather than a wrong one
        return []
    if bench is None:
        return []
    path = workdir / "cpu-result.json"
    pyperf.BenchmarkSuite([bench]).dump(str(path))
    return [path]


def _load_all(files: list[Path]) -> list[Any]:
    import pyperf

    return [
        bench for path in files for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks()
    ]


def _run_benchmark(
    spec: BenchmarkSpec, suite_path: Path, options: RunOptions, workdir: Path
) -> Path | Failure:
    timeout = spec.timeout if spec.timeout is not None else options.timeout
    deadline = time.monotonic() + timeout
    if spec.kind == "time":
        return _run_time(spec, suite_path, options, workdir, deadline, timeout)
    return _run_sampled(spec, suite_path, options, workdir, deadline, timeout)


def _run_time(
    spec: BenchmarkSpec,
    suite_path: Path,
    options: RunOptions,
    workdir: Path,
    deadline: float,
    timeout: float,
) -> Path | Failure:
    out = workdir / "result.json"
    error_file = workdir / "error.txt"
    cmd = [
        sys.executable,
        *PROGRAM_ARGS,
        "--suite-path",
        str(suite_path.resolve()),
        "--bench",
        spec.id,
        "--error-file",
        str(error_file),
        *_pyperf_args(options),
        "-o",
        str(out),
    ]
    if spec.clock != "wall":
        # Wall time is the value; the declared CPU clock is read beside it (_cpu).
        cmd += ["--cpu-file", str(workdir / CPU_FILE)]
    # The manager keeps our environment (plus the suite folder on PYTHONPATH); pyperf strips
    # its workers' environment down to PATH, HOME, PYTHONPATH, locale and --inherit-environ.
    env = {**os.environ, "PYTHONPATH": pythonpath(suite_path)}
    code = run_process(cmd, env, workdir / "manager", deadline)
    if code is None:
        return timed_out(spec, timeout)
    if code != 0 or not out.exists():
        return failed(spec, code, error_file, workdir / "manager")
    return out


def _run_sampled(
    spec: BenchmarkSpec,
    suite_path: Path,
    options: RunOptions,
    workdir: Path,
    deadline: float,
    timeout: float,
) -> Path | Failure:
    import pyperf

    processes, values, warmups = _SAMPLED_MODES[options.mode]
    processes = options.processes or processes
    values = options.values or values
    warmups = options.warmups if options.warmups is not None else warmups
    env = stripped_environ(options.inherit_environ, copy_env=options.copy_env)
    env["PYTHONPATH"] = pythonpath(suite_path, env.get("PYTHONPATH"))
    error_file = workdir / "error.txt"
    parts: list[Any] = []
    for index in range(processes):
        out = workdir / f"process-{index:03d}.json"
        cmd = [
            sys.executable,
            *PROGRAM_ARGS,
            "sample",
            "--suite-path",
            str(suite_path.resolve()),
            "--bench",
            spec.id,
            "--values",
            str(values),
            "--warmups",
            str(warmups),
            "--error-file",
            str(error_file),
            "-o",
            str(out),
        ]
        if options.affinity:
            cmd.extend(("--affinity", options.affinity))
        log = workdir / f"process-{index:03d}"
        code = run_process(cmd, env, log, deadline)
        if code is None:
            return timed_out(spec, timeout)
        if code != 0 or not out.exists():
            return failed(spec, code, error_file, log)
        parts.append(pyperf.BenchmarkSuite.load(str(out)))
    result = workdir / "result.json"
    _merge_processes(spec, parts).dump(str(result))
    return result


def _merge_processes(spec: BenchmarkSpec, parts: list[Any]) -> Any:
    """One pyperf benchmark per metric, with one run per process. A latency key that some process
    had to omit (a value <= 0, see ``_worker``) is dropped from every process, so each metric
    has the same number of runs, and all of them name it in ``perfkit_omitted``."""
    import pyperf

    omitted: set[str] = set()
    for part in parts:
        for bench in part.get_benchmarks():
            for run in bench.get_runs():
                listed = str(run.get_metadata().get("perfkit_omitted", ""))
                omitted.update(filter(None, listed.split(",")))
    merged: dict[str, Any] = {}
    for part in parts:
        for bench in part.get_benchmarks():
            name = str(bench.get_name())
            if name.removeprefix(f"{spec.id}.") in omitted:
                continue
            if name in merged:
                merged[name].add_runs(bench)
            else:
                merged[name] = bench
    benchmarks = list(merged.values())
    if omitted:
        for bench in benchmarks:
            bench.update_metadata({"perfkit_omitted": ",".join(sorted(omitted))})
    return pyperf.BenchmarkSuite(benchmarks)


def _pyperf_args(options: RunOptions) -> list[str]:
    """pyperf's command line for a time benchmark: the counts, then the knobs and the
    environment."""
    if options.processes is None and options.values is None:
        args = _mode_counts(options)
    else:
        # pyperf's --fast / --rigorous overwrite --processes and --values, so explicit counts
        # are passed instead of the mode, never with it.
        args = _explicit_counts(options)
    return [*args, *_knobs(options), *_worker_environ(options)]


def _mode_counts(options: RunOptions) -> list[str]:
    if options.mode == "fast":
        # pyperf's own --fast still starts 10 workers of ~0.1 s values each: 7 s per
        # benchmark here, 10 minutes for the runtime's ~90 benchmarks. A smoke run needs a
        # number, not a verdict: 3 processes (3 hash seeds, as pyperf --fast argues) x 2 values
        # of >= 20 ms.
        # No warm-up value either: a smoke run proves the workload runs and gives a rough
        # number; with the toolkit suite (1.5 s renders) warm-ups pushed it past 3 minutes.
        args = ["--processes", "3", "--values", "2"]
        if options.warmups is None:
            args += ["--warmups", "0"]
        if options.min_time is None:
            args += ["--min-time", "0.02"]
        return args
    if options.mode == "default":
        # pyperf's defaults (20 processes x 3 values of >= 0.1 s, plus calibration) cost
        # 10-40 s per benchmark on this 2-core machine: over an hour for ~90 benchmarks when
        # the other core is busy. 10 processes x 3 values of >= 50 ms keep the process-to-
        # process spread visible (the statistics' unit is the process) in about 8 minutes.
        # --rigorous is pyperf's own, for when time is no object.
        args = ["--processes", "10", "--values", "3"]
        if options.min_time is None:
            args += ["--min-time", "0.05"]
        return args
    return [f"--{options.mode}"]


def _explicit_counts(options: RunOptions) -> list[str]:
    args: list[str] = []
    if options.processes is not None:
        args += ["--processes", str(options.processes)]
    if options.values is not None:
        args += ["--values", str(options.values)]
    return args


def _knobs(options: RunOptions) -> list[str]:
    args: list[str] = []
    if options.warmups is not None:
        args += ["--warmups", str(options.warmups)]
    if options.min_time is not None:
        args += ["--min-time", repr(options.min_time)]
    if options.loops is not None:
        args += ["--loops", str(options.loops)]
    if options.affinity:
        args.append(f"--affinity={options.affinity}")
    return args


def _worker_environ(options: RunOptions) -> list[str]:
    if options.copy_env:
        return ["--copy-env"]
    if options.inherit_environ:
        return ["--inherit-environ", ",".join(options.inherit_environ)]
    return []
