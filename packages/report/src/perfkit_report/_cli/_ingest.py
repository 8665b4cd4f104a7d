"""``perfkit-report ingest PATH...``: store result files (pyperf, pytest-benchmark) and asv
results directories as runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfkit_report._cli._options import Commands
from perfkit_report._escape import escape_terminal
from perfkit_report._history import History, read_results

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``ingest`` to the sub-commands."""
    ingest = commands.add_parser(
        "ingest",
        parents=[db],
        help="store result files (pyperf, pytest-benchmark JSON) and asv results as runs",
        description="Validate every path first (nothing is written if one is bad), then store "
        "each run as its own run in its own transaction: a pyperf file (.json, .json.gz), a "
        "pytest-benchmark JSON file, an asv results directory (every machine and commit in it) "
        "or one asv run file. A run already stored is skipped.",
    )
    ingest.add_argument("files", nargs="+", type=Path, metavar="PATH")
    ingest.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate every file, then store each; print one line per file."""
    # Read and validate every file before the database is even opened: a bad file leaves the
    # history exactly as it was (not even created).
    parsed = [run for path in args.files for run in read_results(path)]
    with History.open(args.db) as history:
        for run_file in parsed:
            result = history.store(run_file)
            if result.skipped:
                line = f"already ingested: {result.source} is run {result.run_id}; nothing changed"
            else:
                line = (
                    f"ingested {result.source}: run {result.run_id}, "
                    f"{len(result.benchmarks)} benchmarks, status {result.status}"
                )
            print(escape_terminal(line))
    return 0
