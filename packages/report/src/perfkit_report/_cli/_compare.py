"""``perfkit-report compare BASE HEAD``: the regression detector on two result files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from perfkit_report._cli._options import Commands, alpha_level, optional_targets, write_output
from perfkit_report._escape import escape_terminal
from perfkit_report._gate import (
    DEFAULT_ALPHA,
    Comparison,
    compare_files,
    render_comparison_json,
    render_comparison_markdown,
    render_comparison_rich,
    render_comparison_text,
)

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``compare`` to the sub-commands (it reads no history: ``db`` is not used)."""
    compare = commands.add_parser(
        "compare",
        help="compare two pyperf result files: regressed / improved / same / inconclusive",
        description="Run the regression detector on two existing pyperf result files (.json or "
        ".json.gz): per-process medians, ratio of medians with a bootstrap CI, Mann-Whitney U, "
        "Benjamini-Hochberg across benchmarks. Exit 1 on a regression at or above --fail-on, "
        "0 otherwise, 2 on bad input.",
    )
    compare.add_argument("base", type=Path, metavar="BASE", help="the result file to compare to")
    compare.add_argument("head", type=Path, metavar="HEAD", help="the new result file")
    compare.add_argument(
        "--targets",
        type=Path,
        metavar="FILE",
        help="targets.toml: thresholds, directions, severity bands (default: 10%%, lower is "
        "better)",
    )
    compare.add_argument(
        "--format",
        choices=("text", "json", "md"),
        default="text",
        help="text (a rich table in a terminal, plain otherwise), json or md",
    )
    compare.add_argument(
        "--alpha",
        type=alpha_level,
        default=DEFAULT_ALPHA,
        help=f"false discovery level; the CI is at 1 - alpha (default: {DEFAULT_ALPHA})",
    )
    compare.add_argument(
        "--fail-on",
        choices=("minor", "major", "critical"),
        default="minor",
        help="exit 1 on a regression of this severity or worse (default: minor)",
    )
    compare.add_argument(
        "--fail-on-inconclusive",
        action="store_true",
        help="exit 1 on an inconclusive benchmark too",
    )
    compare.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write the report to FILE (replaced if it exists) and print its path",
    )
    compare.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Compare, print or write the report; 1 when the comparison fails the gate, else 0."""
    comparison = compare_files(
        args.base,
        args.head,
        optional_targets(args.targets),
        alpha=args.alpha,
        fail_on=args.fail_on,
        fail_on_inconclusive=args.fail_on_inconclusive,
    )
    report = _report(comparison, args.format, to_terminal=args.output is None)
    if args.output is not None:
        write_output(
            args.output,
            report,
            cannot="cannot write the report",
            fix="pass a writable --output path",
        )
        print(escape_terminal(str(args.output)))
    else:
        sys.stdout.write(report)
    return 1 if comparison.failures else 0


def _report(comparison: Comparison, form: str, *, to_terminal: bool) -> str:
    """The report as text; a terminal gets the rich table printed here (and "")."""
    if form == "md":
        return render_comparison_markdown(comparison)
    if form == "json":
        return render_comparison_json(comparison)
    if to_terminal and sys.stdout.isatty():
        render_comparison_rich(comparison, Console())
        return ""
    return render_comparison_text(comparison)
