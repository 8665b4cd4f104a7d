"""``perfkit-report check``: the regression gate's verdict on one check (``_gate._check``)."""

from __future__ import annotations

import argparse

from perfkit_report._cli._options import Commands, alpha_level
from perfkit_report._escape import escape_terminal
from perfkit_report._gate import DEFAULT_ALPHA, CheckOptions, headline, run_check

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``check`` to the sub-commands."""
    check = commands.add_parser(
        "check",
        parents=[db],
        help="the regression gate's verdict on one check: verdict.json, comment.md, history",
        description="Run the regression detector once over every benchmark of every channel "
        "(time from --base/--head, paired when they are the two files of one perfkit-bench ab "
        "session; instructions from the instruction files; or the head against a stored "
        "baseline), write DIR/verdict.json and DIR/comment.md, print their paths, and record "
        "the check in history.db. Exit 1 on a confirmed regression at or above --fail-on, 0 "
        "otherwise, 2 on bad input.",
    )
    _add_inputs(check)
    _add_outputs(check)
    check.set_defaults(handler=run)


def _add_inputs(check: argparse.ArgumentParser) -> None:
    """What is compared: the two sides (files or a stored baseline) and the targets."""
    base = check.add_mutually_exclusive_group(required=True)
    base.add_argument("--base", metavar="FILE", help="the base side's result file (base.json)")
    base.add_argument(
        "--against-baseline",
        metavar="NAME",
        help="compare the head with this baseline stored in --db instead (unpaired)",
    )
    check.add_argument(
        "--head", metavar="FILE", required=True, help="the head side's result file (head.json)"
    )
    check.add_argument(
        "--base-instructions", metavar="FILE", help="the base side's instruction counts"
    )
    check.add_argument(
        "--head-instructions", metavar="FILE", help="the head side's instruction counts"
    )
    check.add_argument(
        "--branch",
        metavar="B",
        help="with --against-baseline: the branch the baseline must track",
    )
    check.add_argument(
        "--targets",
        metavar="FILE",
        help="targets.toml: thresholds (instructions_threshold for the instructions channel), "
        "directions, severity bands (default: 10%%, instructions 1%%, lower is better)",
    )


def _add_outputs(check: argparse.ArgumentParser) -> None:
    """Where the verdict goes, how it is labelled, and when it fails."""
    check.add_argument(
        "--out-dir",
        required=True,
        metavar="DIR",
        help="folder for verdict.json and comment.md (created if missing; files replaced)",
    )
    check.add_argument("--base-label", metavar="TEXT", help="the base's name in the comment")
    check.add_argument("--head-label", metavar="TEXT", help="the head's name in the comment")
    check.add_argument(
        "--fail-on",
        choices=("minor", "major", "critical"),
        default="minor",
        help="exit 1 on a regression of this severity or worse (default: minor)",
    )
    check.add_argument(
        "--fail-on-inconclusive", action="store_true", help="exit 1 on an inconclusive one too"
    )
    check.add_argument(
        "--alpha",
        type=alpha_level,
        default=DEFAULT_ALPHA,
        help=f"false discovery level; the CI is at 1 - alpha (default: {DEFAULT_ALPHA})",
    )
    check.add_argument(
        "--needs-more",
        metavar="FILE",
        help="write the inconclusive benchmarks more pairs could resolve to FILE (JSON)",
    )
    check.add_argument(
        "--no-store", action="store_true", help="do not record the check in the history"
    )
    check.add_argument(
        "--reproduce",
        metavar="TEXT",
        help="the command that reproduces the check locally, shown in the comment",
    )


def run(args: argparse.Namespace) -> int:
    """Run the check; print its verdict line and the files written; return its exit code."""
    outcome = run_check(
        CheckOptions(
            head=args.head,
            out_dir=args.out_dir,
            base=args.base,
            against_baseline=args.against_baseline,
            branch=args.branch,
            base_instructions=args.base_instructions,
            head_instructions=args.head_instructions,
            targets=args.targets,
            base_label=args.base_label,
            head_label=args.head_label,
            fail_on=args.fail_on,
            fail_on_inconclusive=args.fail_on_inconclusive,
            alpha=args.alpha,
            needs_more=args.needs_more,
            store=not args.no_store,
            db=args.db,
            reproduce=args.reproduce,
        )
    )
    print(escape_terminal(headline(outcome.check, markdown=False)))
    for path in (outcome.verdict, outcome.comment, outcome.needs_more):
        if path is not None:
            print(escape_terminal(str(path)))
    return outcome.exit_code
