"""The ``perfkit-report`` command line: one module per command, one ``main``.

::

    _cli/
      __init__.py         main(): the parser of every command, and errors -> exit codes
      _options.py         what several commands share (--db, --run, --targets, --alpha)
      _ingest.py          ingest FILE...
      _prune.py           prune [--days N]
      _baseline.py        baseline set|list|delete|pin|unpin
      _summary.py         summary [--run ID] [--format text|md|json]
      _render.py          render [--out DIR]
      _ingest_profile.py  ingest-profile DIR...
      _compare.py         compare BASE HEAD
      _check.py           check (the regression gate's verdict on one check)
      _evaluate.py        evaluate (the gate's false alarms and power)
      _append_profile_diffs.py  append-profile-diffs (the gate comment's profile section)

Each command module has ``add_parser(commands, db)`` (its sub-parser, with the shared ``--db``
parent where it uses a history) and the handler it registers, which turns the parsed options
into a call of the library and prints the result. ``main()`` is the only place that turns errors
into exit codes:

- 0: done
- 1: the command failed (history unusable: corrupt, newer schema, locked past the timeout), or
  ``compare`` / ``check`` found a regression at or above its ``--fail-on`` severity
- 2: bad usage or bad input (argparse errors, bad result or targets file, unknown run/baseline)
- 130: interrupted (Ctrl-C)

Errors go to stderr as one line naming the file and the fix; results go to stdout.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from perfkit_report._cli import (
    _append_profile_diffs,
    _baseline,
    _check,
    _compare,
    _evaluate,
    _ingest,
    _ingest_profile,
    _prune,
    _render,
    _summary,
)
from perfkit_report._cli._options import db_parent
from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import InputError, PerfkitReportError

__all__ = ["main"]

# In the order ``perfkit-report --help`` lists them.
_COMMANDS = (
    _ingest,
    _prune,
    _baseline,
    _summary,
    _render,
    _ingest_profile,
    _compare,
    _evaluate,
    _check,
    _append_profile_diffs,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("perfkit-report: interrupted", file=sys.stderr)
        return 130
    except InputError as exc:
        print(f"perfkit-report: error: {escape_terminal(str(exc))}", file=sys.stderr)
        return 2
    except PerfkitReportError as exc:
        print(f"perfkit-report: error: {escape_terminal(str(exc))}", file=sys.stderr)
        return 1
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfkit-report",
        description="perfkit's history store: ingest pyperf results, prune, baselines, "
        "summaries, reports.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    db = db_parent()
    for command in _COMMANDS:
        command.add_parser(commands, db)
    return parser
