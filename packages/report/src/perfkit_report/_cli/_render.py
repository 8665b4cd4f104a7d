"""``perfkit-report render``: the HTML dashboard, report.md and analysis.md."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfkit_report._cli._options import Commands, open_existing, optional_targets
from perfkit_report._escape import escape_terminal
from perfkit_report._render import DEFAULT_ENGINE, ENGINES, render_report

__all__ = ["DEFAULT_OUT", "add_parser"]

DEFAULT_OUT = "reports"


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``render`` to the sub-commands."""
    render = commands.add_parser(
        "render",
        parents=[db],
        help="write the HTML dashboard, report.md and analysis.md",
        description="Write DIR/index.html (a self-contained offline dashboard), DIR/report.md "
        "(the same content as Markdown) and DIR/analysis.md, then print their paths.",
    )
    render.add_argument(
        "--out",
        type=Path,
        default=Path(DEFAULT_OUT),
        metavar="DIR",
        help=f"report folder, created if missing (default: {DEFAULT_OUT})",
    )
    render.add_argument("--targets", type=Path, metavar="FILE", help="a targets.toml file")
    render.add_argument(
        "--change-points",
        choices=ENGINES,
        default=DEFAULT_ENGINE,
        help=f"change-point engine (default {DEFAULT_ENGINE}; otava needs perfkit-report[otava])",
    )
    render.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the report folder and print the three paths."""
    targets = optional_targets(args.targets)
    with open_existing(args.db) as history:
        report = render_report(history, args.out, targets, engine=args.change_points)
    for path in (report.html, report.markdown, report.analysis):
        print(escape_terminal(str(path)))
    return 0
