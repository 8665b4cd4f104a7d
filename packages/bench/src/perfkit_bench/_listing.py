"""``perfkit-bench list``: the selected benchmarks as a table, or every field as JSON (what
``ab``, the regression driver and perfkit-profile read from a side's interpreter)."""

from __future__ import annotations

import argparse
import json

from perfkit_bench._plumbing import add_filters, add_paths
from perfkit_bench._selection import discover_declared

__all__ = ["add_list_command"]


def add_list_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perfkit-bench list`` to the CLI's subcommands."""
    parser = commands.add_parser("list", help="list the benchmarks (id, target, kind, unit)")
    add_paths(parser)
    add_filters(parser)
    parser.add_argument("--json", action="store_true", help="print every field as JSON")
    parser.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    specs = discover_declared(args.paths).select(args.suite, args.target, args.pattern)
    if args.json:
        print(json.dumps([spec.as_json() for spec in specs], indent=2))
        return 0
    rows = [("ID", "TARGET", "KIND", "UNIT")]
    rows += [(spec.id, spec.target, spec.kind, spec.unit) for spec in specs]
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[3]]))
    return 0
