"""Which benchmarks a check measures, as the filter options of ``perfkit-bench ab``, ``run`` and
``instructions``: the user's ``--suite`` / ``--target`` / ``-k``, else the quick check's ids or
the full check's suites."""

from __future__ import annotations

from perfkit_bench._regression._options import GateOptions, Workspace

__all__ = ["selection"]


def selection(options: GateOptions, workspace: Workspace) -> list[str]:
    chosen: list[str] = []
    for suite in options.suites:
        chosen += ["--suite", suite]
    if options.target:
        chosen += ["--target", options.target]
    if options.pattern:
        chosen += ["-k", options.pattern]
    if chosen:
        return chosen
    if options.quick and workspace.quick_only:
        return [arg for bench_id in workspace.quick_only for arg in ("--only", bench_id)]
    return [arg for suite in workspace.default_suites for arg in ("--suite", suite)]
