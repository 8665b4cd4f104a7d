"""``perfkit-report summary``: one run as a table (text, rich, Markdown or JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from perfkit_report._cli._options import Commands, open_existing, optional_targets, resolve_run
from perfkit_report._render import (
    render_json,
    render_markdown,
    render_rich,
    render_text,
    summarize_run,
)

__all__ = ["add_parser"]


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``summary`` to the sub-commands."""
    summary = commands.add_parser(
        "summary", parents=[db], help="print one run's results as a table"
    )
    summary.add_argument("--run", default="latest", metavar="ID|latest", help="default: latest")
    summary.add_argument("--targets", type=Path, metavar="PATH", help="a targets.toml file")
    summary.add_argument(
        "--format",
        choices=("text", "md", "json"),
        default="text",
        help="text (a rich table in a terminal, plain otherwise), md or json",
    )
    summary.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the run in the chosen format."""
    targets = optional_targets(args.targets)
    with open_existing(args.db) as history:
        summary = summarize_run(history, resolve_run(history, args.run), targets)
    if args.format == "md":
        sys.stdout.write(render_markdown(summary))
    elif args.format == "json":
        sys.stdout.write(render_json(summary))
    elif sys.stdout.isatty():
        render_rich(summary, Console())
    else:
        sys.stdout.write(render_text(summary))
    return 0
