"""``perfkit-bench run``: run the benchmarks and write one pyperf JSON result file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from perfkit_bench._discovery import DEFAULT_PATH
from perfkit_bench._exceptions import SelectionError
from perfkit_bench._plumbing import (
    DEFAULT_TIMEOUT,
    add_filters,
    add_inherit_environ,
    add_paths,
    add_quiet,
    environ_names,
    non_negative_int,
    positive_float,
    positive_int,
    sigterm_unwinds,
)
from perfkit_bench._progress import make_progress
from perfkit_bench._run._orchestrator import RunOptions, run
from perfkit_bench._selection import discover_declared

__all__ = ["add_run_command", "report_failure"]


def add_run_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perfkit-bench run`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "run", help="run the benchmarks and write one pyperf JSON result file"
    )
    add_paths(parser)
    add_filters(parser)
    _add_mode(parser)
    _add_knobs(parser)
    _add_workers(parser)
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        help="result file (default results/<UTC yyyymmddTHHMMSSZ>-<short commit>.json)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing --output")
    add_quiet(parser)
    parser.set_defaults(handler=_command)


def _add_mode(parser: argparse.ArgumentParser) -> None:
    mode = parser.add_mutually_exclusive_group()
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
    parser.set_defaults(mode="default")


def _add_knobs(parser: argparse.ArgumentParser) -> None:
    knobs = parser.add_argument_group(
        "knobs", "override the mode's numbers (the run is then recorded as mode 'custom')"
    )
    knobs.add_argument("--processes", "-p", type=positive_int, help="worker processes")
    knobs.add_argument("--values", "-n", type=positive_int, help="values per process")
    knobs.add_argument("--warmups", "-w", type=non_negative_int, help="warmup values per process")
    knobs.add_argument(
        "--min-time", type=positive_float, help="seconds per value for loop calibration (time)"
    )
    knobs.add_argument("--loops", type=positive_int, help="fixed loops per value (time)")


def _add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--affinity", metavar="CPUS", help="pin workers to CPUs, e.g. 0 or 0-1")
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per benchmark unless it declares its own (default {DEFAULT_TIMEOUT:g})",
    )
    add_inherit_environ(parser, "pyperf strips the rest")
    parser.add_argument(
        "--copy-env", action="store_true", help="pass the whole environment to workers"
    )


def _command(args: argparse.Namespace) -> int:
    declared = discover_declared(args.paths)
    specs = declared.select(args.suite, args.target, args.pattern)
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
        inherit_environ=environ_names(args.inherit_environ),
        copy_env=args.copy_env,
    )
    first = Path(args.paths[0]) if args.paths else DEFAULT_PATH
    with sigterm_unwinds():
        result = run(
            specs,
            declared.suite_paths,
            options,
            make_progress(quiet=args.quiet),
            output=args.output,
            force=args.force,
            repo_dir=first if first.is_dir() else first.parent,
        )
    for failure in result.failures:
        report_failure(failure.as_json())
    print(result.output)
    return 1 if result.failures else 0


def report_failure(failure: dict[str, Any]) -> None:
    """One line on stderr per failed benchmark of a run."""
    print(f"FAILED {failure['id']} ({failure['kind']}): {failure['error']}", file=sys.stderr)
