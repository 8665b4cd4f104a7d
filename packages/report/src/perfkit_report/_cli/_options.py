"""What several commands share: ``--db``, opening the history it names, ``--run``,
``--targets``, ``--alpha``, and writing a file the user named.

Every error here is an ``InputError`` naming the option and the fix; ``main`` turns it into
exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

from perfkit_report._exceptions import InputError, UnknownRun
from perfkit_report._history import History, RunRecord
from perfkit_report._targets import Targets, load_targets

__all__ = [
    "DEFAULT_DB",
    "Commands",
    "alpha_level",
    "db_parent",
    "open_existing",
    "optional_targets",
    "resolve_run",
    "write_output",
]

DEFAULT_DB = "history.db"

# What ArgumentParser.add_subparsers returns: each command module adds its parser to it.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def db_parent() -> argparse.ArgumentParser:
    """The parent parser of every command that reads or writes a history: ``--db PATH``."""
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        type=Path,
        default=Path(DEFAULT_DB),
        metavar="PATH",
        help=f"history database (default: {DEFAULT_DB} in the current directory)",
    )
    return db


def open_existing(path: Path) -> History:
    """Commands that need a history never create one by accident: a missing or empty file is
    an InputError naming ``ingest``."""
    return History.open(path, create=False)


def resolve_run(history: History, spec: str) -> RunRecord:
    """``--run ID|latest`` as a run of the history."""
    if spec == "latest":
        run = history.latest_run()
        if run is None:
            raise UnknownRun(
                f"{history.path}: the history holds no run yet; ingest a result file first "
                "(perfkit-report ingest FILE)"
            )
        return run
    try:
        run_id = int(spec)
    except ValueError:
        raise InputError(f"--run {spec!r}: pass a run id (a number) or latest") from None
    return history.run(run_id)


def optional_targets(path: Path | str | None) -> Targets | None:
    """``--targets FILE``, read and validated, or None when not given."""
    return load_targets(path) if path is not None else None


def alpha_level(text: str) -> float:
    """argparse type of ``--alpha``: a level strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level between 0 and 1 (e.g. 0.05)")
    return value


def write_output(path: Path, text: str, *, cannot: str, fix: str) -> None:
    """Write a file the user named; on failure an InputError ``PATH: CANNOT (reason); FIX``."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: {cannot} ({exc.strerror}); {fix}") from exc
