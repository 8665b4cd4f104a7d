"""The ``perfkit-bench`` command: ``list``, ``run``, ``instructions`` (in ``_instructions``) and
``ab`` (paired A/B runs of two revisions, in ``_ab``).

Only :func:`main` turns errors into exit codes: 0 ok, 1 a benchmark failed (or all did),
2 bad usage or bad input, 130 interrupted. Errors go to stderr as one line naming the fix;
stdout carries only results (the table of ``list``, the result path of ``run``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from perfkit_bench._ab import add_ab_command
from perfkit_bench._argtypes import exit_on_sigterm, non_negative_int, positive_float, positive_int
from perfkit_bench._discovery import DEFAULT_PATH, discover_suites
from perfkit_bench._exceptions import PerfkitBenchError, RunFailed, SelectionError, WorkerError
from perfkit_bench._instructions import add_instructions_command
from perfkit_bench._orchestrator import DEFAULT_TIMEOUT, RunOptions, run
from perfkit_bench._progress import make_progress
from perfkit_bench._selection import select
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["build_parser", "main"]

PROG = "perfkit-bench"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``perfkit-bench`` and ``python -m perfkit_bench``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except RunFailed as exc:
        for failure in exc.failures:
            _report_failure(failure)
        _error(str(exc))
        return 1
    except WorkerError as exc:
        _error(str(exc))
        return 1
    except PerfkitBenchError as exc:
        _error(str(exc))
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Declare benchmark suites and run them in pyperf worker processes."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    listing = commands.add_parser("list", help="list the benchmarks (id, target, kind, unit)")
    _add_selection(listing)
    listing.add_argument("--json", action="store_true", help="print every field as JSON")
    listing.set_defaults(handler=_list)

    running = commands.add_parser(
        "run", help="run the benchmarks and write one pyperf JSON result file"
    )
    _add_selection(running)
    mode = running.add_mutually_exclusive_group()
    mode.add_argument(
        "--fast", dest="mode", action="store_const", const="fast", help="smoke run (pyperf --fast)"
    )
    mode.add_argument(
        "--rigorous",
        dest="mode",
        action="store_const",
        const="rigorous",
        help="more worker processes (pyperf --rigorous)",
    )
    running.set_defaults(mode="default")
    knobs = running.add_argument_group(
        "knobs", "override the mode's numbers (the run is then recorded as mode 'custom')"
    )
    knobs.add_argument("--processes", "-p", type=positive_int, help="worker processes")
    knobs.add_argument("--values", "-n", type=positive_int, help="values per process")
    knobs.add_argument("--warmups", "-w", type=non_negative_int, help="warmup values per process")
    knobs.add_argument(
        "--min-time", type=positive_float, help="seconds per value for loop calibration (time)"
    )
    knobs.add_argument("--loops", type=positive_int, help="fixed loops per value (time)")
    running.add_argument("--affinity", metavar="CPUS", help="pin workers to CPUs, e.g. 0 or 0-1")
    running.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per benchmark unless it declares its own (default {DEFAULT_TIMEOUT:g})",
    )
    running.add_argument(
        "--inherit-environ",
        metavar="VARS",
        default="",
        help="comma-separated environment variables passed to workers (pyperf strips the rest)",
    )
    running.add_argument(
        "--copy-env", action="store_true", help="pass the whole environment to workers"
    )
    running.add_argument(
        "--output",
        "-o",
        type=Path,
        help="result file (default results/<UTC yyyymmddTHHMMSSZ>-<short commit>.json)",
    )
    running.add_argument("--force", action="store_true", help="overwrite an existing --output")
    running.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    running.set_defaults(handler=_run)
    add_ab_command(commands)
    add_instructions_command(commands)
    return parser


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help=f"suite folders or files (default {DEFAULT_PATH}/)",
    )
    parser.add_argument(
        "--suite", action="append", default=[], metavar="NAME", help="only this suite (repeatable)"
    )
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="only this target (repeatable)",
    )
    parser.add_argument(
        "-k", dest="pattern", metavar="PATTERN", help="id substring, or glob with * ? ["
    )


def _selected(args: argparse.Namespace) -> tuple[list[BenchmarkSpec], dict[str, Path]]:
    suites = discover_suites(args.paths or None)
    specs = [spec for _, declared in suites for spec in declared]
    chosen = select(specs, suites=args.suite, targets=args.target, pattern=args.pattern)
    return chosen, {path.stem: path for path, _ in suites}


def _list(args: argparse.Namespace) -> int:
    specs, _ = _selected(args)
    if args.json:
        print(json.dumps([spec.as_json() for spec in specs], indent=2))
        return 0
    rows = [("ID", "TARGET", "KIND", "UNIT")]
    rows += [(spec.id, spec.target, spec.kind, spec.unit) for spec in specs]
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]))
    return 0


def _run(args: argparse.Namespace) -> int:
    specs, suite_paths = _selected(args)
    if not specs:
        where = " ".join(args.paths) or f"{DEFAULT_PATH}/"
        raise SelectionError(f"no benchmarks found in {where}: declare some with @benchmark")
    options = RunOptions(
        mode=args.mode,
        processes=args.processes,
        values=args.values,
        warmups=args.warmups,
        min_time=args.min_time,
        loops=args.loops,
        affinity=args.affinity,
        timeout=args.timeout,
        inherit_environ=tuple(v.strip() for v in args.inherit_environ.split(",") if v.strip()),
        copy_env=args.copy_env,
    )
    first = Path(args.paths[0]) if args.paths else DEFAULT_PATH
    # A CI runner cancels a job with SIGTERM: turn it into an exit that unwinds, so the
    # orchestrator still kills the worker process groups it started.
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        result = run(
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
        _report_failure(failure.as_json())
    print(result.output)
    return 1 if result.failures else 0


def _report_failure(failure: dict[str, str]) -> None:
    print(f"FAILED {failure['id']} ({failure['kind']}): {failure['error']}", file=sys.stderr)


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
