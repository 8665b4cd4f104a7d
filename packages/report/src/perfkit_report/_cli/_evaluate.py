"""``perfkit-report evaluate``: the gate's own false-alarm rate and power (``_gate._evaluate``)."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from rich.console import Console

from perfkit_report._cli._options import Commands, alpha_level, optional_targets, write_output
from perfkit_report._escape import escape_terminal
from perfkit_report._gate import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    evaluate,
    evaluation_rows,
    render_evaluation_json,
    render_evaluation_markdown,
    render_evaluation_rich,
    render_evaluation_text,
)
from perfkit_report._history import History

__all__ = ["add_parser"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _percent_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive percentage (e.g. 1)")
    return value


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``evaluate`` to the sub-commands."""
    parser = commands.add_parser(
        "evaluate",
        parents=[db],
        help="measure the gate's false-alarm rate (A/A) and power (injection)",
        description="Cut each perfkit-bench ab out-dir into disjoint checks of "
        "--pairs-per-check pairs and run, on the same samples, the gate, pyperf compare_to's "
        "t-test and a naive 10%% threshold. Prints a table, writes Markdown/JSON on request "
        "and stores the figures in history.db's evaluations table.",
    )
    _add_sessions(parser)
    _add_settings(parser)
    parser.set_defaults(handler=run)


def _add_sessions(parser: argparse.ArgumentParser) -> None:
    """The perfkit-bench ab out-dirs and how they are cut into checks."""
    parser.add_argument(
        "--aa",
        type=Path,
        action="append",
        required=True,
        metavar="DIR",
        help="an A/A out-dir of perfkit-bench ab (same revision both sides); repeatable",
    )
    parser.add_argument(
        "--inject",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="an out-dir whose head was slowed (perfkit_injected_percent); repeatable",
    )
    parser.add_argument(
        "--pairs-per-check",
        type=_positive_int,
        required=True,
        metavar="N",
        help="pairs per check: each session gives floor(pairs / N) disjoint checks",
    )


def _add_settings(parser: argparse.ArgumentParser) -> None:
    """The gate's settings for the evaluation, and where the figures go."""
    parser.add_argument(
        "--targets",
        type=Path,
        metavar="FILE",
        help="targets.toml: thresholds, directions, severity bands (default: 10%%, lower is "
        "better)",
    )
    parser.add_argument(
        "--threshold",
        type=_percent_arg,
        metavar="PERCENT",
        help="the gate's threshold for every benchmark, overriding targets (e.g. 1: a 2%% "
        "slowdown can only be caught under a threshold below 2%%)",
    )
    parser.add_argument(
        "--alpha",
        type=alpha_level,
        default=DEFAULT_ALPHA,
        help=f"the gate's false discovery level (default: {DEFAULT_ALPHA})",
    )
    parser.add_argument(
        "--resamples",
        type=_positive_int,
        default=DEFAULT_RESAMPLES,
        metavar="N",
        help=f"bootstrap resamples per benchmark and check (default: {DEFAULT_RESAMPLES})",
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: 0)")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="write Markdown to FILE")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write JSON to FILE")


def run(args: argparse.Namespace) -> int:
    """Measure, print, write what was asked and store the rows; 0 when all of it was done."""
    targets = optional_targets(args.targets)
    evaluation = evaluate(
        args.aa,
        args.inject,
        pairs_per_check=args.pairs_per_check,
        targets=targets,
        threshold=args.threshold,
        alpha=args.alpha,
        n_resamples=args.resamples,
        seed=args.seed,
    )
    if sys.stdout.isatty():
        render_evaluation_rich(evaluation, Console())
    else:
        sys.stdout.write(render_evaluation_text(evaluation))
    written = []
    if args.out is not None:
        _write(args.out, render_evaluation_markdown(evaluation), "--out")
        written.append(args.out)
    if args.json is not None:
        _write(args.json, render_evaluation_json(evaluation), "--json")
        written.append(args.json)
    with History.open(args.db) as history:
        rows = history.store_evaluation(evaluation.evaluation, evaluation_rows(evaluation))
    for path in written:
        print(escape_terminal(str(path)))
    print(escape_terminal(f"stored evaluation {evaluation.evaluation}: {rows} rows in {args.db}"))
    return 0


def _write(path: Path, text: str, flag: str) -> None:
    write_output(path, text, cannot="cannot write", fix=f"pass a writable {flag} path")
