"""The summary of one run: a table of its benchmarks with values, rates, goals and ratios.

``summarize_run`` computes the rows; ``render_text`` / ``render_markdown`` / ``render_json`` /
``render_rich`` print them. Every string that came from a result file is escaped for the medium
(``_escape``): Markdown cells, terminal text; rich output is built from ``Text`` objects, so
brackets in a benchmark name are never read as rich markup.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.text import Text

from perfkit_report._escape import escape_markdown, escape_terminal
from perfkit_report._history import History, ResultRecord, RunRecord
from perfkit_report._tables import Columns
from perfkit_report._targets import TargetCheck, Targets
from perfkit_report._units import format_rate, format_value

__all__ = [
    "RunSummary",
    "SummaryRow",
    "render_json",
    "render_markdown",
    "render_rich",
    "render_text",
    "summarize_run",
]

_STATUS_TEXT = {"met": "met", "missed": "missed", "none": "—"}
_STATUS_STYLE = {"met": "green", "missed": "bold red", "none": "dim"}
_COLUMNS = Columns(
    ("benchmark", "value", "ops/s", "unit", "target", "met?", "ratio"), right=frozenset({1, 2, 6})
)
_SHORT_COMMIT = 12


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One benchmark of the run."""

    benchmark: str
    metric: str
    unit: str
    target: str | None
    """The workload family (perfkit_target), if the file says."""
    median: float
    rate: float | None
    """Operations per second (1 / median) for time metrics."""
    reference: str | None
    ratio: float | None
    """median / the reference benchmark's median in the same run."""
    rule: str | None
    """The id pattern of the targets entry that applied."""
    check: TargetCheck

    @property
    def value_text(self) -> str:
        """The median in human units."""
        return format_value(self.median, self.unit)

    @property
    def rate_text(self) -> str:
        """ops/s, or empty."""
        return format_rate(self.rate) if self.rate is not None else ""

    @property
    def ratio_text(self) -> str:
        """``0.85x``, or empty."""
        return f"{self.ratio:.3g}x" if self.ratio is not None else ""


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run and its rows."""

    run: RunRecord
    rows: tuple[SummaryRow, ...]
    targets_source: str | None


def summarize_run(history: History, run: RunRecord, targets: Targets | None) -> RunSummary:
    """Rows for every result of ``run``, checked against ``targets`` when given."""
    results = history.results(run.id)
    # By (benchmark, metric): a benchmark's cpu_time row sits beside its time row.
    by_name = {(result.benchmark, result.metric): result for result in results}
    rows = tuple(_row(result, by_name, targets) for result in results)
    return RunSummary(run, rows, targets.source if targets is not None else None)


def _row(
    result: ResultRecord, by_name: dict[tuple[str, str], ResultRecord], targets: Targets | None
) -> SummaryRow:
    reference_name = result.metadata.get("perfkit_reference")
    reference = str(reference_name) if reference_name else None
    ratio = None
    ref = by_name.get((reference, result.metric)) if reference is not None else None
    if ref is not None and ref.unit == result.unit and ref.median > 0:
        ratio = result.median / ref.median
    rate = 1.0 / result.median if result.metric == "time" and result.median > 0 else None
    # Targets are goals for what a user waits (wall time), not for the CPU-time series.
    checked = targets is not None and result.metric != "cpu_time"
    rule = targets.rule_for(result.benchmark) if targets is not None and checked else None
    check = (
        rule.check(result.median, result.unit, ratio) if rule is not None else TargetCheck("none")
    )
    if reference is not None and (reference, result.metric) not in by_name:
        check = TargetCheck(
            check.status, (*check.reasons, f"reference {reference!r} is not in this run")
        )
    return SummaryRow(
        benchmark=result.benchmark,
        metric=result.metric,
        unit=result.unit,
        target=result.target,
        median=result.median,
        rate=rate,
        reference=reference,
        ratio=ratio,
        rule=rule.pattern if rule is not None else None,
        check=check,
    )


def _cells(row: SummaryRow) -> tuple[str, ...]:
    return (
        row.benchmark,
        row.value_text,
        row.rate_text,
        row.unit,
        row.target or "",
        _STATUS_TEXT[row.check.status],
        row.ratio_text,
    )


def _header_parts(summary: RunSummary) -> list[str]:
    run = summary.run
    parts = [f"run {run.id}"]
    if run.started:
        parts.append(f"started {run.started}")
    if run.commit_sha:
        parts.append(f"commit {run.commit_sha[:_SHORT_COMMIT]}")
    if run.branch:
        parts.append(f"branch {run.branch}")
    if run.dirty:
        parts.append("dirty tree")
    if run.mode:
        parts.append(f"mode {run.mode}")
    parts.append(f"status {run.status}")
    return parts


def _notes(summary: RunSummary) -> list[tuple[str, str]]:
    """(subject, note) pairs: goal reasons and failed benchmarks."""
    notes = [(row.benchmark, reason) for row in summary.rows for reason in row.check.reasons]
    for failure in summary.run.failed:
        subject = str(failure.get("id", "?"))
        kind = failure.get("kind")
        error = str(failure.get("error", ""))
        notes.append((subject, f"failed ({kind}): {error}" if kind else f"failed: {error}"))
    return notes


def render_text(summary: RunSummary) -> str:
    """A plain-text table (no colour, no box drawing), for pipes and logs."""
    esc: Callable[[str], str] = escape_terminal
    lines = [esc(" | ".join([summary.run.source, *_header_parts(summary)]))]
    if summary.targets_source:
        lines.append(esc(f"targets: {summary.targets_source}"))
    lines.append("")
    lines += _COLUMNS.text([esc(cell) for cell in _cells(row)] for row in summary.rows)
    notes = _notes(summary)
    if notes:
        lines.append("")
        lines.extend(esc(f"- {subject}: {note}") for subject, note in notes)
    return "\n".join(lines) + "\n"


def render_markdown(summary: RunSummary) -> str:
    """A GitHub-flavoured Markdown table; every file-supplied string escaped."""
    esc = escape_markdown
    lines = [f"### perfkit run {summary.run.id}", ""]
    lines.append(" · ".join(esc(part) for part in [*_header_parts(summary)]))
    lines.append("")
    lines.append(f"source: {esc(summary.run.source)}")
    if summary.targets_source:
        lines.append(f"targets: {esc(summary.targets_source)}")
    lines.append("")
    lines += _COLUMNS.markdown([esc(cell) for cell in _cells(row)] for row in summary.rows)
    notes = _notes(summary)
    if notes:
        lines.append("")
        lines.extend(f"- {esc(subject)}: {esc(note)}" for subject, note in notes)
    return "\n".join(lines) + "\n"


def render_json(summary: RunSummary) -> str:
    """The run and its rows as JSON (raw numbers plus the formatted value)."""
    run = summary.run
    document: dict[str, Any] = {
        "run": {
            "id": run.id,
            "run_key": run.run_key,
            "source": run.source,
            "started": run.started,
            "finished": run.finished,
            "commit": run.commit_sha,
            "branch": run.branch,
            "dirty": run.dirty,
            "mode": run.mode,
            "status": run.status,
            "failed": list(run.failed),
            "fingerprint": dict(run.fingerprint),
            "tool_versions": dict(run.tool_versions),
        },
        "targets": summary.targets_source,
        "rows": [
            {
                "benchmark": row.benchmark,
                "metric": row.metric,
                "unit": row.unit,
                "target": row.target,
                "median": row.median,
                "value": row.value_text,
                "rate": row.rate,
                "reference": row.reference,
                "ratio": row.ratio,
                "rule": row.rule,
                "status": row.check.status,
                "reasons": list(row.check.reasons),
            }
            for row in summary.rows
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_rich(summary: RunSummary, console: Console) -> None:
    """A rich table for a terminal; cells are Text, never parsed as markup."""
    console.print(Text(escape_terminal(" · ".join(_header_parts(summary))), style="bold"))
    console.print(Text(escape_terminal(f"source: {summary.run.source}"), style="dim"))
    if summary.targets_source:
        console.print(Text(escape_terminal(f"targets: {summary.targets_source}"), style="dim"))
    rows = []
    for row in summary.rows:
        cells = [Text(escape_terminal(cell)) for cell in _cells(row)]
        cells[5].stylize(_STATUS_STYLE[row.check.status])
        rows.append(cells)
    console.print(_COLUMNS.rich(rows))
    for subject, note in _notes(summary):
        console.print(Text(escape_terminal(f"- {subject}: {note}")))
