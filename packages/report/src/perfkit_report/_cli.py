"""The ``perfkit-report`` command line: ingest, prune, baseline set/list/delete/pin/unpin,
summary, render, ingest-profile, compare, evaluate, check.

``main()`` is the only place that turns errors into exit codes:

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
from pathlib import Path

from rich.console import Console

from perfkit_report._escape import escape_terminal
from perfkit_report._exceptions import InputError, PerfkitReportError, UnknownRun
from perfkit_report._gate import add_check_command, add_compare_command, add_evaluate_command
from perfkit_report._history import Baseline, History, RunRecord, parse_timestamp, read_result_file
from perfkit_report._render import (
    render_json,
    render_markdown,
    render_report,
    render_rich,
    render_text,
    summarize_run,
)
from perfkit_report._targets import load_targets

__all__ = ["main"]

DEFAULT_DB = "history.db"
DEFAULT_OUT = "reports"
# DESIGN.md: raw samples are kept 90 days; pinned baselines forever.
DEFAULT_RETENTION_DAYS = 90.0


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
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        type=Path,
        default=Path(DEFAULT_DB),
        metavar="PATH",
        help=f"history database (default: {DEFAULT_DB} in the current directory)",
    )
    parser = argparse.ArgumentParser(
        prog="perfkit-report",
        description="perfkit's history store: ingest pyperf results, prune, baselines, "
        "summaries, reports.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        parents=[db],
        help="store pyperf result files (.json, .json.gz) as runs",
        description="Validate every file first (nothing is written if one is bad), then store "
        "each as its own run in its own transaction. A file already stored is skipped.",
    )
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ingest.set_defaults(handler=_cmd_ingest)

    prune = commands.add_parser(
        "prune",
        parents=[db],
        help="drop raw samples older than the retention window (summaries stay)",
        description="For runs older than --days: write per-day summaries, then drop raw "
        "samples and per-process medians. Runs pinned as baselines are never touched.",
    )
    prune.add_argument(
        "--days",
        type=float,
        default=DEFAULT_RETENTION_DAYS,
        help=f"retention window in days (default: {DEFAULT_RETENTION_DAYS:g})",
    )
    prune.add_argument("--now", metavar="ISO", help="the current time (ISO 8601; default: now)")
    prune.set_defaults(handler=_cmd_prune)

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
    set_.set_defaults(handler=_cmd_baseline_set)
    list_ = baseline_commands.add_parser("list", parents=[db], help="list baselines")
    list_.add_argument("--branch", metavar="B", help="only the baselines tracking branch B")
    list_.set_defaults(handler=_cmd_baseline_list)
    for name, verb in (
        ("delete", "delete a baseline (its run stays in the history)"),
        ("pin", "pin a baseline: prune keeps its run's raw samples"),
        ("unpin", "unpin a baseline: prune may drop its run's raw samples"),
    ):
        command = baseline_commands.add_parser(name, parents=[db], help=verb)
        command.add_argument("name", metavar="NAME")
        command.set_defaults(handler=_cmd_baseline_change, change=name)
    baseline.set_defaults(handler=lambda _: _usage(baseline))

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
    summary.set_defaults(handler=_cmd_summary)

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
    render.set_defaults(handler=_cmd_render)

    profile = commands.add_parser(
        "ingest-profile",
        parents=[db],
        help="store profile captures (folders holding perfkit-profile's summary.json)",
        description="Validate every folder's summary.json first, then store them all in one "
        "transaction. A folder already stored with the same summary is left unchanged.",
    )
    profile.add_argument("folders", nargs="+", type=Path, metavar="DIR")
    profile.set_defaults(handler=_cmd_ingest_profile)

    add_compare_command(commands)  # the regression detector on two result files (_gate._compare)
    add_evaluate_command(commands, [db])  # the gate's false alarms and power (_gate._evaluate)
    add_check_command(commands, [db])  # the regression gate's verdict on one check (_gate._check)
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _open_existing(path: Path) -> History:
    """Read commands never create a history by accident."""
    if not path.exists():
        raise InputError(
            f"{path}: no history database here; ingest a result file first "
            f"(perfkit-report ingest --db {path} FILE) or pass --db"
        )
    return History.open(path)


def _resolve_run(history: History, spec: str) -> RunRecord:
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


def _cmd_ingest(args: argparse.Namespace) -> int:
    # Read and validate every file before the database is even opened: a bad file leaves the
    # history exactly as it was (not even created).
    parsed = [read_result_file(path) for path in args.files]
    with History.open(args.db) as history:
        for run in parsed:
            result = history.store(run)
            if result.skipped:
                line = f"already ingested: {result.source} is run {result.run_id}; nothing changed"
            else:
                line = (
                    f"ingested {result.source}: run {result.run_id}, "
                    f"{len(result.benchmarks)} benchmarks, status {result.status}"
                )
            print(escape_terminal(line))
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    try:
        now = parse_timestamp(args.now) if args.now is not None else None
    except ValueError as exc:
        raise InputError(f"--now: {exc}; write e.g. 2026-01-31T12:00:00+00:00") from None
    with _open_existing(args.db) as history:
        result = history.prune(args.days, now)
    print(
        f"pruned raw samples of {result.runs_pruned} run(s) ({result.results_pruned} results) "
        f"that started before {result.cutoff}; kept {result.runs_pinned} pinned run(s) intact; "
        f"wrote {result.summaries_written} daily summaries"
    )
    return 0


def _baseline_line(baseline: Baseline) -> str:
    state = "pinned" if baseline.pinned else "not pinned"
    branch = f", branch {baseline.branch}" if baseline.branch is not None else ""
    return f"baseline {baseline.name} -> run {baseline.run_id} ({state}{branch})"


def _cmd_baseline_set(args: argparse.Namespace) -> int:
    with _open_existing(args.db) as history:
        if args.branch is not None and args.run == "latest":
            found = history.latest_run(branch=args.branch)
            if found is None:
                raise UnknownRun(
                    f"{history.path}: no run was measured on branch {args.branch!r}; record one "
                    "on that branch (inv bench) or pass --run ID"
                )
            run = found
        else:
            run = _resolve_run(history, args.run)
            if args.branch is not None and run.branch is not None and run.branch != args.branch:
                raise InputError(
                    f"run {run.id} was measured on branch {run.branch!r}, not {args.branch!r}; "
                    f"pass --run with a run of {args.branch!r}, or --run latest"
                )
        baseline = history.set_baseline(
            args.name, run.id, note=args.note, branch=args.branch, pinned=not args.no_pin
        )
    print(escape_terminal(_baseline_line(baseline)))
    return 0


def _cmd_baseline_change(args: argparse.Namespace) -> int:
    with _open_existing(args.db) as history:
        if args.change == "delete":
            baseline = history.delete_baseline(args.name)
            line = (
                f"deleted baseline {baseline.name} (was run {baseline.run_id}); the run stays "
                "in the history"
            )
        else:
            line = _baseline_line(history.set_baseline_pinned(args.name, args.change == "pin"))
    print(escape_terminal(line))
    return 0


def _cmd_baseline_list(args: argparse.Namespace) -> int:
    with _open_existing(args.db) as history:
        baselines = history.baselines(branch=args.branch)
        runs = {run.id: run for run in history.runs()}
    if not baselines:
        if args.branch is not None:
            print(
                escape_terminal(
                    f"no baseline tracks branch {args.branch}; set one with "
                    f"`perfkit-report baseline set NAME --branch {args.branch}`"
                )
            )
            return 0
        print("no baselines yet; pin one with `perfkit-report baseline set NAME --run ID`")
        return 0
    for baseline in baselines:
        run = runs[baseline.run_id]
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
        print(escape_terminal("  ".join(fields)))
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    targets = load_targets(args.targets) if args.targets is not None else None
    with _open_existing(args.db) as history:
        run = _resolve_run(history, args.run)
        summary = summarize_run(history, run, targets)
    if args.format == "md":
        sys.stdout.write(render_markdown(summary))
    elif args.format == "json":
        sys.stdout.write(render_json(summary))
    elif sys.stdout.isatty():
        render_rich(summary, Console())
    else:
        sys.stdout.write(render_text(summary))
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    targets = load_targets(args.targets) if args.targets is not None else None
    with _open_existing(args.db) as history:
        report = render_report(history, args.out, targets)
    for path in (report.html, report.markdown, report.analysis):
        print(escape_terminal(str(path)))
    return 0


def _cmd_ingest_profile(args: argparse.Namespace) -> int:
    with History.open(args.db) as history:
        results = history.ingest_profiles(args.folders)
    for result in results:
        run = f"run {result.run_id}" if result.run_id is not None else "no run at its commit"
        print(
            escape_terminal(
                f"{result.action}: profile {result.profile_id} ({result.target}, {run}) "
                f"from {result.folder}"
            )
        )
    return 0
