"""``perfkit-bench ab``: the command line of the A/B runner."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from perfkit_bench._ab._model import (
    DEFAULT_MIN_TIME,
    DEFAULT_PAIR_SECONDS,
    DEFAULT_SLICE_TIME,
    DEFAULT_SLICE_WARMUPS,
    DEFAULT_SLICES,
    DEFAULT_VALUES,
    DEFAULT_WARMUPS,
    MODES,
    SIDES,
    ABOptions,
    ABResult,
    Side,
)
from perfkit_bench._ab._session import run_ab
from perfkit_bench._plumbing import (
    DEFAULT_TIMEOUT,
    add_filters,
    add_inherit_environ,
    add_quiet,
    environ_names,
    non_negative_int,
    positive_finite_float,
    positive_int,
    sigterm_unwinds,
)
from perfkit_bench._progress import make_progress

__all__ = ["add_ab_command"]


def add_ab_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perfkit-bench ab`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "ab",
        help="paired, interleaved A/B runs of two revisions (the regression gate's runner)",
        description="Measure each benchmark on two sides (an interpreter and a suite folder "
        "each): time benchmarks in single slices alternated between one long-lived worker per "
        "side, both pinned to one CPU, over several fresh process pairs (--mode slices, the "
        "default); the others, and all with --mode processes, one worker process per side and "
        "pair. Write base.json, head.json and ab.json into --out-dir.",
    )
    _add_sides(parser)
    parser.add_argument(
        "--pairs",
        type=positive_int,
        required=True,
        metavar="N",
        help="A/B pairs per benchmark (process pairs: fresh workers each)",
    )
    parser.add_argument("--out-dir", type=Path, required=True, metavar="DIR", help="output folder")
    _add_selection(parser)
    _add_slice_knobs(parser)
    _add_worker_knobs(parser)
    _add_session_knobs(parser)
    add_quiet(parser)
    parser.set_defaults(handler=_command)


def _add_sides(parser: argparse.ArgumentParser) -> None:
    for side in SIDES:
        parser.add_argument(
            f"--{side}-python",
            type=Path,
            required=True,
            metavar="PATH",
            help=f"python of the {side} environment (perfkit-bench + the {side} revision)",
        )
        parser.add_argument(
            f"--{side}-suites",
            type=Path,
            required=True,
            metavar="DIR",
            help=f"the {side} revision's suite folder (benchmarks/)",
        )


def _add_selection(parser: argparse.ArgumentParser) -> None:
    add_filters(parser)
    parser.add_argument(
        "--exclude-references",
        action="store_true",
        help="skip <suite>.reference.* benchmarks (bare baselines and peer libraries)",
    )
    parser.add_argument(
        "--only",
        action="extend",
        nargs="+",
        default=[],
        metavar="ID",
        help="only these ids (repeatable; a latency metric name selects its benchmark)",
    )


def _add_slice_knobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="slices",
        help="slices: time benchmarks in interleaved slices of long-lived workers (default); "
        "processes: every benchmark in fresh worker processes",
    )
    parser.add_argument(
        "--process-pairs",
        type=positive_int,
        metavar="N",
        help="at most N new pairs for the benchmarks measured in process pairs (sampled kinds "
        "and fresh_process ones; default: --pairs)",
    )
    parser.add_argument(
        "--slices",
        type=positive_int,
        default=DEFAULT_SLICES,
        help=f"slices per side and pair (default {DEFAULT_SLICES})",
    )
    parser.add_argument(
        "--slice-warmups",
        type=non_negative_int,
        default=DEFAULT_SLICE_WARMUPS,
        help=f"warm-up slices per side and pair (default {DEFAULT_SLICE_WARMUPS})",
    )
    parser.add_argument(
        "--slice-time",
        type=positive_finite_float,
        default=DEFAULT_SLICE_TIME,
        metavar="SECONDS",
        help=f"loop calibration target of a slice (default {DEFAULT_SLICE_TIME:g})",
    )
    parser.add_argument(
        "--pair-seconds",
        type=positive_finite_float,
        default=DEFAULT_PAIR_SECONDS,
        metavar="SECONDS",
        help="fewer slices for a benchmark whose slices would take longer than this per side "
        f"and pair (default {DEFAULT_PAIR_SECONDS:g})",
    )


def _add_worker_knobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--values",
        "-n",
        type=positive_int,
        default=DEFAULT_VALUES,
        help=f"values per process, process pairs (default {DEFAULT_VALUES})",
    )
    parser.add_argument(
        "--warmups",
        "-w",
        type=non_negative_int,
        default=DEFAULT_WARMUPS,
        help=f"warm-up values per process, process pairs (default {DEFAULT_WARMUPS})",
    )
    parser.add_argument(
        "--min-time",
        type=positive_finite_float,
        default=DEFAULT_MIN_TIME,
        metavar="SECONDS",
        help=f"loop calibration target per value, time benchmarks in process pairs "
        f"(default {DEFAULT_MIN_TIME:g})",
    )
    parser.add_argument("--affinity", metavar="CPUS", help="pin workers to CPUs, e.g. 0 or 0-1")
    parser.add_argument(
        "--timeout",
        type=positive_finite_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per worker process unless the benchmark declares its own "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    add_inherit_environ(parser, "the rest is stripped")


def _add_session_knobs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=int, help="seed of the pair orders (default: random; always recorded)"
    )
    parser.add_argument(
        "--budget",
        type=positive_finite_float,
        metavar="SECONDS",
        help="start no pair after this many seconds; complete pairs are kept",
    )
    parser.add_argument(
        "--inject-head",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="evaluation: slow the head's time workloads by PERCENT %% (busy-wait in each call)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add pairs to the A/B run in --out-dir, continuing its pair numbers",
    )


def _command(args: argparse.Namespace) -> int:
    options = ABOptions(
        pairs=args.pairs,
        values=args.values,
        warmups=args.warmups,
        min_time=args.min_time,
        affinity=args.affinity,
        seed=args.seed,
        budget=args.budget,
        inject_head=args.inject_head,
        timeout=args.timeout,
        inherit_environ=environ_names(args.inherit_environ),
        suites=tuple(args.suite),
        targets=tuple(args.target),
        pattern=args.pattern,
        exclude_references=args.exclude_references,
        only=tuple(args.only),
        append=args.append,
        mode=args.mode,
        process_pairs=args.process_pairs,
        slices=args.slices,
        slice_warmups=args.slice_warmups,
        slice_time=args.slice_time,
        pair_seconds=args.pair_seconds,
    )
    # abspath, not resolve: a virtual environment's python is a symlink, and following it would
    # leave the environment.
    base = Side("base", Path(os.path.abspath(args.base_python)), args.base_suites.resolve())
    head = Side("head", Path(os.path.abspath(args.head_python)), args.head_suites.resolve())
    with sigterm_unwinds():
        result = run_ab(base, head, options, args.out_dir, make_progress(quiet=args.quiet))
    _report(result, args.budget)
    print(result.out_dir)
    return 1 if result.failures else 0


def _report(result: ABResult, budget: float | None) -> None:
    """The session's failures and a budget that ran out, on stderr."""
    for failure in result.failures:
        where = f"pair {failure.pair}"
        if failure.stage == "calibration":
            where = f"loop calibration before {where}"
        print(
            f"FAILED {failure.id} ({failure.kind}) on the {failure.side} side, {where}: "
            f"{failure.error}; stopped on both sides",
            file=sys.stderr,
        )
    if result.budget_reached:
        short = result.short
        print(
            f"perfkit-bench ab: the budget of {budget:g} s ran out: no pair was started after "
            f"it and only complete pairs were kept; {short} of {len(result.added)} benchmarks got "
            f"fewer new pairs than asked",
            file=sys.stderr,
        )
