"""The instructions channel: instruction counts of CPU-bound time benchmarks under cachegrind.

``perfkit-bench instructions`` measures every selected benchmark that declares the
``instructions`` channel. Per benchmark:

1. **Run natively** once, alone: ``_instructions_worker calibrate`` picks N, the power of two
   of loops that the function reports as lasting at least ``CALIBRATION_SECONDS``; with
   ``--iterations N``, ``_instructions_worker count`` runs ``f(N)`` once instead.
2. **Count**, ``--repeat`` times: the same harness process twice under
   ``valgrind --tool=cachegrind --cache-sim=no``, once calling ``f(N)`` and once ``f(0)``
   (``_instructions_worker count``). Instructions per operation =
   ``(I(N) - I(0)) / (N x inner_loops)``: interpreter start-up, imports and the function's own
   set-up cancel out. A repeat is one pyperf run of one value, so the file shows whether the
   counts repeat exactly (they do, for a deterministic workload with a fixed hash seed).
3. **Write** one pyperf ``BenchmarkSuite``: one benchmark per id, unit ``integer``, with
   ``perfkit_channel=instructions`` and the run-level ``perfkit_*`` metadata of ``run``.

Every process gets the stripped environment that sampled workers get (PATH, HOME, PYTHONPATH
with the suite folder, locale) plus ``PYTHONHASHSEED=0`` (str hashes, and so dict and set
layouts, repeat from run to run; a random seed moved the count of one script by 0.09 %), a private
bytecode cache and an empty working directory (``_Harness``: both keep the harness identical from
one count to the next while other processes touch the checkout). Under valgrind the counts do not
depend on the machine's load, so the count processes of a benchmark run ``--jobs`` at a time;
the native run, which times, runs alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit_bench._argtypes import exit_on_sigterm, positive_float, positive_int
from perfkit_bench._discovery import DEFAULT_PATH, discover_suites
from perfkit_bench._exceptions import (
    MissingToolError,
    OutputExistsError,
    RunFailed,
    SelectionError,
    UsageError,
)
from perfkit_bench._fingerprint import collect
from perfkit_bench._instructions_worker import PROGRAM_ARGS
from perfkit_bench._orchestrator import (
    _KEPT_ENVIRON,
    DEFAULT_TIMEOUT,
    Failure,
    RunResult,
    _kill_group,
    _last_line,
    _pythonpath,
    _version,
)
from perfkit_bench._progress import Progress, make_progress
from perfkit_bench._selection import select
from perfkit_bench._spec import UNITS, BenchmarkSpec, MetadataValue

__all__ = [
    "CALIBRATION_SECONDS",
    "CHANNEL",
    "DEFAULT_REPEAT",
    "HASH_SEED",
    "VALGRIND_MISSING",
    "InstructionsOptions",
    "add_instructions_command",
    "find_valgrind",
    "iterations_from",
    "measure",
    "parse_instructions",
]

CHANNEL = "instructions"
# Any fixed value will do; 0 is also what PYTHONHASHSEED=0 documents as "randomization off".
HASH_SEED = 0
# Two repeats of the (N, 0) pair: enough to show in every file that the counts repeat exactly,
# without doubling again a cost that is mostly interpreter start-up under valgrind.
DEFAULT_REPEAT = 2
# Native seconds of work per counted run. Under cachegrind Python runs ~50x slower, so N loops
# cost 0.5-1 s there; doubling from 1 stops between 10 and 20 ms. Much less and first-call costs
# (lazy imports, caches) show in the per-operation count; more only adds valgrind time.
CALIBRATION_SECONDS = 0.01
# Calibration is native and short: a benchmark whose calibration exceeds this is broken.
_CALIBRATION_TIMEOUT = 120.0
# How often the parent looks at its running count processes: they last seconds each.
_POLL_SECONDS = 0.02

VALGRIND_MISSING = (
    "valgrind is not installed; install it (apt-get install valgrind) or run the time channel only"
)

# Cachegrind's summary line: "==123== I   refs:      34,904,779" (valgrind 3.19; newer versions
# print "I refs:"). Lines start with the pid of the process that wrote them: a forked child
# writes its own summary to the same log, and only the counted process's line is wanted.
_I_REFS = re.compile(r"^==(\d+)==\s+I\s+refs:\s+([\d,]+)\s*$", re.MULTILINE)
_PID = re.compile(r"^==(\d+)==", re.MULTILINE)


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


@dataclass(frozen=True)
class _Count:
    """One process's outcome: its instruction count, or why there is none."""

    instructions: int | None
    seconds: float
    error: Failure | None = None


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


def parse_instructions(log: str) -> int | None:
    """The ``I refs`` count of the first process in a valgrind log (None: no summary)."""
    first = _PID.search(log)
    if first is None:
        return None
    for match in _I_REFS.finditer(log):
        if match.group(1) == first.group(1):
            return int(match.group(2).replace(",", ""))
    return None


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
    valgrind, valgrind_version = find_valgrind()
    if output.exists() and not force:
        raise OutputExistsError(
            f"File already exists, will not overwrite without --force: {output}"
        )
    started = dt.datetime.now(dt.UTC)
    fingerprint = collect(repo_dir if repo_dir is not None else Path.cwd())
    run_id = uuid.uuid4().hex
    failures: list[Failure] = []
    benchmarks: list[Any] = []
    with tempfile.TemporaryDirectory(prefix="perfkit-instructions-") as tmp:
        harness = _Harness.create(Path(tmp))
        progress.start(len(specs))
        try:
            for index, spec in enumerate(specs):
                progress.begin(index, spec.id)
                began = time.monotonic()
                workdir = Path(tmp) / f"{index:04d}"
                workdir.mkdir()
                outcome = _measure_one(
                    spec,
                    suite_paths[spec.suite],
                    options,
                    harness,
                    valgrind,
                    valgrind_version,
                    workdir,
                )
                if isinstance(outcome, Failure):
                    failures.append(outcome)
                    progress.finish(spec.id, time.monotonic() - began, outcome.error)
                else:
                    benchmarks.append(outcome)
                    progress.finish(spec.id, time.monotonic() - began, None)
        finally:
            progress.close()
    if not benchmarks:
        raise RunFailed(
            f"every selected benchmark failed ({len(specs)}); no result file written",
            [f.as_json() for f in failures],
        )
    run_metadata: dict[str, MetadataValue] = {
        "perfkit_run_id": run_id,
        "perfkit_version": _version(),
        "perfkit_started": started.isoformat(timespec="seconds"),
        "perfkit_finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **fingerprint.metadata(),
        "perfkit_failed": json.dumps([f.as_json() for f in failures]),
    }
    names = _write(benchmarks, run_metadata, output, force)
    return RunResult(output=output, run_id=run_id, benchmarks=names, failures=failures)


def _measure_one(
    spec: BenchmarkSpec,
    suite_path: Path,
    options: InstructionsOptions,
    harness: _Harness,
    valgrind: str,
    valgrind_version: str,
    workdir: Path,
) -> Any:
    """One pyperf Benchmark of ``repeat`` runs, or the Failure that prevented it."""
    import pyperf

    if spec.kind != "time":
        return Failure(
            spec.id,
            "error",
            f"kind={spec.kind!r}: the instructions channel counts time benchmarks only "
            "(f(loops)); remove 'instructions' from its channels",
        )
    timeout = spec.timeout if spec.timeout is not None else options.timeout
    worker = [sys.executable, *PROGRAM_ARGS]
    suite_file = str(suite_path.resolve())

    # The native run first, alone: it calibrates N (or, with --iterations, runs f(N) once), finds
    # a broken benchmark in a fraction of a second instead of minutes under valgrind, and is the
    # only process allowed to write .pyc files into the harness's cache, for every module f(N)
    # imports.
    calibration: float | None = None
    fixed = options.loops_for(spec.id)
    if fixed is None:
        cmd = [*worker, "calibrate", suite_file, spec.id, repr(CALIBRATION_SECONDS)]
    else:
        cmd = [*worker, "count", suite_file, spec.id, str(fixed)]
    native = harness.environ(suite_path, write_bytecode=True)
    limit = min(timeout, _CALIBRATION_TIMEOUT)
    outcome = _run_all({"native": cmd}, native, harness.cwd, workdir, 1, limit)["native"]
    if outcome.error is not None:
        return _named(spec, outcome.error)
    if fixed is not None:
        loops = fixed
    else:
        try:
            answer = json.loads((workdir / "native.out").read_text(encoding="utf-8"))
            loops, calibration = int(answer["loops"]), float(answer["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            text = _last_line(workdir / "native.out") or "nothing"
            return Failure(spec.id, "error", f"calibration printed {text!r}")

    counted = [
        valgrind,
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
    ]
    commands: dict[str, list[str]] = {}
    for repeat in range(options.repeat):
        for n in (loops, 0):
            name = f"r{repeat}-n{n}"
            log = workdir / f"{name}.valgrind"
            commands[name] = [
                *counted,
                f"--log-file={log}",
                *worker,
                "count",
                suite_file,
                spec.id,
                str(n),
            ]
    env = harness.environ(suite_path, write_bytecode=False)
    done = _run_all(commands, env, harness.cwd, workdir, options.jobs, timeout, valgrind_logs=True)

    for outcome in done.values():
        if outcome.error is not None:
            return _named(spec, outcome.error)
    runs = []
    for repeat in range(options.repeat):
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
        metadata: dict[str, MetadataValue] = {
            **spec.metadata(),
            "name": spec.id,
            "unit": UNITS["count"],
            "loops": loops,
            "inner_loops": spec.inner_loops,
            "duration": full.seconds + empty.seconds,
            "perfkit_channel": CHANNEL,
            "perfkit_metric": CHANNEL,
            "perfkit_iterations": loops,
            "perfkit_hash_seed": HASH_SEED,
            "perfkit_valgrind": valgrind_version,
            "perfkit_instructions_total": full.instructions,
            "perfkit_instructions_harness": empty.instructions,
        }
        if calibration is not None:
            metadata["perfkit_calibration_seconds"] = calibration
        runs.append(pyperf.Run([per_op], metadata=metadata))
    return pyperf.Benchmark(runs)


def _named(spec: BenchmarkSpec, failure: Failure) -> Failure:
    return Failure(spec.id, failure.kind, failure.error)


def _run_all(
    commands: dict[str, list[str]],
    env: dict[str, str],
    cwd: Path,
    workdir: Path,
    jobs: int,
    timeout: float,
    *,
    valgrind_logs: bool = False,
) -> dict[str, _Count]:
    """Run ``commands`` (name -> argv) in ``cwd``, ``jobs`` at a time, each within ``timeout``
    seconds.

    Each process leads a new session and its process group is killed when it ends, times out,
    or the parent unwinds (SIGTERM, Ctrl-C), as in ``_orchestrator``. Its stdout and stderr go to
    ``workdir/<name>.out`` and ``.err``. The first failure stops the rest: the other counts of
    the benchmark are of no use without it.
    """
    pending = list(commands.items())
    running: dict[str, tuple[subprocess.Popen[bytes], float]] = {}
    results: dict[str, _Count] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                name, cmd = pending.pop(0)
                with (
                    open(workdir / f"{name}.out", "wb") as stdout,
                    open(workdir / f"{name}.err", "wb") as stderr,
                ):
                    proc = subprocess.Popen(
                        cmd,
                        stdin=subprocess.DEVNULL,
                        stdout=stdout,
                        stderr=stderr,
                        env=env,
                        cwd=cwd,
                        start_new_session=True,
                    )
                running[name] = (proc, time.monotonic())
            time.sleep(_POLL_SECONDS)
            for name, (proc, began) in list(running.items()):
                code = proc.poll()
                elapsed = time.monotonic() - began
                if code is None and elapsed < timeout:
                    continue
                _kill_group(proc)
                del running[name]
                result = _outcome(name, code, elapsed, timeout, workdir, valgrind_logs)
                results[name] = result
                if result.error is not None:
                    return results
    finally:
        for proc, _ in running.values():
            _kill_group(proc)
    return results


def _outcome(
    name: str, code: int | None, elapsed: float, timeout: float, workdir: Path, logs: bool
) -> _Count:
    if code is None:
        error = f"no result after {timeout:g} s; killed its process ({name})"
        return _Count(None, elapsed, Failure("", "timeout", error))
    instructions = None
    log = workdir / f"{name}.valgrind"
    if logs and log.exists():
        instructions = parse_instructions(log.read_text(encoding="utf-8", errors="replace"))
    if code == 0 and (instructions is not None or not logs):
        return _Count(instructions, elapsed)
    # The worker prints its error as the last line of stderr; valgrind writes its own trouble
    # (a crash of the interpreter, a signal) to the log.
    text = _last_line(workdir / f"{name}.err")
    if not text and logs and log.exists():
        text = _valgrind_trouble(log.read_text(encoding="utf-8", errors="replace"))
    if code == 0:
        text = text or "valgrind printed no instruction count"
    where = f"{name} under valgrind" if logs else "native run"
    error = f"{text or 'the process wrote no error'} ({where}, exit code {code})"
    return _Count(None, elapsed, Failure("", "error", error))


def _valgrind_trouble(log: str) -> str:
    """The line of a valgrind log that says why the process ended, without the ``==pid==``."""
    lines = [_PID.sub("", line).strip() for line in log.splitlines()]
    for line in lines:
        if line.startswith(("Process terminating", "valgrind:")):
            return line
    words = [line for line in lines if line]
    return words[-1] if words else ""


@dataclass(frozen=True)
class _Harness:
    """What every process of one ``instructions`` command shares, so that the harness it pays
    is the same in every count, whatever other processes do to the checkout meanwhile.

    - ``cwd``: an empty folder that stays empty. ``python -m`` puts the working directory first
      on sys.path, and the import system lists the folders it searches: files appearing there
      (the counts' own logs, results/, an editor's swap file) would change the count.
    - ``pycache``: ``PYTHONPYCACHEPREFIX``, a private bytecode cache. The native run of each
      benchmark fills it; counts only read it (``PYTHONDONTWRITEBYTECODE=1``). Without it, a
      count reads whatever ``__pycache__`` holds at that moment, and a module without a current
      .pyc is compiled in every count that imports it (in a checkout that others were editing,
      the harness of two repeats of one benchmark differed by 12.7 M instructions before this).
    """

    cwd: Path
    pycache: Path

    @classmethod
    def create(cls, tmp: Path) -> _Harness:
        harness = cls(cwd=tmp / "cwd", pycache=tmp / "pycache")
        harness.cwd.mkdir()
        harness.pycache.mkdir()
        return harness

    def environ(self, suite_path: Path, *, write_bytecode: bool) -> dict[str, str]:
        env = {name: os.environ[name] for name in _KEPT_ENVIRON if name in os.environ}
        # Absolute entries: the processes run in ``cwd``, not in this process's directory.
        current = env.get("PYTHONPATH", "").split(os.pathsep)
        absolute = os.pathsep.join(os.path.abspath(entry) for entry in current if entry)
        env["PYTHONPATH"] = _pythonpath(suite_path, absolute)
        env["PYTHONHASHSEED"] = str(HASH_SEED)
        env["PYTHONPYCACHEPREFIX"] = str(self.pycache)
        if not write_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        return env


def _write(
    benchmarks: list[Any], run_metadata: dict[str, MetadataValue], output: Path, force: bool
) -> list[str]:
    import pyperf

    for bench in benchmarks:
        bench.update_metadata(dict(run_metadata))
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        pyperf.BenchmarkSuite(benchmarks).dump(str(output), replace=force)
    except FileExistsError:
        raise OutputExistsError(
            f"File already exists, will not overwrite without --force: {output}"
        ) from None
    return [str(bench.get_name()) for bench in benchmarks]


# -- the command ---------------------------------------------------------------------------------


def add_instructions_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perfkit-bench instructions`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "instructions",
        help="count instructions per operation under valgrind (benchmarks declaring the channel)",
    )
    parser.add_argument(
        "--suites",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help=f"suite folder or file (repeatable; default {DEFAULT_PATH}/)",
    )
    parser.add_argument(
        "--suite", action="append", default=[], metavar="NAME", help="only this suite (repeatable)"
    )
    parser.add_argument(
        "--target", action="append", default=[], metavar="NAME", help="only this target"
    )
    parser.add_argument(
        "-k", dest="pattern", metavar="PATTERN", help="id substring, or glob with * ? ["
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="ID", help="only this id (repeatable)"
    )
    loops = parser.add_mutually_exclusive_group()
    loops.add_argument(
        "--iterations",
        type=positive_int,
        metavar="N",
        help=f"loops per counted run (default: calibrated to ~{CALIBRATION_SECONDS * 1000:g} ms)",
    )
    loops.add_argument(
        "--iterations-from",
        type=Path,
        metavar="FILE",
        help="the loops each benchmark had in an earlier instructions file (the other side of "
        "an A/B check), so both count the same work; benchmarks not in it are calibrated",
    )
    parser.add_argument(
        "--repeat",
        type=positive_int,
        default=DEFAULT_REPEAT,
        metavar="R",
        help=f"(N, 0) pairs per benchmark, one value each (default {DEFAULT_REPEAT})",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        metavar="J",
        help="valgrind processes at a time (default: the CPUs this process may use)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per process unless the benchmark declares its own "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--output", "-o", type=Path, required=True, help="result file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --output")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    parser.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    specs, suite_paths = _selected(args)
    options = InstructionsOptions(
        iterations=args.iterations,
        iterations_for=iterations_from(args.iterations_from) if args.iterations_from else {},
        repeat=args.repeat,
        jobs=args.jobs or len(os.sched_getaffinity(0)),
        timeout=args.timeout,
    )
    first = args.suites[0] if args.suites else DEFAULT_PATH
    # As in `run`: a CI runner cancels with SIGTERM; unwinding kills the valgrind processes.
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        result = measure(
            specs,
            suite_paths,
            options,
            make_progress(quiet=args.quiet),
            output=args.output,
            force=args.force,
            repo_dir=first if first.is_dir() else first.parent,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    for failure in result.failures:
        print(f"FAILED {failure.id} ({failure.kind}): {failure.error}", file=sys.stderr)
    print(result.output)
    return 1 if result.failures else 0


def _selected(args: argparse.Namespace) -> tuple[list[BenchmarkSpec], dict[str, Path]]:
    suites = discover_suites(args.suites or None)
    specs = [spec for _, declared in suites for spec in declared]
    if not specs:
        where = " ".join(map(str, args.suites)) or f"{DEFAULT_PATH}/"
        raise SelectionError(f"no benchmarks found in {where}: declare some with @benchmark")
    chosen = select(specs, suites=args.suite, targets=args.target, pattern=args.pattern)
    if args.only:
        unknown = sorted(set(args.only) - {spec.id for spec in specs})
        if unknown:
            raise SelectionError(
                f"--only {' '.join(unknown)}: no such benchmark; "
                "run 'perfkit-bench list' to see the ids"
            )
        chosen = [spec for spec in chosen if spec.id in args.only]
        without = [spec.id for spec in chosen if CHANNEL not in spec.channels]
        if without:
            raise SelectionError(
                f"--only {' '.join(without)}: not declared for the instructions channel; "
                "add 'instructions' to its @benchmark(channels=...)"
            )
    counted = [spec for spec in chosen if CHANNEL in spec.channels]
    if not counted:
        raise SelectionError(
            f"none of the {len(chosen)} selected benchmarks declares the instructions channel; "
            "declare CPU-bound time benchmarks with channels=('time', 'instructions')"
        )
    return counted, {path.stem: path for path, _ in suites}
