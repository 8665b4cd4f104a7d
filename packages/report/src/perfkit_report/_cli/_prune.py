"""``perfkit-report prune``: drop raw samples older than the retention window."""

from __future__ import annotations

import argparse

from perfkit_report._cli._options import Commands, open_existing
from perfkit_report._exceptions import InputError
from perfkit_report._history import parse_timestamp

__all__ = ["DEFAULT_RETENTION_DAYS", "add_parser"]

# DESIGN.md: raw samples are kept 90 days; pinned baselines forever.
DEFAULT_RETENTION_DAYS = 90.0


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``prune`` to the sub-commands."""
    prune = commands.add_parser(
        "prune",
        parents=[db],
        help="drop raw samples older than the retention window (summaries stay)",
        description="For runs older than --days: write per-day summaries, then drop raw "
        "samples and per-process medians. Runs pinned as baselines are never touched.",
    )
    prune.add_argument(
        "--days",
        type=float,
        default=DEFAULT_RETENTION_DAYS,
        help=f"retention window in days (default: {DEFAULT_RETENTION_DAYS:g})",
    )
    prune.add_argument("--now", metavar="ISO", help="the current time (ISO 8601; default: now)")
    prune.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Prune in one transaction and say what was dropped and kept."""
    try:
        now = parse_timestamp(args.now) if args.now is not None else None
    except ValueError as exc:
        raise InputError(f"--now: {exc}; write e.g. 2026-01-31T12:00:00+00:00") from None
    with open_existing(args.db) as history:
        result = history.prune(args.days, now)
    print(
        f"pruned raw samples of {result.runs_pruned} run(s) ({result.results_pruned} results) "
        f"that started before {result.cutoff}; kept {result.runs_pinned} pinned run(s) intact; "
        f"wrote {result.summaries_written} daily summaries"
    )
    return 0
