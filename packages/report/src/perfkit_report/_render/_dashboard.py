"""The dashboard: everything the reports show, computed once from history.db and a targets file.

``build_dashboard`` reads the history (runs, result summaries, baselines, the gate's verdicts,
profile captures), checks the latest run against the targets, runs the trend analysis on every
benchmark's series, and returns a ``Dashboard``: plain frozen data that the Markdown and HTML
renderers turn into text. Nothing here formats for a medium or escapes anything; the renderers
do, so each medium's escaping lives in one place.

Which numbers the trend analysis reads (``_trend``):

- ``MIN_RUNS_PER_RUN`` runs or more: one value per chart point (a run, or a day for long
  histories): between-run noise is then visible in the series itself;
- fewer runs (a new history, or a comparison of a few interpreters as in pyperf's own files):
  the per-process medians of each run, with steps moved to run boundaries, since a handful of
  run medians can never reach significance. Such steps rest on the spread between worker
  processes only, and the reports say so.

Drift is fitted on the points after the last change point, so a step is not mistaken for drift;
its x is days when the points span at least ``MIN_DRIFT_DAYS`` days, otherwise the run position.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from perfkit_report._history import (
    History,
    ProfileCapture,
    ProfileRecord,
    ResultRow,
    RunHeader,
    RunRecord,
    VerdictRecord,
    format_timestamp,
    now_utc,
)
from perfkit_report._render._series import (
    BenchmarkSeries,
    Point,
    RunInfo,
    build_series,
    run_time,
)
from perfkit_report._render._trend import (
    DEFAULT_MIN_CHANGE,
    MIN_POINTS_FOR_CHANGES,
    MIN_POINTS_FOR_DRIFT,
    ChangePoint,
    Drift,
    change_points,
    change_points_between_groups,
    drift,
)
from perfkit_report._targets import TargetCheck, TargetRule, Targets

__all__ = [
    "BaselineMark",
    "BenchmarkView",
    "Dashboard",
    "LatencyGroup",
    "LatestValue",
    "ProfileView",
    "TrendChange",
    "TrendDrift",
    "build_dashboard",
    "ratio_goals",
    "relative_link",
    "run_label",
]

# At or above this many runs, trends are computed on one value per run (or day); below it, on
# the per-process medians (see the module docstring). Ten runs give five a side for a step in
# the middle: about the least for a t-test on run medians to reach p < 1e-4.
MIN_RUNS_PER_RUN = 10
# Drift is quoted per day only when the points span this many days; over a shorter span a
# per-day slope extrapolates minutes of data to a day, so the slope is given per run instead.
MIN_DRIFT_DAYS = 2.0
# Latency benchmarks are stored as <scenario>.p50/.p95/.p99 (perfkit-bench, kind latency).
_PERCENTILE = re.compile(r"p\d{1,2}(\.\d+)?")
_SHORT_COMMIT = 12

Direction = Literal["lower", "higher"]


@dataclass(frozen=True, slots=True)
class TrendChange:
    """A change point placed in the history, with what a reader needs to act on it."""

    point: ChangePoint
    x: float
    """Epoch seconds of the first point after the step (where the chart marks it)."""
    from_run: RunInfo
    """The last run before the step."""
    to_run: RunInfo
    """The first run after the step."""
    kind: Literal["regression", "improvement"]
    severity: str | None
    """minor / major / critical from the targets' severity bands, when configured."""

    @property
    def percent(self) -> float | None:
        """The relative change in percent (after / before - 1)."""
        change = self.point.change
        return None if change is None else 100.0 * change

    @property
    def commit_range(self) -> str:
        """``abc123..def456`` (short commits; ``run N`` where a run has no commit)."""
        return f"{run_label(self.from_run)}..{run_label(self.to_run)}"


@dataclass(frozen=True, slots=True)
class TrendDrift:
    """A Theil-Sen drift over the points since the last change point."""

    fit: Drift
    per: Literal["day", "run"]
    span: float
    """Days (or runs) between the first and last fitted point."""
    worsening: bool
    """True when the slope moves the wrong way (up for lower-is-better)."""

    @property
    def total_percent(self) -> float | None:
        """How far the fitted line moves over the whole span, in percent of the median."""
        return None if self.fit.percent is None else self.fit.percent * self.span

    @property
    def notable(self) -> bool:
        """Significant *and* worth reading: the line moves at least DEFAULT_MIN_CHANGE over its
        span (a slope of 0.01 %/day can be significant on a quiet series and mean nothing)."""
        total = self.total_percent
        return self.fit.significant and total is not None and abs(total) >= 100 * DEFAULT_MIN_CHANGE


@dataclass(frozen=True, slots=True)
class LatestValue:
    """A benchmark in the latest run, checked against its target."""

    median: float | None
    p5: float | None
    p95: float | None
    rate: float | None
    """Operations per second for time metrics (1 / median)."""
    reference: str | None
    ratio: float | None
    rule: TargetRule | None
    check: TargetCheck


@dataclass(frozen=True, slots=True)
class BaselineMark:
    """A named baseline run that measured this benchmark."""

    name: str
    run: RunInfo
    x: float
    value: float | None


@dataclass(frozen=True, slots=True)
class BenchmarkView:
    """One benchmark: its series, latest value, trend and what is missing."""

    id: str
    suite: str
    target: str | None
    metric: str
    unit: str
    direction: Direction
    series: BenchmarkSeries
    latest: LatestValue | None
    """None when the latest run did not measure it."""
    changes: tuple[TrendChange, ...]
    drift: TrendDrift | None
    trend_basis: Literal["runs", "days", "processes", "none"]
    baselines: tuple[BaselineMark, ...]
    verdict: VerdictRecord | None
    notes: tuple[str, ...]
    """What is missing or was skipped, in words."""

    @property
    def latency_scenario(self) -> str | None:
        """``load.tell`` for ``load.tell.p99``; None for other benchmarks."""
        head, _, last = self.id.rpartition(".")
        if head and self.unit == "second" and _PERCENTILE.fullmatch(last):
            return head
        return None


@dataclass(frozen=True, slots=True)
class LatencyGroup:
    """The percentile benchmarks of one load scenario, charted together."""

    scenario: str
    suite: str
    members: tuple[BenchmarkView, ...]


@dataclass(frozen=True, slots=True)
class ProfileView:
    """The latest capture of one target, with its files checked."""

    record: ProfileRecord
    capture: ProfileCapture | None
    files: tuple[tuple[str, Path, bool], ...]
    """(role, absolute path, exists)."""
    problems: tuple[str, ...]

    @property
    def target(self) -> str:
        """The workload family the capture profiled."""
        return self.record.target or (self.capture.target if self.capture else "?")


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything a report shows."""

    generated: str
    db_path: str
    targets_source: str | None
    run_count: int
    first_run: RunInfo | None
    latest_run: RunRecord | None
    benchmarks: tuple[BenchmarkView, ...]
    verdicts: tuple[VerdictRecord, ...]
    profiles: tuple[ProfileView, ...]
    notes: tuple[str, ...]
    runs: Mapping[int, RunInfo] = field(repr=False)

    @property
    def suites(self) -> list[str]:
        """Suite names, sorted."""
        return sorted({view.suite for view in self.benchmarks})

    def in_suite(self, suite: str) -> list[BenchmarkView | LatencyGroup]:
        """The suite's cards in id order: latency percentiles grouped per scenario."""
        cards: list[BenchmarkView | LatencyGroup] = []
        groups: dict[str, list[BenchmarkView]] = {}
        for view in self.benchmarks:
            if view.suite != suite:
                continue
            scenario = view.latency_scenario
            if scenario is None:
                cards.append(view)
                continue
            if scenario not in groups:
                groups[scenario] = []
                cards.append(LatencyGroup(scenario, suite, ()))
            groups[scenario].append(view)
        return [
            LatencyGroup(card.scenario, suite, tuple(groups[card.scenario]))
            if isinstance(card, LatencyGroup)
            else card
            for card in cards
        ]

    @property
    def aggregated(self) -> list[BenchmarkView]:
        """Benchmarks shown one point per day (or per few days)."""
        return [view for view in self.benchmarks if view.series.bucket_days]

    @property
    def latest_views(self) -> list[BenchmarkView]:
        """Benchmarks the latest run measured."""
        return [view for view in self.benchmarks if view.latest is not None]

    @property
    def referenced_views(self) -> list[BenchmarkView]:
        """Benchmarks of the latest run that name a reference benchmark."""
        return [
            view
            for view in self.benchmarks
            if view.latest is not None and view.latest.reference is not None
        ]

    def profile_for(self, target: str | None) -> ProfileView | None:
        """The latest capture of a target."""
        if target is None:
            return None
        return next((view for view in self.profiles if view.target == target), None)


@dataclass(frozen=True, slots=True)
class _Context:
    """What every benchmark's view is computed from."""

    history: History
    runs: Mapping[int, RunInfo]
    targets: Targets | None
    latest_rows: Mapping[str, tuple[float | None, float | None, float | None]]
    references: Mapping[str, str]
    baselines: Sequence[tuple[str, RunInfo]]
    baseline_values: Mapping[tuple[int, str], float]
    verdicts: Mapping[str, VerdictRecord]


def build_dashboard(history: History, targets: Targets | None) -> Dashboard:
    """Read the history and compute everything the reports show."""
    runs = {header.id: _run_info(header) for header in history.run_headers()}
    latest = history.latest_run()
    all_series = build_series(_drawn(history.result_rows()), runs)
    verdicts = history.verdicts(latest.id) if latest is not None else ()
    baselines = [
        (baseline.name, runs[baseline.run_id])
        for baseline in history.baselines()
        if baseline.run_id in runs
    ]
    context = _Context(
        history=history,
        runs=runs,
        targets=targets,
        latest_rows=_latest_rows(history, latest),
        references=_references(history, latest),
        baselines=baselines,
        baseline_values=_baseline_values(history, [run.id for _, run in baselines]),
        verdicts={verdict.benchmark: verdict for verdict in verdicts},
    )
    views = [
        _view(context, series)
        for series in sorted(all_series, key=lambda s: (s.suite, s.benchmark))
    ]
    profiles = tuple(_profile_views(history.profiles()))
    first = min(runs.values(), key=lambda run: (run.time, run.id)) if runs else None
    return Dashboard(
        generated=format_timestamp(now_utc()),
        db_path=str(history.path),
        targets_source=targets.source if targets is not None else None,
        run_count=len(runs),
        first_run=first,
        latest_run=latest,
        benchmarks=tuple(views),
        verdicts=verdicts,
        profiles=profiles,
        notes=tuple(_notes(runs, latest, targets, verdicts, profiles, views)),
        runs=runs,
    )


def relative_link(path: Path, out_dir: Path) -> str:
    """A URL for ``path`` relative to the report folder (works from file:// and on GitHub)."""
    relative = os.path.relpath(path.absolute(), out_dir.absolute())
    return quote(Path(relative).as_posix())


def _run_info(header: RunHeader) -> RunInfo:
    return RunInfo(
        id=header.id,
        time=run_time(header.started, header.ingested_at),
        started=header.started,
        commit=header.commit_sha,
        branch=header.branch,
        python=_python_version(header.fingerprint),
    )


def _python_version(fingerprint: Mapping[str, object]) -> str | None:
    """``3.6.12`` from pyperf's python_version or perfkit's python fingerprint entry."""
    text = str(fingerprint.get("python_version") or fingerprint.get("python") or "")
    found = re.search(r"\d+\.\d+(\.\d+)?", text)
    return found.group(0) if found else None


def run_label(run: RunInfo) -> str:
    """A short commit, or ``run N (Python 3.x)`` for runs without one."""
    if run.commit:
        return run.commit[:_SHORT_COMMIT]
    # Third-party files often compare interpreters, not commits: name the Python when known.
    return f"run {run.id} (Python {run.python})" if run.python else f"run {run.id}"


def _latest_rows(
    history: History, latest: RunRecord | None
) -> dict[str, tuple[float | None, float | None, float | None]]:
    """benchmark -> (median, p5, p95) in the latest run."""
    if latest is None:
        return {}
    return {
        row.benchmark: (row.median, row.p5, row.p95)
        for row in _drawn(history.result_rows([latest.id]))
    }


def _references(history: History, latest: RunRecord | None) -> dict[str, str]:
    return history.references(latest.id) if latest is not None else {}


def _baseline_values(history: History, run_ids: Sequence[int]) -> dict[tuple[int, str], float]:
    rows = _drawn(history.result_rows(sorted(set(run_ids)))) if run_ids else []
    return {(row.run_id, row.benchmark): row.median for row in rows if row.median is not None}


def _drawn(rows: list[ResultRow]) -> list[ResultRow]:
    """The rows the dashboard draws: one series per benchmark, so a benchmark's CPU-time rows
    (metric ``cpu_time``, beside its wall-time ``time`` rows) are left to a view of their own."""
    return [row for row in rows if row.metric != "cpu_time"]


def _direction(series: BenchmarkSeries, targets: Targets | None) -> Direction:
    if targets is not None and targets.rule_for(series.benchmark) is not None:
        return targets.direction_for(series.benchmark)
    # Without a rule: throughput-like counts are better higher; times and bytes lower.
    return "higher" if series.metric == "throughput" else "lower"


def _view(context: _Context, series: BenchmarkSeries) -> BenchmarkView:
    notes: list[str] = []
    if series.skipped:
        notes.append(
            f"{series.skipped} stored result(s) without a finite median were left out "
            "(a damaged row: re-ingest that run's file)"
        )
    direction = _direction(series, context.targets)
    latest = _latest_value(context, series)
    if latest is None and context.latest_rows:
        notes.append("not measured by the latest run")
    basis, found = _changes(context, series, notes)
    classify = _classifier(series.benchmark, direction, context.targets)
    changes = tuple(
        TrendChange(point, x, before, after, *classify(point)) for point, x, before, after in found
    )
    trend_drift = _drift(series, changes, direction, notes)
    marks = []
    for name, run in context.baselines:
        value = context.baseline_values.get((run.id, series.benchmark))
        if value is None:
            continue
        x = next((p.x for p in series.points if p.first_run <= run.id <= p.last_run), run.time)
        marks.append(BaselineMark(name, run, x, value))
    return BenchmarkView(
        id=series.benchmark,
        suite=series.suite,
        target=series.target,
        metric=series.metric,
        unit=series.unit,
        direction=direction,
        series=series,
        latest=latest,
        changes=changes,
        drift=trend_drift,
        trend_basis=basis,
        baselines=tuple(marks),
        verdict=context.verdicts.get(series.benchmark),
        notes=tuple(notes),
    )


def _latest_value(context: _Context, series: BenchmarkSeries) -> LatestValue | None:
    rows = context.latest_rows
    if series.benchmark not in rows:
        return None
    median, p5, p95 = rows[series.benchmark]
    reference = context.references.get(series.benchmark)
    ratio = None
    if reference is not None and reference in rows:
        ref_median = rows[reference][0]
        if median is not None and ref_median is not None and ref_median > 0:
            ratio = median / ref_median
    rate = 1.0 / median if series.metric == "time" and median is not None and median > 0 else None
    rule = context.targets.rule_for(series.benchmark) if context.targets is not None else None
    if median is None:
        check = TargetCheck("none", ("the latest value is not a finite number",))
    elif rule is not None:
        check = rule.check(median, series.unit, ratio)
    else:
        check = TargetCheck("none")
    if reference is not None and reference not in rows:
        check = TargetCheck(
            check.status, (*check.reasons, f"reference {reference!r} is not in the latest run")
        )
    return LatestValue(median, p5, p95, rate, reference, ratio, rule, check)


_Classify = Callable[[ChangePoint], tuple[Literal["regression", "improvement"], str | None]]


def _classifier(benchmark: str, direction: Direction, targets: Targets | None) -> _Classify:
    bands = targets.severity_for(benchmark) if targets is not None else None

    def classify(point: ChangePoint) -> tuple[Literal["regression", "improvement"], str | None]:
        change = point.change or 0.0
        worse = change > 0 if direction == "lower" else change < 0
        if not worse:
            return "improvement", None  # severity bands grade regressions only
        severity = bands.classify(abs(change) * 100.0) if bands is not None else None
        return "regression", severity

    return classify


def _changes(
    context: _Context, series: BenchmarkSeries, notes: list[str]
) -> tuple[
    Literal["runs", "days", "processes", "none"],
    list[tuple[ChangePoint, float, RunInfo, RunInfo]],
]:
    points = series.points
    found: list[ChangePoint]
    if len(points) >= MIN_RUNS_PER_RUN or (series.bucket_days and len(points) >= 2):
        basis: Literal["runs", "days", "processes", "none"] = (
            "days" if series.bucket_days else "runs"
        )
        if len(points) < MIN_POINTS_FOR_CHANGES:
            notes.append(
                f"{len(points)} points: change points need at least {MIN_POINTS_FOR_CHANGES}"
            )
            return "none", []
        found = change_points([point.median for point in points])
    elif len(points) >= 2:
        groups = _process_groups(context.history, series, points)
        if groups is None:
            notes.append(
                f"{len(points)} runs and no per-process values (pruned): change points need "
                f"{MIN_RUNS_PER_RUN} runs; keep running `inv bench`"
            )
            return "none", []
        basis = "processes"
        found = change_points_between_groups(groups)
    else:
        notes.append(
            f"{len(points)} point{'s' if len(points) != 1 else ''}: no trend yet (change points "
            f"need {MIN_RUNS_PER_RUN} runs, or 2 runs with per-process values); "
            "keep running `inv bench`"
        )
        return "none", []
    placed = []
    for point in found:
        before, after = points[point.index - 1], points[point.index]
        placed.append(
            (point, after.x, context.runs[before.last_run], context.runs[after.first_run])
        )
    return basis, placed


def _process_groups(
    history: History, series: BenchmarkSeries, points: Sequence[Point]
) -> list[list[float]] | None:
    """Each run's per-process medians, in point order; None if any run lacks them."""
    wanted = [point.first_run for point in points]
    stored = history.process_medians(series.benchmark, wanted)
    groups = []
    for run_id in wanted:
        finite = stored.get(run_id)
        if not finite:  # pruned, unreadable, or no finite value
            return None
        groups.append(list(finite))
    return groups


def _drift(
    series: BenchmarkSeries,
    changes: Sequence[TrendChange],
    direction: Direction,
    notes: list[str],
) -> TrendDrift | None:
    points = list(series.points)
    if changes and series.bucket_days == 0 and len(points) < MIN_RUNS_PER_RUN:
        return None  # steps between a few runs: nothing left to fit a slope on
    start = changes[-1].point.index if changes else 0
    segment = points[start:]
    if len(segment) < MIN_POINTS_FOR_DRIFT:
        if len(points) >= MIN_POINTS_FOR_DRIFT:
            notes.append(
                f"drift not fitted: {len(segment)} points since the last change point "
                f"(needs {MIN_POINTS_FOR_DRIFT})"
            )
        return None
    span_days = (segment[-1].x - segment[0].x) / 86_400.0
    per: Literal["day", "run"] = "day" if span_days >= MIN_DRIFT_DAYS else "run"
    xs = (
        [(point.x - segment[0].x) / 86_400.0 for point in segment]
        if per == "day"
        else [float(index) for index in range(len(segment))]
    )
    fit = drift(xs, [point.median for point in segment])
    if fit is None:
        return None
    worsening = fit.slope > 0 if direction == "lower" else fit.slope < 0
    return TrendDrift(fit, per, xs[-1] - xs[0], worsening)


def _profile_views(records: Sequence[ProfileRecord]) -> list[ProfileView]:
    """The newest capture of each target (records come newest first)."""
    seen: set[str] = set()
    views = []
    for record in records:
        key = record.target or (record.capture.target if record.capture else "")
        if key in seen:
            continue
        seen.add(key)
        problems = []
        files: list[tuple[str, Path, bool]] = []
        folder = Path(record.path)
        if not folder.is_dir():
            problems.append(f"the capture folder {record.path} is missing")
        if record.problem:
            problems.append(record.problem)
        capture = record.capture
        if capture is not None:
            for role in sorted(capture.files):
                path = capture.file_path(role)
                exists = path.is_file()
                files.append((role, path, exists))
                if not exists and folder.is_dir():
                    problems.append(f"{role} file {capture.files[role]} is missing")
            problems.extend(f"profiler error: {error}" for error in capture.errors)
        views.append(ProfileView(record, capture, tuple(files), tuple(problems)))
    return views


def _notes(
    runs: Mapping[int, RunInfo],
    latest: RunRecord | None,
    targets: Targets | None,
    verdicts: Sequence[VerdictRecord],
    profiles: Sequence[ProfileView],
    views: Sequence[BenchmarkView],
) -> list[str]:
    notes = []
    if not runs:
        notes.append(
            "The history holds no runs yet: run `inv bench` (or `perfkit-report ingest FILE`), "
            "then `inv report`."
        )
    elif not views:
        notes.append("The history's runs hold no results.")
    if targets is None:
        notes.append(
            "No targets file: pass `--targets benchmarks/targets.toml` to check goals and "
            "classify severity."
        )
    if latest is not None and not verdicts:
        notes.append(
            "No regression-gate verdicts for the latest run (`nox -s regression` writes them); "
            "regressions below come from the trend analysis."
        )
    if not profiles:
        notes.append(
            "No profiles yet: `inv profile --target NAME`, then "
            "`perfkit-report ingest-profile profiles/CAPTURE`."
        )
    if latest is not None and latest.status == "partial":
        # Notes mark commands with backticks; a backtick in a benchmark id must not open one.
        failed = ", ".join(str(f.get("id", "?")).replace("`", "'") for f in latest.failed)
        notes.append(f"The latest run is partial: {failed} failed.")
    aggregated = [view for view in views if view.series.bucket_days]
    if aggregated:
        days = max(view.series.bucket_days for view in aggregated)
        unit = "day" if days == 1 else f"{days} days"
        notes.append(
            f"{len(aggregated)} benchmark(s) have long histories and are shown one point per "
            f"{unit} (the median of its runs' medians; the band spans their lowest p5 to "
            "highest p95); trends are computed on those points."
        )
    return notes


def ratio_goals(rule: TargetRule | None) -> str:
    """The ratio goals of a target rule as text (``≤ 1, ≥ 0.5``), or ``—`` when it has none."""
    goals = []
    if rule is not None and rule.ratio_max is not None:
        goals.append(f"≤ {rule.ratio_max:g}")
    if rule is not None and rule.ratio_min is not None:
        goals.append(f"≥ {rule.ratio_min:g}")
    return ", ".join(goals) or "—"
