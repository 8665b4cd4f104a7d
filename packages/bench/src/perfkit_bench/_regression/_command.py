"""``perfkit-bench regression``: the regression gate's command line. The gate's own options are
those of ``nox -s regression --`` (docs/regression.md); the workspace options say where the
checkout's suites are and what each side's environment holds (noxfile.py passes them)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from perfkit_bench._plumbing import positive_finite_float, positive_int, sigterm_unwinds
from perfkit_bench._regression._driver import run_gate
from perfkit_bench._regression._options import GateOptions, Workspace

__all__ = ["add_regression_command"]


def add_regression_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perfkit-bench regression`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "regression",
        help="the regression gate: paired A/B of the base revision and the head, then a verdict",
        description="Paired, interleaved A/B of the base revision and the head; exit 1 on a "
        "confirmed regression, 0 otherwise, 2 when no verdict can be given.",
    )
    _add_revisions(parser)
    _add_benchmarks(parser)
    _add_verdict(parser)
    _add_evaluation(parser)
    _add_workspace(parser.add_argument_group("workspace (set by the composition root)"))
    parser.set_defaults(handler=_command)


def _add_revisions(parser: argparse.ArgumentParser) -> None:
    side = parser.add_mutually_exclusive_group()
    side.add_argument("--base", metavar="REF", help="base revision (default: merge-base with main)")
    side.add_argument(
        "--against-baseline",
        metavar="NAME",
        help="compare a fresh run of the head with a baseline stored in history.db",
    )
    side.add_argument("--aa", action="store_true", help="A/A: the head on both sides")
    parser.add_argument("--main-branch", default="main", help="the main branch (default: main)")
    parser.add_argument("--allow-dirty", action="store_true", help="measure uncommitted changes")


def _add_benchmarks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="core benchmarks only, fewer pairs")
    parser.add_argument(
        "--pairs",
        type=positive_int,
        help="A/B pairs per benchmark (default 12, fewer if the budget runs out)",
    )
    parser.add_argument(
        "--budget",
        type=positive_finite_float,
        help="seconds the whole check may take; inconclusive benchmarks get more pairs until "
        "then (default 600; quick 120)",
    )
    parser.add_argument("--suite", action="append", default=[], help="only this suite")
    parser.add_argument("--target", help="only this target")
    parser.add_argument("-k", dest="pattern", help="only benchmarks matching this text or glob")
    parser.add_argument(
        "--include-references",
        action="store_true",
        help="also run the reference benchmarks (other libraries' code; skipped by default)",
    )
    parser.add_argument("--no-instructions", action="store_true", help="time channel only")
    parser.add_argument("--affinity", help="pin worker processes to these CPUs, e.g. 0")
    parser.add_argument("--seed", type=int, help="seed of the A/B order (default: random)")


def _add_verdict(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fail-on", choices=("minor", "major", "critical"), default="minor")
    parser.add_argument("--fail-on-inconclusive", action="store_true")
    parser.add_argument(
        "--out", type=Path, default=Path("reports/regression"), help="report folder"
    )
    parser.add_argument(
        "--db", type=Path, default=Path("history.db"), help="history store for the verdicts"
    )
    parser.add_argument("--no-store", action="store_true", help="do not record the check")
    parser.add_argument(
        "--profile-regressions",
        action="store_true",
        help="profile regressed benchmarks on both sides; append the diff to the comment",
    )


def _add_evaluation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inject-head",
        type=float,
        metavar="PERCENT",
        help="evaluation only: slow the head's workloads by this many percent (busy-wait)",
    )
    parser.add_argument(
        "--collect-only", action="store_true", help="evaluation only: run the pairs, no verdict"
    )


def _add_workspace(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--repo", type=Path, default=Path(), help="the head checkout (default .)")
    group.add_argument(
        "--suites", type=Path, default=Path("benchmarks"), help="suite folder, in a checkout"
    )
    group.add_argument(
        "--targets", type=Path, default=Path("benchmarks/targets.toml"), help="targets file"
    )
    group.add_argument(
        "--work-dir",
        type=Path,
        default=Path(".nox/regression"),
        help="where the base worktree and environment live (default .nox/regression)",
    )
    group.add_argument(
        "--head-python", type=Path, help="the head environment's python (default: this one)"
    )
    group.add_argument(
        "--measured",
        action="append",
        default=[],
        metavar="FOLDER",
        help="a package folder each side installs from its own revision, e.g. packages/runtime[fast]",
    )
    group.add_argument(
        "--install",
        action="append",
        default=[],
        metavar="SPEC",
        help="installed alike on both sides: a folder of this checkout or a requirement",
    )
    group.add_argument(
        "--profile-install",
        action="append",
        default=[],
        metavar="SPEC",
        help="as --install, only with --profile-regressions (the profilers)",
    )
    group.add_argument(
        "--quick-only", action="append", default=[], metavar="ID", help="a quick check's benchmark"
    )
    group.add_argument(
        "--default-suite", action="append", default=[], metavar="NAME", help="a full check's suite"
    )
    group.add_argument(
        "--installer",
        choices=("auto", "uv", "pip"),
        default="auto",
        help="what builds the base environment (default: uv when on PATH, else pip)",
    )
    group.add_argument("--find-links", action="append", default=[], metavar="DIR")
    group.add_argument("--no-index", action="store_true", help="install from --find-links only")
    group.add_argument(
        "--reproduce-with",
        default="perfkit-bench regression",
        metavar="COMMAND",
        help="the command the comment names to reproduce the check",
    )


def _command(args: argparse.Namespace) -> int:
    options = GateOptions(
        base=args.base,
        against_baseline=args.against_baseline,
        aa=args.aa,
        main_branch=args.main_branch,
        quick=args.quick,
        pairs=args.pairs,
        budget=args.budget,
        suites=tuple(args.suite),
        target=args.target,
        pattern=args.pattern,
        fail_on=args.fail_on,
        fail_on_inconclusive=args.fail_on_inconclusive,
        out=args.out,
        db=args.db,
        no_store=args.no_store,
        no_instructions=args.no_instructions,
        allow_dirty=args.allow_dirty,
        profile_regressions=args.profile_regressions,
        include_references=args.include_references,
        affinity=args.affinity,
        seed=args.seed,
        inject_head=args.inject_head,
        collect_only=args.collect_only,
    )
    with sigterm_unwinds():
        return run_gate(options, _workspace(args))


def _workspace(args: argparse.Namespace) -> Workspace:
    # abspath, not resolve: a virtual environment's python is a symlink, and following it would
    # leave the environment.
    head_python = Path(os.path.abspath(args.head_python)) if args.head_python else None
    return Workspace(
        repo=args.repo,
        suites=args.suites,
        targets=args.targets,
        work_dir=args.work_dir,
        **({"head_python": head_python} if head_python else {}),
        measured=tuple(args.measured),
        install=tuple(args.install),
        profile_install=tuple(args.profile_install),
        quick_only=tuple(args.quick_only),
        default_suites=tuple(args.default_suite),
        installer=args.installer,
        find_links=tuple(args.find_links),
        no_index=args.no_index,
        reproduce=args.reproduce_with,
    )
