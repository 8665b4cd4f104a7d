"""``perfkit-report baseline set|list|delete|pin|unpin``: name and pin runs as baselines."""

from __future__ import annotations

import argparse
import sys

from perfkit_report._cli._options import Commands, open_existing, resolve_run
from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import InputError, UnknownRun
from perfkit_report._history import Baseline, History, RunRecord

__all__ = ["add_parser"]

_CHANGES = (
    ("delete", "delete a baseline (its run stays in the history)"),
    ("pin", "pin a baseline: prune keeps its run's raw samples"),
    ("unpin", "unpin a baseline: prune may drop its run's raw samples"),
)


def add_parser(commands: Commands, db: argparse.ArgumentParser) -> None:
    """Add ``baseline`` and its own sub-commands."""
    baseline = commands.add_parser("baseline", help="name and pin runs as baselines")
    baseline_commands = baseline.add_subparsers(title="baseline commands", metavar="COMMAND")
    set_ = baseline_commands.add_parser(
        "set", parents=[db], help="point a baseline at a run and pin it"
    )
    set_.add_argument("name", metavar="NAME")
    set_.add_argument("--run", default="latest", metavar="ID|latest", help="default: latest")
    set_.add_argument(
        "--branch",
        metavar="B",
        help="the branch the baseline tracks (recorded); with --run latest, that branch's "
        "latest run",
    )
    set_.add_argument(
        "--no-pin",
        action="store_true",
        help="do not pin it (pruning may then drop its run's raw samples)",
    )
    set_.add_argument("--note", help="a note stored with the baseline")
    set_.set_defaults(handler=run_set)
    list_ = baseline_commands.add_parser("list", parents=[db], help="list baselines")
    list_.add_argument("--branch", metavar="B", help="only the baselines tracking branch B")
    list_.set_defaults(handler=run_list)
    for name, verb in _CHANGES:
        command = baseline_commands.add_parser(name, parents=[db], help=verb)
        command.add_argument("name", metavar="NAME")
        command.set_defaults(handler=run_change, change=name)
    baseline.set_defaults(handler=lambda _: _usage(baseline))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _line(baseline: Baseline) -> str:
    state = "pinned" if baseline.pinned else "not pinned"
    branch = f", branch {baseline.branch}" if baseline.branch is not None else ""
    return f"baseline {baseline.name} -> run {baseline.run_id} ({state}{branch})"


def run_set(args: argparse.Namespace) -> int:
    """``baseline set``: point NAME at a run (of a branch) and pin it unless --no-pin."""
    with open_existing(args.db) as history:
        run = _run_for(history, args.run, args.branch)
        baseline = history.set_baseline(
            args.name, run.id, note=args.note, branch=args.branch, pinned=not args.no_pin
        )
    print(escape_terminal(_line(baseline)))
    return 0


def _run_for(history: History, spec: str, branch: str | None) -> RunRecord:
    """``--run`` (``latest``: the latest run of ``--branch`` when given), checked against the
    branch."""
    if branch is not None and spec == "latest":
        found = history.latest_run(branch=branch)
        if found is None:
            raise UnknownRun(
                f"{history.path}: no run was measured on branch {branch!r}; record one on that "
                "branch (inv bench) or pass --run ID"
            )
        return found
    run = resolve_run(history, spec)
    if branch is not None and run.branch is not None and run.branch != branch:
        raise InputError(
            f"run {run.id} was measured on branch {run.branch!r}, not {branch!r}; pass --run "
            f"with a run of {branch!r}, or --run latest"
        )
    return run


def run_change(args: argparse.Namespace) -> int:
    """``baseline delete|pin|unpin NAME``."""
    with open_existing(args.db) as history:
        if args.change == "delete":
            baseline = history.delete_baseline(args.name)
            line = (
                f"deleted baseline {baseline.name} (was run {baseline.run_id}); the run stays "
                "in the history"
            )
        else:
            line = _line(history.set_baseline_pinned(args.name, args.change == "pin"))
    print(escape_terminal(line))
    return 0


def run_list(args: argparse.Namespace) -> int:
    """``baseline list``: one line per baseline, with its run."""
    with open_existing(args.db) as history:
        baselines = history.baselines(branch=args.branch)
        runs = {run.id: run for run in history.runs()}
    if not baselines:
        print(escape_terminal(_none_yet(args.branch)))
        return 0
    for baseline in baselines:
        print(escape_terminal("  ".join(_fields(baseline, runs[baseline.run_id]))))
    return 0


def _none_yet(branch: str | None) -> str:
    if branch is not None:
        return (
            f"no baseline tracks branch {branch}; set one with "
            f"`perfkit-report baseline set NAME --branch {branch}`"
        )
    return "no baselines yet; pin one with `perfkit-report baseline set NAME --run ID`"


def _fields(baseline: Baseline, run: RunRecord) -> list[str]:
    fields = [
        baseline.name,
        f"run {baseline.run_id}",
        f"started {run.started or '?'}",
        f"commit {(run.commit_sha or '?')[:12]}",
        *([f"branch {baseline.branch}"] if baseline.branch is not None else []),
        "pinned" if baseline.pinned else "not pinned",
        f"set {baseline.created}",
    ]
    if baseline.note:
        fields.append(f"note {baseline.note}")
    return fields
