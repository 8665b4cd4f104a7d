"""``perfkit-report doctor``: look at a history read-only and say whether it is usable."""

from __future__ import annotations

import argparse

from perfkit_report._cli._options import Commands
from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import StoreCorrupt
from perfkit_report._history import diagnose

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``doctor`` to the sub-commands."""
    doctor = commands.add_parser(
        "doctor",
        parents=[db],
        help="check a history file read-only (SQLite header, schema, integrity_check)",
        description="Open the history read-only (nothing is ever written), print what was "
        "checked, and exit 0 when it is usable; 1 with the problem and its fix when it is not.",
    )
    doctor.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the findings; the problem (if any) is the error line."""
    diagnosis = diagnose(args.db)
    for line in diagnosis.findings:
        print(escape_terminal(line))
    if diagnosis.problem is not None:
        raise StoreCorrupt(diagnosis.problem)
    print("healthy: the history can be read and written")
    return 0
