"""``perfkit-bench instructions``: the command line of the instructions channel."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from perfkit_bench._discovery import DEFAULT_PATH
from perfkit_bench._exceptions import SelectionError, UsageError
from perfkit_bench._instructions._count import (
    CALIBRATION_SECONDS,
    CHANNEL,
    DEFAULT_REPEAT,
    InstructionsOptions,
    iterations_from,
    measure,
)
from perfkit_bench._plumbing import (
    DEFAULT_TIMEOUT,
    add_filters,
    add_quiet,
    positive_float,
    positive_int,
    sigterm_unwinds,
)
from perfkit_bench._progress import make_progress
from perfkit_bench._selection import Discovered, discover_declared
from perfkit_bench._spec import BenchmarkSpec
from perfkit_bench._worker import parse_cpu_list

__all__ = ["add_instructions_command"]


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
    add_filters(parser)
    parser.add_argument(
        "--only", action="append", default=[], metavar="ID", help="only this id (repeatable)"
    )
    _add_counting(parser)
    parser.add_argument("--output", "-o", type=Path, required=True, help="result file")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --output")
    add_quiet(parser)
    parser.set_defaults(handler=_command)


def _add_counting(parser: argparse.ArgumentParser) -> None:
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
        "--affinity",
        metavar="CPUS",
        help="run on these CPUs only, e.g. 0 (the regression gate counts beside its timed "
        "slices on another CPU)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per process unless the benchmark declares its own "
        f"(default {DEFAULT_TIMEOUT:g})",
    )


def _command(args: argparse.Namespace) -> int:
    if args.affinity:
        try:  # inherited by every process it starts (valgrind and its children)
            os.sched_setaffinity(0, parse_cpu_list(args.affinity))
        except (ValueError, OSError) as exc:
            raise UsageError(f"--affinity {args.affinity}: {exc}") from None
    declared = discover_declared(args.suites)
    specs = _counted(declared, args)
    options = InstructionsOptions(
        iterations=args.iterations,
        iterations_for=iterations_from(args.iterations_from) if args.iterations_from else {},
        repeat=args.repeat,
        jobs=args.jobs or len(os.sched_getaffinity(0)),
        timeout=args.timeout,
    )
    first = args.suites[0] if args.suites else DEFAULT_PATH
    with sigterm_unwinds():
        result = measure(
            specs,
            declared.suite_paths,
            options,
            make_progress(quiet=args.quiet),
            output=args.output,
            force=args.force,
            repo_dir=first if first.is_dir() else first.parent,
        )
    for failure in result.failures:
        print(f"FAILED {failure.id} ({failure.kind}): {failure.error}", file=sys.stderr)
    print(result.output)
    return 1 if result.failures else 0


def _counted(declared: Discovered, args: argparse.Namespace) -> list[BenchmarkSpec]:
    """The selected benchmarks that declare the channel; an error naming the fix when a
    filter or ``--only`` leaves none, or names one that does not declare it."""
    if not declared.specs:
        where = " ".join(map(str, args.suites)) or f"{DEFAULT_PATH}/"
        raise SelectionError(f"no benchmarks found in {where}: declare some with @benchmark")
    chosen = declared.select(args.suite, args.target, args.pattern)
    if args.only:
        chosen = _only(declared.specs, chosen, args.only)
    counted = [spec for spec in chosen if CHANNEL in spec.channels]
    if not counted:
        raise SelectionError(
            f"none of the {len(chosen)} selected benchmarks declares the instructions channel; "
            "declare CPU-bound time benchmarks with channels=('time', 'instructions')"
        )
    return counted


def _only(
    every: list[BenchmarkSpec], chosen: list[BenchmarkSpec], only: list[str]
) -> list[BenchmarkSpec]:
    unknown = sorted(set(only) - {spec.id for spec in every})
    if unknown:
        raise SelectionError(
            f"--only {' '.join(unknown)}: no such benchmark; run 'perfkit-bench list' to see the ids"
        )
    chosen = [spec for spec in chosen if spec.id in only]
    without = [spec.id for spec in chosen if CHANNEL not in spec.channels]
    if without:
        raise SelectionError(
            f"--only {' '.join(without)}: not declared for the instructions channel; "
            "add 'instructions' to its @benchmark(channels=...)"
        )
    return chosen
