"""The ``perfkit-profile`` command: ``run``, ``list``, ``leaks``, ``diff`` and ``overhead``.

Only :func:`main` turns errors into exit codes: 0 ok; 1 the command ran and found a failure (a
capture with errors, a leak, a workload that raised); 2 bad usage or input (unknown target, no
registry, a profiler not installed, an unreadable summary); 130 interrupted. Errors go to stderr
as one line naming the fix; stdout carries only results (the capture folder, the table, the
report), so scripts can capture it.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from perfkit_profile._capture import DEFAULT_TOP, CaptureOptions, capture
from perfkit_profile._diff import diff_summaries, render_rich
from perfkit_profile._diff_flamegraph import differential_flamegraph, render_frames_rich
from perfkit_profile._diff_json import diff_json
from perfkit_profile._exceptions import (
    CaptureFailed,
    InputError,
    LeakFound,
    PerfkitProfileError,
    ProfilerUnavailable,
    UsageError,
)
from perfkit_profile._leaks import check_leaks, render_leaks
from perfkit_profile._overhead import measure_overhead, render_overhead
from perfkit_profile._progress import make_progress
from perfkit_profile._pyspy import DEFAULT_RATE, PySpySettings
from perfkit_profile._registry import (
    RegistryEntry,
    default_entry,
    load_registry,
    query_registry,
    targets,
)
from perfkit_profile._summary import load_summary
from perfkit_profile._tool import PROFILERS, Budget
from perfkit_profile._workload import Workload, from_entry, from_function, is_function_spec

__all__ = ["build_parser", "main"]

PROG = "perfkit-profile"
DEFAULT_SUITES = Path("benchmarks")
DEFAULT_OUT = Path("profiles")
# Five seconds: about 500 scalene samples at its 10 ms interval, and several 0.1 s calls.
DEFAULT_DURATION = 5.0
DEFAULT_TIMEOUT = 600.0
# Markdown for PR comments is perfkit-report's: one escaper for every Markdown writer.
MARKDOWN_MOVED = (
    "diff writes no Markdown any more: `perfkit-profile diff A B --format json > diff.json`, "
    "then `perfkit-report append-profile-diffs --comment comment.md diff.json`"
)
# A wide console when stdout is a file or a pipe: rich would otherwise wrap tables at 80 columns.
_PIPE_WIDTH = 160


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``perfkit-profile`` and ``python -m perfkit_profile``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    # A CI runner cancels a job with SIGTERM: turn it into an exit that unwinds, so the child
    # process groups started for the profilers are killed on the way out.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return handler(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except PerfkitProfileError as exc:
        return _exit_code(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_code(exc: PerfkitProfileError) -> int:
    """The one error -> exit-code map: bad input 2; a failed capture or run 1 (and so is a new
    branch of the tree not mapped yet: a failure, not the user's fault)."""
    if isinstance(exc, CaptureFailed):
        for error in exc.errors:
            print(f"{PROG}: {error}", file=sys.stderr)
    _error(str(exc))
    return 2 if isinstance(exc, InputError) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Profile benchmark workloads under scalene, memray and py-spy; leak checks; "
        "diffs.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in (_add_run, _add_list, _add_leaks, _add_diff, _add_overhead):
        add(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="profile a target's workload (or MODULE:FUNCTION) into profiles/<capture>/",
        description="Profile one workload under scalene, memray and py-spy into OUT/<UTC time>-"
        "<commit>-<target>/ with summary.json; prints that folder.",
    )
    _add_workload(run)
    run.add_argument(
        "--profiler",
        choices=[*PROFILERS, "all"],
        default="all",
        help="which profiler(s) to run (default all)",
    )
    budget = run.add_mutually_exclusive_group()
    budget.add_argument(
        "--duration",
        type=_positive_float,
        metavar="SECONDS",
        help=f"run the workload this long under each profiler (default {DEFAULT_DURATION:g})",
    )
    budget.add_argument(
        "--iterations",
        type=_positive_int,
        metavar="N",
        help="call the workload N times (after calibrating loops) instead of for a duration",
    )
    run.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"captures folder (default {DEFAULT_OUT}/)"
    )
    run.add_argument(
        "--top",
        type=_positive_int,
        default=DEFAULT_TOP,
        help=f"entries per top_* list in summary.json (default {DEFAULT_TOP})",
    )
    _add_pyspy(run)
    _add_common(run)
    run.set_defaults(handler=_run)


def _add_list(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("list", help="list the targets and their default workloads")
    _add_registry(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)


def _add_leaks(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    leaks = commands.add_parser(
        "leaks",
        help="run a workload k times and report the bytes it retains per call",
        description="Exit 1 when the median growth per call exceeds --threshold.",
    )
    _add_workload(leaks)
    leaks.add_argument(
        "-k", "--iterations", type=_positive_int, default=10, help="measured calls (default 10)"
    )
    leaks.add_argument(
        "--warmup", type=_non_negative_int, default=3, help="calls before measuring (default 3)"
    )
    leaks.add_argument(
        "--loops", type=_positive_int, help="loops per call of a time workload (default 1)"
    )
    leaks.add_argument(
        "--threshold",
        type=_non_negative_float,
        default=0.0,
        metavar="BYTES",
        help="retained bytes per call allowed (median; default 0)",
    )
    leaks.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_common(leaks)
    leaks.set_defaults(handler=_leaks)


def _add_diff(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = commands.add_parser(
        "diff",
        help="functions whose CPU share, bytes or allocations grew from A to B; the "
        "differential CPU flame graph",
        description="Tables of the functions that grew from A to B, and diff-flamegraph.html "
        "(B's py-spy stacks coloured by the change from A) in B's folder or --out.",
    )
    diff.add_argument("before", type=Path, metavar="A", help="summary.json or its capture folder")
    diff.add_argument("after", type=Path, metavar="B", help="summary.json or its capture folder")
    diff.add_argument(
        "--format",
        choices=["text", "json", "md"],
        default="text",
        help="text: tables for a terminal; json: the diff as data, which `perfkit-report "
        "append-profile-diffs` renders into a PR comment (default text)",
    )
    diff.add_argument("--limit", type=_positive_int, default=10, help="rows per table (default 10)")
    diff.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write diff-flamegraph.html here (default: B's capture folder)",
    )
    diff.set_defaults(handler=_diff)


def _add_overhead(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    overhead = commands.add_parser(
        "overhead",
        help="measure each profiler's slowdown of a workload (interleaved, pinned, medians)",
    )
    _add_workload(overhead)
    overhead.add_argument(
        "--profiler", choices=[*PROFILERS, "all"], default="all", help="default all"
    )
    overhead.add_argument(
        "--rounds", type=_positive_int, default=5, help="interleaved rounds (default 5)"
    )
    overhead.add_argument(
        "--iterations",
        type=_positive_int,
        default=10,
        help="calls per process at the calibrated loops (default 10)",
    )
    overhead.add_argument(
        "--affinity",
        default="0",
        metavar="CPUS",
        help="taskset -c CPUS for every process; 'none' to not pin (default 0)",
    )
    overhead.add_argument("--json", action="store_true", help="print the figures as JSON")
    _add_pyspy(overhead)
    _add_common(overhead)
    overhead.set_defaults(handler=_overhead)


def _add_registry(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        type=Path,
        metavar="FILE",
        help="benchmark registry JSON (perfkit-bench list --json > FILE); default: ask "
        "perfkit-bench if it is installed here",
    )
    parser.add_argument(
        "--suites",
        type=Path,
        default=DEFAULT_SUITES,
        metavar="DIR",
        help=f"the suites folder, put on the workload's sys.path (default {DEFAULT_SUITES}/)",
    )


def _add_workload(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workload",
        metavar="TARGET_OR_MODULE:FUNCTION",
        help="a target of the registry (routing, spawning, ...) or MODULE:FUNCTION / FILE.py:FUNCTION",
    )
    _add_registry(parser)
    parser.add_argument(
        "--benchmark", metavar="ID", help="profile this benchmark of the target, not its default"
    )
    parser.add_argument(
        "--kwargs",
        type=_json_object,
        default=None,
        metavar="JSON",
        help='keyword arguments for the function, e.g. \'{"mode": "threads"}\'',
    )


def _add_pyspy(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("py-spy")
    group.add_argument(
        "--rate",
        type=_positive_int,
        default=DEFAULT_RATE,
        metavar="HZ",
        help=f"py-spy samples per second (default {DEFAULT_RATE})",
    )
    group.add_argument(
        "--native",
        action="store_true",
        help="py-spy: also sample C frames (x86-64 Linux and Windows only)",
    )
    group.add_argument(
        "--idle",
        action="store_true",
        help="py-spy: also count threads that wait (default: CPU time only)",
    )


def _pyspy_settings(args: argparse.Namespace) -> PySpySettings:
    return PySpySettings(rate=args.rate, native=args.native, idle=args.idle)


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"limit per child process (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display")


def _entries(args: argparse.Namespace) -> list[RegistryEntry]:
    if args.registry is not None:
        return load_registry(args.registry)
    return query_registry(args.suites)


def _workload(args: argparse.Namespace) -> Workload:
    if is_function_spec(args.workload):
        if args.benchmark:
            raise UsageError(
                "--benchmark picks a benchmark of a target; drop it for MODULE:FUNCTION"
            )
        return from_function(args.workload, suites=args.suites, kwargs=args.kwargs)
    return from_entry(
        _entries(args),
        args.workload,
        suites=args.suites,
        benchmark=args.benchmark,
        kwargs=args.kwargs,
    )


def _run(args: argparse.Namespace) -> int:
    workload = _workload(args)
    profilers = PROFILERS if args.profiler == "all" else (args.profiler,)
    budget = (
        Budget(duration=None, iterations=args.iterations)
        if args.iterations
        else Budget(duration=args.duration or DEFAULT_DURATION)
    )
    options = CaptureOptions(
        profilers=profilers,
        budget=budget,
        out=args.out,
        timeout=args.timeout,
        top=args.top,
        command=[PROG, *args.argv],
        pyspy=_pyspy_settings(args),
    )
    repo_dir = args.suites if args.suites.is_dir() else Path.cwd()
    with make_progress(quiet=args.quiet) as progress:
        result = capture(workload, options, progress, repo_dir=repo_dir)
    print(result.folder)
    if result.unavailable:
        for error in result.errors:
            if error not in result.unavailable:
                print(f"{PROG}: {error}", file=sys.stderr)
        raise ProfilerUnavailable(
            f"{result.unavailable[0]}; the other profilers' outputs are in {result.folder}"
        )
    if result.errors:
        raise CaptureFailed(
            f"the capture in {result.folder} has {len(result.errors)} error(s); "
            "what the profilers produced is kept there (see the .log files)",
            result.folder,
            result.errors,
        )
    return 0


def _list(args: argparse.Namespace) -> int:
    entries = _entries(args)
    grouped = targets(entries)
    listing: dict[str, Any] = {}
    for name, members in grouped.items():
        default = default_entry(entries, name)
        listing[name] = {
            "default": default.id,
            "func": default.func,
            "call_kwargs": dict(default.call_kwargs),
            "benchmarks": [entry.id for entry in members],
        }
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    rows = [("TARGET", "BENCHMARKS", "DEFAULT WORKLOAD")]
    for name, item in listing.items():
        kwargs = json.dumps(item["call_kwargs"]) if item["call_kwargs"] else ""
        rows.append(
            (
                name,
                str(len(item["benchmarks"])),
                f"{item['default']} ({item['func']}{' ' + kwargs if kwargs else ''})",
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(2)]
    for row in rows:
        print(f"{row[0].ljust(widths[0])}  {row[1].rjust(widths[1])}  {row[2]}")
    return 0


def _leaks(args: argparse.Namespace) -> int:
    workload = _workload(args)
    with make_progress(quiet=args.quiet) as progress:
        report = check_leaks(
            workload,
            iterations=args.iterations,
            warmup=args.warmup,
            loops=args.loops,
            threshold=args.threshold,
            timeout=args.timeout,
            progress=progress,
        )
    print(json.dumps(report.as_json(), indent=2) if args.json else render_leaks(report))
    if report.leaking:
        raise LeakFound(
            f"{report.workload} retains {report.retained_bytes_per_iteration:,.0f} bytes per call, "
            f"above the threshold of {args.threshold:,.0f}: see the allocation sites above"
        )
    return 0


def _diff(args: argparse.Namespace) -> int:
    if args.format == "md":
        raise UsageError(MARKDOWN_MOVED)
    before = load_summary(args.before)
    after = load_summary(args.after)
    diff = diff_summaries(before, after, limit=args.limit)
    frames = differential_flamegraph(
        (args.before, before), (args.after, after), out=args.out, limit=args.limit
    )
    if isinstance(frames, str) and args.format != "text":  # the text tables say it themselves
        print(f"{PROG}: no differential flame graph: {frames}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(diff_json(diff, frames), indent=2, allow_nan=False))
        return 0
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    console = Console(file=sys.stdout, width=width, highlight=False)
    render_rich(diff, console)
    render_frames_rich(frames, console)
    return 0


def _overhead(args: argparse.Namespace) -> int:
    workload = _workload(args)
    profilers = PROFILERS if args.profiler == "all" else (args.profiler,)
    with make_progress(quiet=args.quiet) as progress:
        report = measure_overhead(
            workload,
            profilers=profilers,
            rounds=args.rounds,
            iterations=args.iterations,
            affinity=None if args.affinity == "none" else args.affinity,
            timeout=args.timeout,
            progress=progress,
            pyspy=_pyspy_settings(args),
        )
    print(json.dumps(report.as_json(), indent=2) if args.json else render_overhead(report))
    return 0


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # 128 + signal number: the shell's convention for "killed by SIGTERM" (143).
    raise SystemExit(128 + signum)


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object, e.g. '{\"n\": 10}'")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value
