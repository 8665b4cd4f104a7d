"""Running the selected benchmarks one after another and writing the run's result file.

Every benchmark runs in its own worker processes (see ``_worker``), started in a new session so
a timeout can kill the whole process group: pyperf's manager and all its workers. A benchmark
that raises or times out is recorded in ``perfkit_failed`` and the run goes on. At the end the
per-benchmark pyperf files are merged into one ``BenchmarkSuite`` carrying the run-level
``perfkit_*`` metadata on every benchmark.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from perfkit_bench._exceptions import OutputExistsError, RunFailed, UsageError
from perfkit_bench._fingerprint import Fingerprint, collect
from perfkit_bench._progress import Progress
from perfkit_bench._spec import BenchmarkSpec, MetadataValue
from perfkit_bench._worker import PROGRAM_ARGS, parse_cpu_list

__all__ = [
    "DEFAULT_TIMEOUT",
    "RESULTS_DIR",
    "Failure",
    "Mode",
    "RunOptions",
    "RunResult",
    "default_output",
    "run",
]

Mode: TypeAlias = Literal["fast", "default", "rigorous"]

RESULTS_DIR = Path("results")

# Ten minutes: the slowest real scenario (a load test at --rigorous) takes a few minutes on the
# 2-core CI machine; anything past that is a hang, not a measurement.
DEFAULT_TIMEOUT = 600.0

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

# The variables pyperf's create_environ() keeps for its workers (pyperf/_utils.py), so sampled
# workers see the same stripped environment as time workers.
_KEPT_ENVIRON = (
    "PATH",
    "HOME",
    "TEMP",
    "COMSPEC",
    "SystemRoot",
    "SystemDrive",
    "PYTHONPATH",
    "PYTHON_CPU_COUNT",
    "PYTHON_GIL",
    "LANG",
    "LC_ADDRESS",
    "LC_ALL",
    "LC_COLLATE",
    "LC_CTYPE",
    "LC_IDENTIFICATION",
    "LC_MEASUREMENT",
    "LC_MESSAGES",
    "LC_MONETARY",
    "LC_NAME",
    "LC_NUMERIC",
    "LC_PAPER",
    "LC_TELEPHONE",
    "LC_TIME",
)


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


@dataclass(frozen=True)
class Failure:
    """A benchmark that did not produce values: ``kind`` is ``error`` or ``timeout``."""

    id: str
    kind: Literal["error", "timeout"]
    error: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "error": self.error}


@dataclass(frozen=True)
class RunResult:
    output: Path
    run_id: str
    benchmarks: list[str]
    failures: list[Failure] = field(default_factory=list)


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
    if output.exists() and not force:
        raise OutputExistsError(
            f"File already exists, will not overwrite without --force: {output}"
        )
    run_id = uuid.uuid4().hex
    failures: list[Failure] = []
    files: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="perfkit-bench-") as tmp:
        progress.start(len(specs))
        try:
            for index, spec in enumerate(specs):
                progress.begin(index, spec.id)
                began = time.monotonic()
                workdir = Path(tmp) / f"{index:04d}"
                workdir.mkdir()
                outcome = _run_benchmark(spec, suite_paths[spec.suite], options, workdir)
                if isinstance(outcome, Failure):
                    failures.append(outcome)
                    progress.finish(spec.id, time.monotonic() - began, outcome.error)
                else:
                    files.append(outcome)
                    progress.finish(spec.id, time.monotonic() - began, None)
        finally:
            progress.close()
        if not files:
            raise RunFailed(
                f"every selected benchmark failed ({len(specs)}); no result file written",
                [f.as_json() for f in failures],
            )
        finished = dt.datetime.now(dt.UTC)
        run_metadata: dict[str, MetadataValue] = {
            "perfkit_run_id": run_id,
            "perfkit_version": _version(),
            "perfkit_mode": options.recorded_mode,
            "perfkit_started": started.isoformat(timespec="seconds"),
            "perfkit_finished": finished.isoformat(timespec="seconds"),
            **fingerprint.metadata(),
            "perfkit_failed": json.dumps([f.as_json() for f in failures]),
        }
        names = _write(files, run_metadata, output, force)
    return RunResult(output=output, run_id=run_id, benchmarks=names, failures=failures)


def _write(
    files: list[Path], run_metadata: dict[str, MetadataValue], output: Path, force: bool
) -> list[str]:
    import pyperf

    benchmarks: list[Any] = []
    for path in files:
        for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
            bench.update_metadata(dict(run_metadata))
            benchmarks.append(bench)
    suite = pyperf.BenchmarkSuite(benchmarks)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        suite.dump(str(output), replace=force)
    except FileExistsError:
        raise OutputExistsError(
            f"File already exists, will not overwrite without --force: {output}"
        ) from None
    return [str(bench.get_name()) for bench in benchmarks]


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
    # The manager keeps our environment (plus the suite folder on PYTHONPATH); pyperf strips
    # its workers' environment down to PATH, HOME, PYTHONPATH, locale and --inherit-environ.
    env = {**os.environ, "PYTHONPATH": _pythonpath(suite_path)}
    code = _run_process(cmd, env, workdir / "manager", deadline)
    if code is None:
        return _timed_out(spec, timeout)
    if code != 0 or not out.exists():
        return _failed(spec, code, error_file, workdir / "manager")
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
    env = _stripped_environ(options)
    env["PYTHONPATH"] = _pythonpath(suite_path, env.get("PYTHONPATH"))
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
        code = _run_process(cmd, env, log, deadline)
        if code is None:
            return _timed_out(spec, timeout)
        if code != 0 or not out.exists():
            return _failed(spec, code, error_file, log)
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
    args: list[str] = []
    if options.processes is None and options.values is None:
        if options.mode == "fast":
            # pyperf's own --fast still starts 10 workers of ~0.1 s values each: 7 s per
            # benchmark here, 10 minutes for the runtime's ~90 benchmarks. A smoke run needs a
            # number, not a verdict: 3 processes (3 hash seeds, as pyperf --fast argues) x 2 values
            # of >= 20 ms.
            # No warm-up value either: a smoke run proves the workload runs and gives a rough
            # number; with the toolkit suite (1.5 s renders) warm-ups pushed it past 3 minutes.
            args.extend(("--processes", "3", "--values", "2"))
            if options.warmups is None:
                args.extend(("--warmups", "0"))
            if options.min_time is None:
                args.extend(("--min-time", "0.02"))
        elif options.mode == "default":
            # pyperf's defaults (20 processes x 3 values of >= 0.1 s, plus calibration) cost
            # 10-40 s per benchmark on this 2-core machine: over an hour for ~90 benchmarks when
            # the other core is busy. 10 processes x 3 values of >= 50 ms keep the process-to-
            # process spread visible (the statistics' unit is the process) in about 8 minutes.
            # --rigorous is pyperf's own, for when time is no object.
            args.extend(("--processes", "10", "--values", "3"))
            if options.min_time is None:
                args.extend(("--min-time", "0.05"))
        else:
            args.append(f"--{options.mode}")
    else:
        # pyperf's --fast / --rigorous overwrite --processes and --values, so explicit counts
        # are passed instead of the mode, never with it.
        if options.processes is not None:
            args.extend(("--processes", str(options.processes)))
        if options.values is not None:
            args.extend(("--values", str(options.values)))
    if options.warmups is not None:
        args.extend(("--warmups", str(options.warmups)))
    if options.min_time is not None:
        args.extend(("--min-time", repr(options.min_time)))
    if options.loops is not None:
        args.extend(("--loops", str(options.loops)))
    if options.affinity:
        args.append(f"--affinity={options.affinity}")
    if options.copy_env:
        args.append("--copy-env")
    elif options.inherit_environ:
        args.extend(("--inherit-environ", ",".join(options.inherit_environ)))
    return args


def _pythonpath(suite_path: Path, current: str | None = None) -> str:
    if current is None:
        current = os.environ.get("PYTHONPATH", "")
    parts = [str(suite_path.resolve().parent), *filter(None, current.split(os.pathsep))]
    return os.pathsep.join(dict.fromkeys(parts))


def _stripped_environ(options: RunOptions) -> dict[str, str]:
    if options.copy_env:
        return dict(os.environ)
    names = (*_KEPT_ENVIRON, *options.inherit_environ)
    return {name: os.environ[name] for name in names if name in os.environ}


def _run_process(cmd: list[str], env: dict[str, str], log: Path, deadline: float) -> int | None:
    """Run ``cmd`` until it exits (its exit code) or the deadline passes (``None``).

    The process leads a new session, so killing its process group also kills every process it
    spawned (pyperf's workers); the group is killed whatever happens, so no worker outlives its
    benchmark. stdout and stderr go to files: a pipe nobody reads could block a chatty worker.
    """
    with open(f"{log}.out", "wb") as stdout, open(f"{log}.err", "wb") as stderr:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            start_new_session=True,
        )
    try:
        return proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        return None
    finally:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _timed_out(spec: BenchmarkSpec, timeout: float) -> Failure:
    return Failure(
        spec.id, "timeout", f"no result after {timeout:g} s; killed its worker processes"
    )


def _failed(spec: BenchmarkSpec, code: int | None, error_file: Path, log: Path) -> Failure:
    text = ""
    if error_file.exists():
        text = error_file.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        # No error recorded (pyperf exited on its own, or the interpreter crashed): the last
        # line it wrote is the best summary available.
        text = _last_line(Path(f"{log}.err")) or _last_line(Path(f"{log}.out"))
    text = text or "worker wrote no result"
    return Failure(spec.id, "error", f"{text} (exit code {code})")


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip():
            return " ".join(line.split())
    return ""


def _version() -> str:
    try:
        return importlib.metadata.version("perfkit-bench")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"
