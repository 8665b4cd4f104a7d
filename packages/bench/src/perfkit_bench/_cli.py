"""The ``perfkit-bench`` command: one sub-command per module (``list`` in ``_listing``, ``run``,
``ab``, ``instructions`` and ``regression`` in their own sub-packages).

Only :func:`main` turns errors into exit codes: 0 ok, 1 a benchmark failed (or all did),
2 bad usage or bad input, 130 interrupted. Errors go to stderr as one line naming the fix;
stdout carries only results (the table of ``list``, the result path of ``run``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from perfkit_bench._ab import add_ab_command
from perfkit_bench._exceptions import PerfkitBenchError, RunFailed, WorkerError
from perfkit_bench._instructions import add_instructions_command
from perfkit_bench._listing import add_list_command
from perfkit_bench._regression import add_regression_command
from perfkit_bench._run import add_run_command, report_failure

__all__ = ["build_parser", "main"]

PROG = "perfkit-bench"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``perfkit-bench`` and ``python -m perfkit_bench``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except RunFailed as exc:
        for failure in exc.failures:
            report_failure(failure)
        _error(str(exc))
        return 1
    except WorkerError as exc:
        _error(str(exc))
        return 1
    except PerfkitBenchError as exc:
        _error(str(exc))
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Declare benchmark suites and run them in pyperf worker processes."
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in (
        add_list_command,
        add_run_command,
        add_ab_command,
        add_instructions_command,
        add_regression_command,
    ):
        add(commands)
    return parser


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
