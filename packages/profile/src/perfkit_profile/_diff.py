"""Profile diff: which functions grew between two captures, by CPU share, bytes and allocations.

Functions are matched by (file, function), not by line (a line moves with any edit above it),
and files by their path *inside* their package or suite folder: the base and head of a
regression check live in two checkouts and two environments, so
``/tmp/base/.nox/x/lib/python3.11/site-packages/perfkit_runtime/_router.py`` and
``/work/packages/runtime/src/perfkit_runtime/_router.py`` are the same file. Installed and stdlib
files keep their path after ``site-packages/`` or ``lib/pythonX.Y/``; other files (a suite, an
editable install) their last two parts, ``benchmarks/_common.py``, ``perfkit_runtime/_router.py``. A function missing
from one side's top list counts as 0 there (it was below that capture's cut).

CPU share is comparable as it is (a percentage of the samples). Allocated bytes and counts are
totals over a capture whose length was a *time* budget: a faster head runs more operations and
allocates more in total. So they are divided by the operations each memray run completed
(``runs.memray.operations``) when both summaries have them, and the tables say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from perfkit_profile._frames import normalize_file
from perfkit_profile._terminal import cell as _cell

__all__ = [
    "Change",
    "ProfileDiff",
    "diff_summaries",
    "render_rich",
]

METRICS = ("cpu_percent", "bytes", "count")
_TITLES = {
    "cpu_percent": "CPU share (% of samples)",
    "bytes": "allocated bytes",
    "count": "allocations",
}


@dataclass(frozen=True)
class Change:
    metric: str
    function: str
    file: str
    before: float
    after: float

    @property
    def delta(self) -> float:
        return self.after - self.before

    @property
    def ratio(self) -> float | None:
        return self.after / self.before if self.before else None


@dataclass(frozen=True)
class ProfileDiff:
    """The growth tables, and what each side was."""

    before: Mapping[str, Any]
    after: Mapping[str, Any]
    per_operation: bool
    changes: dict[str, list[Change]] = field(default_factory=dict)
    headline: list[tuple[str, float | None, float | None]] = field(default_factory=list)


def _operations(summary: Mapping[str, Any]) -> float | None:
    runs = summary.get("runs")
    if not isinstance(runs, Mapping):
        return None
    memray = runs.get("memray")
    ops = memray.get("operations") if isinstance(memray, Mapping) else None
    return float(ops) if isinstance(ops, int | float) and ops > 0 else None


def _totals(
    entries: Iterable[Mapping[str, Any]], metric: str, scale: float
) -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = {}
    for entry in entries:
        value = entry.get(metric)
        if not isinstance(value, int | float):
            continue
        key = (normalize_file(str(entry.get("file", ""))), str(entry.get("function", "")))
        totals[key] = totals.get(key, 0.0) + float(value) / scale
    return totals


def diff_summaries(
    before: Mapping[str, Any], after: Mapping[str, Any], *, limit: int = 10
) -> ProfileDiff:
    """The ``limit`` functions that grew most, per metric (only growth, largest first)."""
    ops_before, ops_after = _operations(before), _operations(after)
    per_operation = ops_before is not None and ops_after is not None
    scales = (ops_before or 1.0, ops_after or 1.0) if per_operation else (1.0, 1.0)
    changes: dict[str, list[Change]] = {}
    for metric in METRICS:
        source = "top_cpu" if metric == "cpu_percent" else "top_alloc"
        scale_a, scale_b = (1.0, 1.0) if metric == "cpu_percent" else scales
        a = _totals(before.get(source) or [], metric, scale_a)
        b = _totals(after.get(source) or [], metric, scale_b)
        grown = [
            Change(
                metric, function, file, a.get((file, function), 0.0), b.get((file, function), 0.0)
            )
            for file, function in a.keys() | b.keys()
        ]
        grown = [change for change in grown if change.delta > 0]
        grown.sort(key=lambda change: (-change.delta, change.file, change.function))
        changes[metric] = grown[:limit]
    headline: list[tuple[str, float | None, float | None]] = [
        (
            "peak memory (bytes)",
            _number(before, "peak_memory_bytes"),
            _number(after, "peak_memory_bytes"),
        ),
    ]
    allocations = (_number(before, "allocations"), _number(after, "allocations"))
    if per_operation:
        headline.append(
            (
                "allocations per operation",
                allocations[0] / scales[0] if allocations[0] is not None else None,
                allocations[1] / scales[1] if allocations[1] is not None else None,
            )
        )
    else:
        headline.append(("allocations", *allocations))
    return ProfileDiff(before, after, per_operation, changes, headline)


def _number(summary: Mapping[str, Any], key: str) -> float | None:
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) else None


def _side(summary: Mapping[str, Any]) -> str:
    commit = str(summary.get("commit") or "")[:12] or "no commit"
    branch = f" ({summary['branch']})" if summary.get("branch") else ""
    return f"{commit}{branch}, {summary.get('captured', '?')}, {summary.get('workload', '?')}"


def _title(diff: ProfileDiff, metric: str) -> str:
    title = _TITLES[metric]
    if metric != "cpu_percent" and diff.per_operation:
        title += " per operation"
    return f"{title}: functions that grew most"


def _fmt(value: float | None, metric: str = "") -> str:
    if value is None:
        return "-"
    if metric == "cpu_percent":
        return f"{value:.1f}"
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _change(before: float | None, after: float | None, metric: str = "") -> str:
    if before is None or after is None:
        return "-"
    delta = after - before
    text = (
        f"{delta:+.1f} pts" if metric == "cpu_percent" else f"{delta:+,.2f}".rstrip("0").rstrip(".")
    )
    if before:
        text += f" ({(after / before - 1) * 100:+.0f} %)"
    elif after:
        text += " (new)"
    return text


# ------------------------------------------------------------------ terminal


def render_rich(diff: ProfileDiff, console: Console) -> None:
    console.print(f"[bold]Profile diff: {_cell(str(diff.after.get('target', '?')))}[/]")
    console.print(f"A: {_cell(_side(diff.before))}")
    console.print(f"B: {_cell(_side(diff.after))}")
    head = Table(show_header=True, header_style="bold")
    for name, justify in (("", "left"), ("A", "right"), ("B", "right"), ("change", "right")):
        head.add_column(name, justify=justify)  # type: ignore[arg-type]
    for label, before, after in diff.headline:
        head.add_row(label, _fmt(before), _fmt(after), _change(before, after))
    console.print(head)
    for metric in METRICS:
        rows = diff.changes.get(metric) or []
        table = Table(title=_title(diff, metric), show_header=True, header_style="bold")
        table.add_column("function")
        table.add_column("file")
        table.add_column("A", justify="right")
        table.add_column("B", justify="right")
        table.add_column("change", justify="right")
        for change in rows:
            table.add_row(
                _cell(change.function),
                _cell(change.file),
                _fmt(change.before, metric),
                _fmt(change.after, metric),
                _change(change.before, change.after, metric),
            )
        if rows:
            console.print(table)
        else:
            console.print(f"{_title(diff, metric)}: no function grew")
    if not diff.per_operation:
        console.print("Bytes and allocations are run totals (no operation count in a summary).")
