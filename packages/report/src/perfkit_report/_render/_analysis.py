"""The generated analysis: what needs attention, each claim next to the number it rests on.

``render_analysis`` turns a ``Dashboard`` into a Markdown section (written as ``analysis.md``,
included in ``report.md``, and rendered into the HTML page with the ``markdown`` package):

1. targets missed, with the gap to each goal;
2. the biggest regressions: the gate's verdicts for the latest run, then the largest change
   points of the history (magnitude, commit range, p-value), and the improvements;
3. slow drift that is significant (Theil-Sen interval excluding zero);
4. hotspots from the latest profile of each target;
5. recommendations derived from the above, each quoting its evidence.

Every string from outside (benchmark names, commits, profile function names and paths) goes
through ``escape_markdown``, which also keeps raw HTML out of the page the Markdown becomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfkit_report._escape import escape_markdown as esc
from perfkit_report._history import ProfileCapture
from perfkit_report._render._dashboard import (
    BenchmarkView,
    Dashboard,
    ProfileView,
    TrendChange,
    relative_link,
)
from perfkit_report._render._series import format_day
from perfkit_report._targets import TargetRule
from perfkit_report._units import format_percent, format_rate, format_value

__all__ = ["render_analysis", "target_gaps"]

# How many regressions, improvements, drifts and hotspots each list shows: a reader acts on the
# first few; the per-benchmark sections of the report hold the rest.
TOP = 10
TOP_HOTSPOTS = 5


@dataclass(frozen=True, slots=True)
class Gap:
    """How far a value is from one goal it misses."""

    goal: str
    """``max 2.50 µs``."""
    percent: float | None
    """How far beyond the goal, in percent of the goal (None for a goal of 0)."""
    text: str


def target_gaps(view: BenchmarkView) -> list[Gap]:
    """The goals the latest value misses, with how far."""
    latest = view.latest
    if latest is None or latest.rule is None or latest.check.status != "missed":
        return []
    value = latest.median
    if value is None:
        return []
    rule: TargetRule = latest.rule
    unit = view.unit
    gaps = []
    if rule.max is not None and value > rule.max:
        goal = f"max {format_value(rule.max, unit)}"
        if rule.max > 0:
            percent = 100.0 * (value / rule.max - 1.0)
            gaps.append(Gap(goal, percent, f"{format_percent(percent, signed=False)} over {goal}"))
        else:
            gaps.append(Gap(goal, None, f"{format_value(value - rule.max, unit)} over {goal}"))
    if rule.min is not None and value < rule.min:
        goal = f"min {format_value(rule.min, unit)}"
        under = 100.0 * (1.0 - value / rule.min) if rule.min > 0 else None
        gaps.append(Gap(goal, under, f"{format_percent(under, signed=False)} under {goal}"))
    if rule.min_rate is not None and latest.rate is not None and latest.rate < rule.min_rate:
        goal = f"min_rate {format_rate(rule.min_rate)}"
        percent = 100.0 * (1.0 - latest.rate / rule.min_rate)
        gaps.append(
            Gap(
                goal,
                percent,
                f"{format_rate(latest.rate)}, {format_percent(percent, signed=False)} under {goal}",
            )
        )
    ratio = latest.ratio
    if rule.ratio_max is not None and ratio is not None and ratio > rule.ratio_max:
        goal = f"ratio_max {rule.ratio_max:g}"
        percent = 100.0 * (ratio / rule.ratio_max - 1.0)
        gaps.append(
            Gap(
                goal,
                percent,
                f"ratio {ratio:.3g}, {format_percent(percent, signed=False)} over {goal}",
            )
        )
    if rule.ratio_min is not None and ratio is not None and ratio < rule.ratio_min:
        goal = f"ratio_min {rule.ratio_min:g}"
        percent = 100.0 * (1.0 - ratio / rule.ratio_min)
        gaps.append(
            Gap(
                goal,
                percent,
                f"ratio {ratio:.3g}, {format_percent(percent, signed=False)} under {goal}",
            )
        )
    return gaps


def render_analysis(dashboard: Dashboard, out_dir: Path, *, level: int = 2) -> str:
    """The analysis as Markdown; headings start at ``level`` (2: ``##``)."""
    h = "#" * level
    lines = [f"{h} Analysis", ""]
    if not dashboard.benchmarks:
        lines.append("Nothing to analyse: " + _missing(dashboard))
        return "\n".join(lines) + "\n"
    lines.append(
        f"From {dashboard.run_count} run(s) in {esc(dashboard.db_path)}"
        + (f", targets from {esc(dashboard.targets_source)}" if dashboard.targets_source else "")
        + ". Each claim is followed by the number it rests on."
    )
    lines.append("")
    missed = [(view, target_gaps(view)) for view in dashboard.latest_views]
    missed = [
        (view, gaps)
        for view, gaps in missed
        if view.latest and view.latest.check.status == "missed"
    ]
    missed.sort(key=lambda item: -max((gap.percent or 0.0) for gap in item[1]) if item[1] else 0.0)
    lines += [f"{h}# Targets missed", ""]
    lines += _targets_missed(dashboard, missed)
    regressions, improvements = _changes(dashboard)
    lines += ["", f"{h}# Biggest regressions and change points", ""]
    lines += _regressions(dashboard, regressions, improvements)
    lines += ["", f"{h}# Slow drift", ""]
    lines += _drifts(dashboard)
    lines += ["", f"{h}# Hotspots from the latest profiles", ""]
    lines += _hotspots(dashboard, out_dir)
    lines += ["", f"{h}# Recommendations", ""]
    lines += _recommendations(dashboard, missed, regressions)
    return "\n".join(lines) + "\n"


def _missing(dashboard: Dashboard) -> str:
    return " ".join(dashboard.notes[:1]) or "the history holds no results."


def _name(view: BenchmarkView) -> str:
    return f"**{esc(view.id)}**"


def _targets_missed(
    dashboard: Dashboard, missed: Sequence[tuple[BenchmarkView, list[Gap]]]
) -> list[str]:
    if dashboard.targets_source is None:
        return ["No targets file was given, so no goal was checked (pass `--targets`)."]
    checked = [v for v in dashboard.latest_views if v.latest and v.latest.check.status != "none"]
    if not checked:
        return [
            f"No goal applies to the {len(dashboard.latest_views)} benchmark(s) of the latest "
            "run: no id in the targets file matches them (or their goals could not be checked)."
        ]
    if not missed:
        return [f"None: all {len(checked)} checked goal(s) of the latest run are met."]
    lines = [f"{len(missed)} of {len(checked)} checked benchmark(s) miss their goal:", ""]
    for view, gaps in missed:
        assert view.latest is not None and view.latest.median is not None
        value = format_value(view.latest.median, view.unit)
        detail = "; ".join(gap.text for gap in gaps) or "; ".join(view.latest.check.reasons)
        lines.append(f"- {_name(view)}: {esc(value)}: {esc(detail)}")
    return lines


def _changes(dashboard: Dashboard) -> tuple[list[tuple[BenchmarkView, TrendChange]], ...]:
    regressions: list[tuple[BenchmarkView, TrendChange]] = []
    improvements: list[tuple[BenchmarkView, TrendChange]] = []
    for view in dashboard.benchmarks:
        for change in view.changes:
            (regressions if change.kind == "regression" else improvements).append((view, change))

    def size(item: tuple[BenchmarkView, TrendChange]) -> float:
        return -abs(item[1].percent or 0.0)

    return sorted(regressions, key=size), sorted(improvements, key=size)


def _change_text(view: BenchmarkView, change: TrendChange) -> str:
    point = change.point
    severity = f" ({change.severity})" if change.severity else ""
    basis = f"; on {esc(view.basis.label)}" if view.basis.kind != "value" else ""
    return (
        f"{_name(view)}: {format_percent(change.percent)}{severity} between "
        f"{esc(change.commit_range)} ({format_day(change.to_run.time)}): median "
        f"{esc(format_value(point.before, view.unit))} → {esc(format_value(point.after, view.unit))}, "
        f"p = {point.pvalue:.2g}{basis}"
    )


def _regressions(
    dashboard: Dashboard,
    regressions: Sequence[tuple[BenchmarkView, TrendChange]],
    improvements: Sequence[tuple[BenchmarkView, TrendChange]],
) -> list[str]:
    lines = []
    flagged = [v for v in dashboard.verdicts if v.verdict in ("regressed", "improved")]
    if dashboard.verdicts:
        lines.append(
            f"Regression gate, latest run: {sum(v.verdict == 'regressed' for v in flagged)} "
            f"regressed, {sum(v.verdict == 'improved' for v in flagged)} improved of "
            f"{len(dashboard.verdicts)} compared."
        )
        lines.append("")
        for verdict in sorted(flagged, key=lambda v: -abs(v.percent or 0.0))[:TOP]:
            ci = ""
            if verdict.ci_low is not None and verdict.ci_high is not None:
                ci = (
                    f" [95 % CI {format_percent(100 * (verdict.ci_low - 1))}, "
                    f"{format_percent(100 * (verdict.ci_high - 1))}]"
                )
            q = f", q = {verdict.q:.2g}" if verdict.q is not None else ""
            channel = f", {esc(verdict.channel)} channel" if verdict.channel else ""
            severity = f" ({esc(verdict.severity)})" if verdict.severity else ""
            lines.append(
                f"- **{esc(verdict.benchmark)}**: {esc(verdict.verdict or '')}{severity}, effect "
                f"{format_percent(verdict.percent)}{ci}{q}{channel}"
            )
        lines.append("")
    if not regressions and not improvements:
        lines.append(
            "No change point in any benchmark's history (E-divisive, p < 1e-4, steps of 5 % or "
            "more)."
        )
        return lines
    lines.append(
        f"Change points in the history: {len(regressions)} regression(s), "
        f"{len(improvements)} improvement(s) (E-divisive via Apache Otava; magnitude = change "
        "of the median between the segments either side)."
    )
    lines.append("")
    for view, change in regressions[:TOP]:
        lines.append(f"- regression: {_change_text(view, change)}")
    for view, change in improvements[:TOP]:
        lines.append(f"- improvement: {_change_text(view, change)}")
    hidden = max(0, len(regressions) - TOP) + max(0, len(improvements) - TOP)
    if hidden:
        lines.append(f"- … and {hidden} more in the benchmark sections below.")
    return lines


def _drift_text(view: BenchmarkView) -> str:
    assert view.drift is not None
    fit, per = view.drift.fit, view.drift.per
    return (
        f"{_name(view)}: {format_percent(fit.percent)} per {per} "
        f"[95 % CI {format_percent(fit.percent_low)}, {format_percent(fit.percent_high)}] "
        f"over {fit.points} points"
        + (" since its last change point" if view.changes else "")
        + f", {format_percent(view.drift.total_percent)} in all"
    )


def _drifts(dashboard: Dashboard) -> list[str]:
    drifting = [
        view for view in dashboard.benchmarks if view.drift is not None and view.drift.notable
    ]
    fitted = sum(view.drift is not None for view in dashboard.benchmarks)
    if not fitted:
        return [
            "Not fitted: no benchmark has 8 points since its last change point (Theil-Sen "
            "needs them for a useful interval)."
        ]
    if not drifting:
        return [
            f"None: of {fitted} benchmark(s) with enough points for a Theil-Sen fit, none moves "
            "5 % or more over its span with a 95 % interval that excludes zero."
        ]
    drifting.sort(key=lambda view: -abs(view.drift.fit.percent or 0.0) if view.drift else 0.0)
    lines = []
    for view in drifting[:TOP]:
        assert view.drift is not None
        direction = "worsening" if view.drift.worsening else "improving"
        lines.append(f"- {direction}: {_drift_text(view)}")
    return lines


def _hotspots(dashboard: Dashboard, out_dir: Path) -> list[str]:
    if not dashboard.profiles:
        return ["No profile captures in the history (`perfkit-report ingest-profile DIR`)."]
    lines = []
    for profile in dashboard.profiles:
        lines += _profile_lines(profile, out_dir)
    return lines


def _profile_lines(profile: ProfileView, out_dir: Path) -> list[str]:
    capture = profile.capture
    header = f"- target **{esc(profile.target)}**"
    if capture is None:
        return [header + ": " + esc("; ".join(profile.problems) or "summary unreadable")]
    lines = [header + _capture_text(capture), *_spot_lines(capture)]
    links = [f"[{esc(name)}]({relative_link(path, out_dir)})" for name, path in profile.links]
    if links:
        lines.append("    - files: " + ", ".join(links))
    for problem in profile.problems:
        lines.append(f"    - missing: {esc(problem)}")
    return lines


def _spot_lines(capture: ProfileCapture) -> list[str]:
    """The capture's hotspots: py-spy's top CPU frames (self and total time), scalene's CPU
    shares, memray's allocation sites."""
    lines = []
    for spot in capture.top_frames[:TOP_HOTSPOTS]:
        own = format_percent(spot.cpu_percent, signed=False)
        total = format_percent(spot.total_percent, signed=False)
        lines.append(
            f"    - CPU frame (py-spy) self {own}, total {total}: "
            f"{esc(spot.function)} ({esc(spot.where)})"
        )
    for spot in capture.top_cpu[:TOP_HOTSPOTS]:
        share = format_percent(spot.cpu_percent, signed=False)
        lines.append(f"    - CPU {share}: {esc(spot.function)} ({esc(spot.where)})")
    for spot in capture.top_alloc[:TOP_HOTSPOTS]:
        amount = format_value(spot.bytes, "byte") if spot.bytes is not None else "?"
        count = f" in {spot.count:,} allocations" if spot.count is not None else ""
        lines.append(f"    - allocated {amount}{count}: {esc(spot.function)} ({esc(spot.where)})")
    return lines or ["    - the summary lists no hotspots"]


def _capture_text(capture: ProfileCapture) -> str:
    """When, at which commit, what, and how much memory a capture took."""
    text = f", captured {esc(capture.captured[:16].replace('T', ' '))} UTC"
    if capture.commit:
        text += f" at {esc(capture.commit[:12])}"
    if capture.workload:
        text += f" ({esc(capture.workload)})"
    if capture.peak_memory_bytes is not None:
        text += f"; peak memory {format_value(capture.peak_memory_bytes, 'byte')}"
    if capture.allocations is not None:
        text += f", {capture.allocations:,} allocations"
    return text


def _recommendations(
    dashboard: Dashboard,
    missed: Sequence[tuple[BenchmarkView, list[Gap]]],
    regressions: Sequence[tuple[BenchmarkView, TrendChange]],
) -> list[str]:
    items = [_missed_item(dashboard, view, gaps) for view, gaps in missed[:TOP]]
    items += _regression_items(missed, regressions)
    items += [
        f"{_name(view)} drifts {format_percent(view.drift.fit.percent)} per "
        f"{view.drift.per} ({format_percent(view.drift.total_percent)} in all): no single "
        "commit to blame; compare profiles across the period."
        for view in dashboard.benchmarks
        if view.drift is not None and view.drift.notable and view.drift.worsening
    ]
    few = [view for view in dashboard.benchmarks if view.trend_basis == "none"]
    if few:
        items.append(
            f"{len(few)} benchmark(s) have too few runs in their series for a trend: run "
            "`inv bench` on more commits (in one mode: modes are separate series)."
        )
    if dashboard.targets_source is None and dashboard.benchmarks:
        items.append(
            "Pass `--targets benchmarks/targets.toml` so goals and severities are checked."
        )
    if not items:
        items.append("Nothing needs action: every checked goal is met and no regression was found.")
    return [f"{index}. {item}" for index, item in enumerate(items[: 2 * TOP], start=1)]


def _missed_item(dashboard: Dashboard, view: BenchmarkView, gaps: Sequence[Gap]) -> str:
    """Where to start on a missed goal: the step that caused it, else the profile's hotspot."""
    gap = "; ".join(gap.text for gap in gaps) or "misses its goal"
    change = _last_regression(view)
    if change is not None:
        return (
            f"{_name(view)} ({esc(gap)}) stepped {format_percent(change.percent)} between "
            f"{esc(change.commit_range)}: bisect that range first."
        )
    profile = dashboard.profile_for(view.target)
    spots = (
        (profile.capture.top_frames or profile.capture.top_cpu)
        if profile and profile.capture
        else ()
    )
    if profile is not None and spots:
        spot = spots[0]
        return (
            f"{_name(view)} ({esc(gap)}) has no step in its history, so the gap is in the "
            f"design: start from {esc(spot.function)} ({esc(spot.where)}), "
            f"{format_percent(spot.cpu_percent, signed=False)} of CPU in the latest "
            f"{esc(profile.target)} profile."
        )
    if view.target:
        return (
            f"{_name(view)} ({esc(gap)}) has no step in its history and no profile: profile "
            f"it with `inv profile --target {esc(view.target)}`."
        )
    return f"{_name(view)} ({esc(gap)}): profile its workload to find where."


def _regression_items(
    missed: Sequence[tuple[BenchmarkView, list[Gap]]],
    regressions: Sequence[tuple[BenchmarkView, TrendChange]],
) -> list[str]:
    """The largest steps of benchmarks that miss no goal (a benchmark once, at its largest)."""
    regressed = {view.id: change for view, change in reversed(regressions)}
    missing = {view.id for view, _ in missed}
    items = []
    for view, change in regressions[:TOP]:
        if view.id in missing or regressed.get(view.id) is not change:
            continue
        status = view.latest.check.status if view.latest is not None else "none"
        standing = "still meets its goal" if status == "met" else "misses no goal"
        items.append(
            f"{_name(view)} {standing} but stepped {format_percent(change.percent)} "
            f"between {esc(change.commit_range)}: check that the cost was intended."
        )
    return items


def _last_regression(view: BenchmarkView) -> TrendChange | None:
    return next((c for c in reversed(view.changes) if c.kind == "regression"), None)
