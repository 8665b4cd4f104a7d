"""The gate, step by step (docs/regression.md, "Running the gate"):

1. the head: this checkout, refused when dirty (``_revisions``);
2. the base: ``--base REF`` or the merge-base, checked out in a worktree; both sides'
   environments and suite folders made alike (``_revisions``, ``_environment``); ``--aa``
   measures the head on both sides;
3. the benchmarks of the check (``_select``);
4. instruction counts on both sides (``_count``), the full check only, beside
5. the timed slices and pairs (``_pairs``), on another CPU;
6. checks until conclusive, then the final check (``_verdict``);
7. with ``--profile-regressions`` and a regression, profile diffs in the comment (``_profiles``).

``--against-baseline NAME`` replaces 2-6 by one run of the head and one check against the
stored baseline. The exit code is the final check's: 0 pass, 1 a confirmed regression;
:class:`GateError` (exit 2) when no verdict can be given.
"""

from __future__ import annotations

import os
from pathlib import Path

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._count import Counting, count_instructions
from perfkit_bench._regression._environment import (
    build_environment,
    copy_suites,
    find_installer,
)
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
from perfkit_bench._worker import parse_cpu_list

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
    pairs, counts = _measure(options, sides, chosen, clock)
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


def _measure(
    options: GateOptions, sides: dict[str, tuple[Path, Path]], chosen: list[str], clock: Clock
) -> tuple[Pairs, list[str]]:
    """The timed pairs and, in the full check, the instruction counts: side by side on
    different CPUs when there are two or more (the slices on the last one, or ``--affinity``),
    else one after the other. The pairs and the check's instruction options."""
    slice_cpus, count_cpus = split_cpus(options.affinity)
    if not options.counts_instructions:
        pairs = Pairs(sides["base"], sides["head"], options.out, chosen, options)
        pairs.run(clock)
        return pairs, []
    if count_cpus is None:
        counts = count_instructions(options.out, sides, chosen)
        pairs = Pairs(sides["base"], sides["head"], options.out, chosen, options)
        pairs.run(clock)
        return pairs, counts
    counting = Counting(options.out, sides, chosen, count_cpus)
    pairs = Pairs(sides["base"], sides["head"], options.out, chosen, options, slice_cpus)
    counting.start()
    try:
        pairs.run(clock)
        return pairs, counting.finish()
    finally:
        counting.stop()


def split_cpus(affinity: str | None) -> tuple[str | None, str | None]:
    """(CPUs of the timed slices, CPUs of the instruction counts): ``--affinity`` (else the
    last CPU this process may use) for the slices, the others for the counts; no CPU is left
    for the counts on a one-CPU machine (None: count first)."""
    available = sorted(os.sched_getaffinity(0))
    timed = sorted(parse_cpu_list(affinity)) if affinity else available[-1:]
    rest = [cpu for cpu in available if cpu not in timed]
    return ",".join(map(str, timed)), ",".join(map(str, rest)) or None


def _base_revision(git: Git, options: GateOptions, head: Revision) -> Revision:
    if options.aa:
        return Revision(head.sha, "HEAD (A/A)")
    return resolve_base(git, options.base, options.main_branch)


def _sides(
    git: Git, options: GateOptions, workspace: Workspace, base: Revision
) -> dict[str, tuple[Path, Path]]:
    """(python, suites) of each side, base first, made alike (``_environment``): the head's
    checkout in ``head-env`` / ``head-suites`` (on both sides for A/A), the base revision's
    worktree in ``base-env`` / ``base-suites``."""
    installer = find_installer(workspace.installer)
    profile = options.profile_regressions
    python = build_environment(workspace, "head", workspace.repo, installer, profile=profile)
    head = (python, copy_suites(workspace, "head", workspace.repo, python))
    if options.aa:
        return {"base": head, "head": head}
    worktree = base_worktree(git, base.sha, workspace.work_dir)
    python = build_environment(workspace, "base", worktree, installer, profile=profile)
    return {"base": (python, copy_suites(workspace, "base", worktree, python)), "head": head}


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
