"""``perfkit-report ingest PATH...``: store result files (pyperf, pytest-benchmark) and asv
results directories as runs."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from perfkit_report._cli._options import Commands
from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import StoreError
from perfkit_report._history import History, IngestResult, ParsedRun, read_results

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``ingest`` to the sub-commands."""
    ingest = commands.add_parser(
        "ingest",
        parents=[db],
        help="store result files (pyperf, pytest-benchmark JSON) and asv results as runs",
        description="Validate every path first (nothing is written, not even a new history, if "
        "one is bad: exit 2), then store each run as its own run in its own transaction, in the "
        "order given: a pyperf file (.json, .json.gz), a pytest-benchmark JSON file, an asv "
        "results directory (every machine and commit in it) or one asv run file. A run already "
        "stored is skipped. If the history fails while storing (exit 1), the runs printed "
        "before the error are stored and the error names the rest.",
    )
    ingest.add_argument("files", nargs="+", type=Path, metavar="PATH")
    ingest.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate every file, then store each; print one line per file as it is stored."""
    # Read and validate every file before the database is even opened: a bad file leaves the
    # history exactly as it was (not even created).
    parsed = [run for path in args.files for run in read_results(path)]
    with History.open(args.db) as history:
        for index, run_file in enumerate(parsed):
            try:
                result = history.store(run_file)
            except StoreError as exc:
                raise _not_stored(exc, parsed[index:]) from exc
            print(escape_terminal(_stored_line(result)), flush=True)
    return 0


def _stored_line(result: IngestResult) -> str:
    if result.skipped:
        return f"already ingested: {result.source} is run {result.run_id}; nothing changed"
    return (
        f"ingested {result.source}: run {result.run_id}, "
        f"{len(result.benchmarks)} benchmarks, status {result.status}"
    )


def _not_stored(exc: StoreError, rest: Sequence[ParsedRun]) -> StoreError:
    """The store's error, naming the files not stored (those printed before it are)."""
    names = ", ".join(run.source for run in rest)
    return type(exc)(f"{exc} [not stored: {names}; the files listed above are stored]")
