"""Differential flame graph data: B's call tree, each frame weighed against the same frame in A.

What is compared is the time per *operation* of the benchmark, not per second of capture. A
capture runs for a time budget; a head that is 2x slower completes half the operations in it,
so its samples (and its shares of them) already carry the slowdown once: comparing samples per
second would count it again in every frame that simply ran fewer times. A frame's CPU time per
operation is estimated as ``samples / all samples * process CPU seconds / operations``: its
share of the samples, times the CPU time of the profiled process (``runs["py-spy"].cpu_s``,
measured by the driver), divided by the operations the driver completed under py-spy
(``runs["py-spy"].operations``).

Why CPU seconds and not ``samples / rate`` (py-spy's nominal interval): py-spy samples by the
wall clock, and a process that waits for a core still shows the stack it was stopped in. On a
shared machine a capture that ran beside a busy neighbour collected several times the samples
per operation of one that ran alone (a head measured at 4x fewer operations in the same 2 s,
here), which inflated every frame alike and buried the one that changed. CPU time does not grow
with the neighbour. With ``--idle`` the samples include waiting threads, whose time is not CPU
time: then (or when a summary has no ``cpu_s``) the nominal interval is used.

Every change is expressed in one unit: percent of A's whole time per operation. A frame that
took 10 % of A's time per operation and takes the equivalent of 25 % in B changed by +15; the
changes of all frames add up to B's total slowdown (+15 % slower in all, if nothing else moved).
When either side lacks an operation count (a summary from elsewhere, a ``call`` workload that
counts no loops), shares of samples are compared instead and the result says so
(``per_operation`` false).

Frames are matched by path of (function, normalised file) keys from the root (``_folded``), and
per function for the rankings: a function's *self* samples (it is the leaf: its own code is
running) summed over every stack it ends. Self time is what moves when a function's own code
gets slower; its callers' total time moves with it and would tie with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from perfkit_profile._folded import DRIVER, Node, Stack, build_tree
from perfkit_profile._frames import Frame, normalize_file

__all__ = ["Scale", "StackDiff", "diff_stacks", "scale_for"]

# Decimal places kept for fractions in the page and the JSON: 1e-6 of A's time per operation.
_DIGITS = 6


@dataclass(frozen=True)
class Scale:
    """What one sample of a side weighs, in the unit of the comparison: seconds per operation
    (``per_operation``) or a share of that side's samples."""

    weight: float
    per_operation: bool


def scale_for(
    samples: int,
    rate: float | None,
    operations: float | None,
    *,
    cpu_s: float | None = None,
    idle: bool = False,
) -> Scale:
    """CPU seconds per operation per sample (from ``cpu_s``, unless idle threads were sampled),
    else seconds per operation at the nominal ``rate``; 1/samples without operations."""
    if operations and operations > 0:
        if cpu_s and cpu_s > 0 and samples and not idle:
            return Scale(cpu_s / (samples * operations), True)
        if rate and rate > 0:
            return Scale(1.0 / (rate * operations), True)
    return Scale(1.0 / samples if samples else 0.0, False)


@dataclass(frozen=True)
class StackDiff:
    """B's tree with A's figures (``tree``, d3-flame-graph's input plus ``a``, ``s``, ``as``,
    ``d``, ``dt``; see :func:`diff_stacks`) and the functions that grew and shrank most."""

    tree: dict[str, Any]
    per_operation: bool
    before_samples: int
    after_samples: int
    growing: list[dict[str, Any]] = field(default_factory=list)
    shrinking: list[dict[str, Any]] = field(default_factory=list)


def diff_stacks(
    before: list[Stack], after: list[Stack], scales: tuple[Scale, Scale], *, limit: int = 10
) -> StackDiff:
    """Compare two captures' stacks (see the module docstring).

    Each node of the returned tree holds ``n`` (B's label), ``v`` and ``s`` (B's total and self
    samples), ``a`` and ``as`` (A's at the same path, 0 when A never reached it), and ``d`` /
    ``dt``: the change of its self / total time as a fraction of A's time per operation.
    """
    scale_a, scale_b = scales
    per_operation = scale_a.per_operation and scale_b.per_operation
    if not per_operation:  # both sides in the same unit: shares of their own samples
        scale_a = scale_for(sum(count for _, count in before), None, None)
        scale_b = scale_for(sum(count for _, count in after), None, None)
    tree_a, tree_b = build_tree(before), build_tree(after)
    base = tree_a.total * scale_a.weight  # A's whole time per operation (or 1.0: all of it)
    units = (scale_a.weight / base, scale_b.weight / base) if base else (0.0, 0.0)
    growing, shrinking = _rankings(before, after, units, limit)
    return StackDiff(
        tree=_node_json(tree_b, tree_a, units),
        per_operation=per_operation,
        before_samples=tree_a.total,
        after_samples=tree_b.total,
        growing=growing,
        shrinking=shrinking,
    )


def _node_json(node: Node, other: Node | None, units: tuple[float, float]) -> dict[str, Any]:
    unit_a, unit_b = units
    a_total = other.total if other else 0
    a_self = other.self if other else 0
    data: dict[str, Any] = {
        "n": node.frame.label,
        "v": node.total,
        "s": node.self,
        "a": a_total,
        "as": a_self,
        "d": round(node.self * unit_b - a_self * unit_a, _DIGITS),
        "dt": round(node.total * unit_b - a_total * unit_a, _DIGITS),
    }
    if node.children:
        data["c"] = [
            _node_json(child, other.children.get(key) if other else None, units)
            for key, child in node.children.items()
        ]
    return data


def _self_by_function(
    stacks: Iterable[Stack],
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], Frame]]:
    selfs: dict[tuple[str, str], int] = {}
    frames: dict[tuple[str, str], Frame] = {}
    for stack, count in stacks:
        if not stack or stack[-1] == DRIVER:
            continue
        leaf = stack[-1]
        selfs[leaf.key] = selfs.get(leaf.key, 0) + count
        frames.setdefault(leaf.key, leaf)
    return selfs, frames


def _rankings(
    before: list[Stack], after: list[Stack], units: tuple[float, float], limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Functions by the change of their self time, largest growth first / largest drop first."""
    selfs_a, frames_a = _self_by_function(before)
    selfs_b, frames_b = _self_by_function(after)
    rows: list[dict[str, Any]] = []
    for key in selfs_a.keys() | selfs_b.keys():
        frame = frames_b.get(key) or frames_a[key]
        a, b = selfs_a.get(key, 0), selfs_b.get(key, 0)
        before_pct, after_pct = 100 * a * units[0], 100 * b * units[1]
        rows.append(
            {
                "function": frame.function,
                "file": normalize_file(frame.file),
                "line": frame.line,
                "before_samples": a,
                "after_samples": b,
                "before_percent": round(before_pct, 4),
                "after_percent": round(after_pct, 4),
                "change_percent": round(after_pct - before_pct, 4),
            }
        )
    rows.sort(key=lambda row: (-row["change_percent"], row["file"], row["function"]))
    growing = [row for row in rows if row["change_percent"] > 0][:limit]
    shrinking = [row for row in reversed(rows) if row["change_percent"] < 0][:limit]
    return growing, shrinking
