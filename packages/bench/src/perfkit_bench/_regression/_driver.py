"""The gate, step by step (docs/regression.md, "Running the gate"):

1. the head: this checkout, refused when dirty (``_revisions``);
2. the base: ``--base REF`` or the merge-base, checked out in a worktree, and its environment
   (``_revisions``, ``_environment``); ``--aa`` measures the head on both sides;
3. the benchmarks of the check (``_select``);
4. instruction counts on both sides (``_count``), the full check only;
5. the timed pairs (``_pairs``);
6. checks until conclusive, then the final check (``_verdict``);
7. with ``--profile-regressions`` and a regression, profile diffs in the comment (``_profiles``).

``--against-baseline NAME`` replaces 2-6 by one run of the head and one check against the
stored baseline. The exit code is the final check's: 0 pass, 1 a confirmed regression;
:class:`GateError` (exit 2) when no verdict can be given.
"""

from __future__ import annotations

from pathlib import Path

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._count import count_instructions
from perfkit_bench._regression._environment import build_base_environment, find_installer
from perfkit_bench._regression._options import GateOptions, Workspace
from perfkit_bench._regression._pairs import Pairs
from perfkit_bench._regression._profiles import profile_regressions
from perfkit_bench._regression._revisions import (
    Git,
    Revision,
    base_worktree,
    head_revision,
    resolve_base,
)
from perfkit_bench._regression._select import selection
from perfkit_bench._regression._tools import Clock, log, run_tool
from perfkit_bench._regression._verdict import Check, check_until_conclusive

__all__ = ["run_gate"]


def run_gate(options: GateOptions, workspace: Workspace) -> int:
    """One check of the head against its base; the gate's exit code."""
    clock = Clock(options.budget_seconds)
    git = Git(workspace.repo)
    head = head_revision(git, allow_dirty=options.allow_dirty)
    options.out.mkdir(parents=True, exist_ok=True)
    chosen = selection(options, workspace)
    check = Check(options, workspace, head.label)
    if options.against_baseline:
        return _against_baseline(options, workspace, check, chosen)
    base = _base_revision(git, options, head)
    log(f"base {base.label} = {base.sha[:12]}; head {head.label}")
    sides = _sides(git, options, workspace, base)
    counts = count_instructions(options.out, sides, chosen) if options.counts_instructions else []
    pairs = Pairs(sides["base"], sides["head"], options.out, chosen, options)
    pairs.run(clock)
    if options.collect_only:
        log(f"pairs written to {pairs.directory}")
        return 0
    check = check.with_inputs(
        "--base",
        str(pairs.directory / "base.json"),
        "--head",
        str(pairs.directory / "head.json"),
        *counts,
        "--base-label",
        f"{base.label}@{base.sha[:8]}",
        "--reproduce",
        f"{workspace.reproduce} --base {base.sha[:12]}",
    )
    code = check_until_conclusive(check, pairs, clock)
    if code == 1 and options.profile_regressions:
        profile_regressions(options.out, sides, workspace.repo)
    log(f"gate finished in {clock.elapsed():.0f} s; exit {code}")
    return code


def _base_revision(git: Git, options: GateOptions, head: Revision) -> Revision:
    if options.aa:
        return Revision(head.sha, "HEAD (A/A)")
    return resolve_base(git, options.base, options.main_branch)


def _sides(
    git: Git, options: GateOptions, workspace: Workspace, base: Revision
) -> dict[str, tuple[Path, Path]]:
    """(python, suites) of each side, base first: the head's environment on both sides for
    A/A, else the base revision's worktree and environment."""
    head = (workspace.head_python, workspace.head_suites())
    if options.aa:
        return {"base": head, "head": head}
    worktree = base_worktree(git, base.sha, workspace.work_dir)
    installer = find_installer(workspace.installer)
    python = build_base_environment(
        workspace, worktree, installer, profile=options.profile_regressions
    )
    return {"base": (python, worktree / workspace.suites), "head": head}


def _against_baseline(
    options: GateOptions, workspace: Workspace, check: Check, chosen: list[str]
) -> int:
    """A fresh run of the head, checked against a baseline stored in history.db (unpaired)."""
    if not options.db.exists():
        raise GateError(
            f"{options.db} does not exist; record runs with `inv bench` and set a "
            "baseline with `inv baseline` first, or pass --db"
        )
    result = options.out / "head.json"
    result.unlink(missing_ok=True)
    run = [str(workspace.head_python), "-m", "perfkit_bench", "run", str(workspace.head_suites())]
    run_tool("perfkit-bench run", [*run, *chosen, "--output", str(result)])
    if not result.exists():
        raise GateError("the head's benchmarks wrote no result file; see the errors above")
    name = options.against_baseline or ""
    return check.with_inputs(
        "--head",
        str(result),
        "--against-baseline",
        name,
        "--reproduce",
        f"{workspace.reproduce} --against-baseline {name}",
    ).final()
