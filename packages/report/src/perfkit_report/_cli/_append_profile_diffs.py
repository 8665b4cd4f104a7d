"""``perfkit-report append-profile-diffs``: the profile section of the regression gate's comment."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfkit_report._cli._options import Commands
from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import InputError
from perfkit_report._gate import append_profile_diffs

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``append-profile-diffs`` to the sub-commands (it reads no history)."""
    command = commands.add_parser(
        "append-profile-diffs",
        help="append perfkit-profile's diffs (--format json) of regressed benchmarks to comment.md",
        description="Read each DIFF.json (perfkit-profile diff --format json) first, then append "
        "one escaped section to the comment: per benchmark the differential flame graph's place "
        "in the artifact and the functions that grew most, within the comment's size limit.",
    )
    command.add_argument("diffs", nargs="*", type=Path, metavar="DIFF.json")
    command.add_argument(
        "--comment", type=Path, required=True, metavar="PATH", help="comment.md of the check"
    )
    command.add_argument(
        "--missing",
        action="append",
        default=[],
        metavar="BENCHMARK",
        help="a regressed benchmark that could not be profiled or diffed (repeatable)",
    )
    command.add_argument(
        "--artifact-url",
        metavar="URL",
        help="the page of the CI run's artifacts, linked from the comment",
    )
    command.add_argument(
        "--artifact-root",
        type=Path,
        metavar="DIR",
        help="the folder uploaded as the artifact: pages are named relative to it "
        "(default: the comment's folder)",
    )
    command.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Append the section; one line on stdout says how much."""
    if not args.diffs and not args.missing:
        raise InputError("nothing to append: pass DIFF.json files or --missing BENCHMARK")
    appended = append_profile_diffs(
        args.comment,
        args.diffs,
        args.missing,
        artifact_url=args.artifact_url,
        artifact_root=args.artifact_root,
    )
    print(
        escape_terminal(
            f"appended {appended:,} characters ({len(args.diffs)} diff(s), "
            f"{len(args.missing)} missing) to {args.comment}"
        )
    )
    return 0
