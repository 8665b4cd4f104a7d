"""``perfkit-report ingest-profile DIR...``: store profile captures."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfkit_report._cli._options import Commands
from perfkit_report._escape import escape_terminal
from perfkit_report._history import History

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``ingest-profile`` to the sub-commands."""
    profile = commands.add_parser(
        "ingest-profile",
        parents=[db],
        help="store profile captures (folders holding perfkit-profile's summary.json)",
        description="Validate every folder's summary.json first, then store them all in one "
        "transaction. A folder already stored with the same summary is left unchanged.",
    )
    profile.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    profile.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Store the captures; one line per folder."""
    with History.open(args.db) as history:
        results = history.ingest_profiles(args.folders)
    for result in results:
        run_text = f"run {result.run_id}" if result.run_id is not None else "no run at its commit"
        print(
            escape_terminal(
                f"{result.action}: profile {result.profile_id} ({result.target}, {run_text}) "
                f"from {result.folder}"
            )
        )
    return 0
