"""report.md: the dashboard as GitHub-flavoured Markdown (tables, no scripts).

The same content as the HTML page: overview (latest run against targets, regressions and
improvements, ratios to references), the generated analysis, one section per suite (with a
text sparkline of each history instead of a chart) and the profile captures. Every string from
outside goes through ``escape_markdown``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perfkit_report._escape import escape_markdown as esc
from perfkit_report._escape import markdown_with_code
from perfkit_report._render._analysis import render_analysis
from perfkit_report._render._dashboard import (
    BenchmarkView,
    Dashboard,
    LatencyGroup,
    ratio_goals,
    relative_link,
)
from perfkit_report._render._series import format_day
from perfkit_report._tables import markdown_row
from perfkit_report._units import format_percent, format_rate, format_value

__all__ = ["render_markdown_report", "sparkline", "status_text", "trend_text"]

_BARS = "▁▂▃▄▅▆▇█"
# Points in a sparkline: the last month of daily points, or the last 40 runs; a wider cell would
# wrap in GitHub's tables.
SPARK_POINTS = 40
_STATUS = {"met": "✅ met", "missed": "❌ missed", "none": "—"}


def sparkline(values: Sequence[float]) -> str:
    """``▁▂▅█`` scaled between the smallest and largest of the last SPARK_POINTS values."""
    tail = list(values)[-SPARK_POINTS:]
    if not tail:
        return ""
    low, high = min(tail), max(tail)
    if high == low:
        return _BARS[3] * len(tail)
    steps = len(_BARS) - 1
    return "".join(_BARS[round((value - low) / (high - low) * steps)] for value in tail)


def status_text(view: BenchmarkView) -> str:
    """met / missed / — for the latest value."""
    return _STATUS[view.latest.check.status] if view.latest is not None else "—"


def trend_text(view: BenchmarkView) -> str:
    """The latest change point (or significant drift) in a few words, unescaped."""
    if view.changes:
        change = view.changes[-1]
        severity = f" {change.severity}" if change.severity else ""
        return f"{change.kind}{severity} {format_percent(change.percent)} at {change.commit_range}"
    if view.drift is not None and view.drift.notable:
        return f"drift {format_percent(view.drift.fit.percent)}/{view.drift.per}"
    return "stable" if view.trend_basis != "none" else "too few points"


def render_markdown_report(dashboard: Dashboard, out_dir: Path) -> str:
    """The whole report as Markdown."""
    lines = ["# perfkit performance report", ""]
    lines.append(_header(dashboard))
    lines.append("")
    if dashboard.notes:
        lines += [f"> {markdown_with_code(note)}  " for note in dashboard.notes]
        lines.append("")
    lines += _overview(dashboard)
    lines.append("")
    lines.append(render_analysis(dashboard, out_dir, level=2).rstrip())
    for suite in dashboard.suites:
        lines += ["", *_suite(dashboard, suite)]
    lines += ["", *_profiles(dashboard, out_dir)]
    return "\n".join(lines).rstrip() + "\n"


def _header(dashboard: Dashboard) -> str:
    parts = [
        f"Generated {dashboard.generated[:19].replace('T', ' ')} UTC from {esc(dashboard.db_path)}"
    ]
    if dashboard.run_count:
        span = ""
        if dashboard.first_run is not None and dashboard.latest_run is not None:
            latest = dashboard.runs[dashboard.latest_run.id]
            span = f" ({format_day(dashboard.first_run.time)} to {format_day(latest.time)})"
        parts.append(f"{dashboard.run_count} run(s){span}")
    parts.append(f"{len(dashboard.benchmarks)} benchmark(s) in {len(dashboard.suites)} suite(s)")
    if dashboard.targets_source:
        parts.append(f"targets: {esc(dashboard.targets_source)}")
    return " · ".join(parts)


def _latest_line(dashboard: Dashboard) -> str:
    run = dashboard.latest_run
    if run is None:
        return "**Latest run:** none yet."
    # "run 12", not "#12": GitHub links #12 to the repository's issue or pull request 12.
    parts = [f"**Latest run:** run {run.id}"]
    if run.started:
        parts.append(f"started {esc(run.started[:19].replace('T', ' '))} UTC")
    if run.commit_sha:
        parts.append(f"commit {esc(run.commit_sha[:12])}")
    if run.branch:
        parts.append(f"branch {esc(run.branch)}")
    if run.dirty:
        parts.append("dirty tree")
    parts.append(f"status {esc(run.status)}")
    return " · ".join(parts)


def _overview(dashboard: Dashboard) -> list[str]:
    lines = ["## Overview", "", _latest_line(dashboard), ""]
    latest = dashboard.latest_views
    statuses = [view.latest.check.status for view in latest if view.latest is not None]
    regressions = sum(c.kind == "regression" for v in dashboard.benchmarks for c in v.changes)
    improvements = sum(c.kind == "improvement" for v in dashboard.benchmarks for c in v.changes)
    lines += [
        "| benchmarks | targets met | missed | not checked | regressions | improvements |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {len(dashboard.benchmarks)} | {statuses.count('met')} | {statuses.count('missed')} "
        f"| {statuses.count('none')} | {regressions} | {improvements} |",
        "",
        "Regressions and improvements count the change points found in the whole history.",
        "",
    ]
    lines += ["### Latest run against targets", ""]
    if not latest:
        lines.append("No results in the latest run.")
    else:
        lines += [
            "| benchmark | value | p5-p95 | ops/s | status | ratio | trend |",
            "|---|---:|---:|---:|---|---:|---|",
        ]
        for view in latest:
            value = view.latest
            assert value is not None
            spread = (
                f"{format_value(value.p5, view.unit)} - {format_value(value.p95, view.unit)}"
                if value.p5 is not None and value.p95 is not None
                else "—"
            )
            cells = [
                esc(view.id),
                esc(format_value(value.median, view.unit)) if value.median is not None else "—",
                esc(spread),
                esc(format_rate(value.rate)) if value.rate is not None else "",
                status_text(view),
                f"{value.ratio:.3g}x" if value.ratio is not None else "",
                esc(trend_text(view)),
            ]
            lines.append(markdown_row(cells))
        reasons = [
            f"- {esc(view.id)}: {esc(reason)}"
            for view in latest
            if view.latest is not None
            for reason in view.latest.check.reasons
        ]
        if reasons:
            lines += ["", *reasons]
    lines += ["", "### Regressions and improvements", ""]
    lines += _regressions(dashboard)
    lines += ["", "### Ratios to references", ""]
    lines += _ratios(dashboard)
    return lines


def _regressions(dashboard: Dashboard) -> list[str]:
    lines = []
    if dashboard.verdicts:
        lines += [
            "Regression gate verdicts for the latest run (effect = ratio of medians, as a change):",
            "",
            "| benchmark | verdict | severity | effect | 95 % CI | q | channel |",
            "|---|---|---|---:|---|---:|---|",
        ]
        for verdict in dashboard.verdicts:
            ci = "—"
            if verdict.ci_low is not None and verdict.ci_high is not None:
                ci = (
                    f"{format_percent(100 * (verdict.ci_low - 1))} … "
                    f"{format_percent(100 * (verdict.ci_high - 1))}"
                )
            cells = [
                esc(verdict.benchmark),
                esc(verdict.verdict or "—"),
                esc(verdict.severity or "—"),
                format_percent(verdict.percent),
                ci,
                f"{verdict.q:.2g}" if verdict.q is not None else "—",
                esc(verdict.channel or "—"),
            ]
            lines.append(markdown_row(cells))
        lines.append("")
    changes = sorted(
        ((view, change) for view in dashboard.benchmarks for change in view.changes),
        key=lambda item: -item[1].x,
    )
    if not changes:
        lines.append("No change point detected in the history.")
        return lines
    lines += [
        "Change points in the history, newest first:",
        "",
        "| benchmark | change | kind | severity | commits | date | median before → after |",
        "|---|---:|---|---|---|---|---|",
    ]
    for view, change in changes:
        cells = [
            esc(view.id),
            format_percent(change.percent),
            change.kind,
            esc(change.severity or "—"),
            esc(change.commit_range),
            format_day(change.to_run.time),
            esc(
                f"{format_value(change.point.before, view.unit)} → "
                f"{format_value(change.point.after, view.unit)}"
            ),
        ]
        lines.append(markdown_row(cells))
    return lines


def _ratios(dashboard: Dashboard) -> list[str]:
    rows = dashboard.referenced_views
    if not rows:
        return ["No benchmark of the latest run names a reference (`reference=` in its suite)."]
    lines = [
        "| benchmark | reference | ratio | goal | status |",
        "|---|---|---:|---|---|",
    ]
    for view in rows:
        latest = view.latest
        assert latest is not None and latest.reference is not None
        goals = ratio_goals(latest.rule)
        cells = [
            esc(view.id),
            esc(latest.reference),
            f"{latest.ratio:.3g}x" if latest.ratio is not None else "— (reference not measured)",
            goals,
            status_text(view),
        ]
        lines.append(markdown_row(cells))
    return lines


def _suite(dashboard: Dashboard, suite: str) -> list[str]:
    lines = [f"## Suite: {esc(suite)}", ""]
    lines += [
        "| benchmark | latest | runs | history | change points | drift | notes |",
        "|---|---:|---:|---|---|---|---|",
    ]
    groups = []
    for card in dashboard.in_suite(suite):
        members = card.members if isinstance(card, LatencyGroup) else (card,)
        if isinstance(card, LatencyGroup):
            groups.append(card)
        for view in members:
            lines.append(_suite_row(view))
    for group in groups:
        lines += ["", f"Latency percentiles of {esc(group.scenario)} (latest run):", ""]
        names = [view.id.rpartition(".")[2] for view in group.members]
        lines.append(markdown_row(esc(name) for name in names))
        lines.append("|" + "---:|" * len(names))
        values = [
            esc(format_value(view.latest.median, view.unit))
            if view.latest is not None and view.latest.median is not None
            else "—"
            for view in group.members
        ]
        lines.append(markdown_row(values))
    return lines


def _suite_row(view: BenchmarkView) -> str:
    latest = (
        format_value(view.latest.median, view.unit)
        if view.latest is not None and view.latest.median is not None
        else "—"
    )
    changes = "; ".join(
        f"{format_percent(c.percent)} {c.kind}"
        + (f" ({c.severity})" if c.severity else "")
        + f" at {c.commit_range}"
        for c in view.changes
    )
    drift = ""
    if view.drift is not None:
        fit = view.drift.fit
        drift = (
            f"{format_percent(fit.percent)}/{view.drift.per} "
            f"[{format_percent(fit.percent_low)}, {format_percent(fit.percent_high)}]"
        )
    notes = list(view.notes)
    if view.series.bucket_days:
        notes.append(f"one point per {view.series.bucket_days} day(s)")
    if view.trend_basis != "none":
        notes.append(view.basis_text)
    kind = "memory · " if view.unit == "byte" else ""
    cells = [
        esc(view.id),
        esc(latest),
        str(view.series.runs),
        sparkline([point.median for point in view.series.points]),
        esc(changes) or "none",
        esc(drift) or "—",
        esc(kind + "; ".join(notes)) if kind or notes else "",
    ]
    return markdown_row(cells)


def _profiles(dashboard: Dashboard, out_dir: Path) -> list[str]:
    lines = ["## Profiles", ""]
    if not dashboard.profiles:
        lines.append(
            "No profile captures yet: `inv profile --target NAME`, then "
            "`perfkit-report ingest-profile profiles/CAPTURE`."
        )
        return lines
    lines += [
        "| target | captured | commit | peak memory | files | missing |",
        "|---|---|---|---:|---|---|",
    ]
    for profile in dashboard.profiles:
        capture = profile.capture
        files = ", ".join(
            f"[{esc(name)}]({relative_link(path, out_dir)})" for name, path in profile.links
        )
        cells = [
            esc(profile.target),
            esc((profile.record.captured or "?")[:16].replace("T", " ")),
            esc((capture.commit or "")[:12]) if capture is not None else "",
            format_value(capture.peak_memory_bytes, "byte")
            if capture is not None and capture.peak_memory_bytes is not None
            else "—",
            files or "—",
            esc("; ".join(profile.problems)) or "—",
        ]
        lines.append(markdown_row(cells))
    return lines
