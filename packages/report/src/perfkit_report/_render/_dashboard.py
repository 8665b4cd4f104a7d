"""The dashboard: everything the reports show, computed once from history.db and a targets file.

``build_dashboard`` reads the history (runs, result summaries, baselines, the gate's verdicts,
profile captures), checks the latest run against the targets, runs the trend analysis on every
benchmark's series, and returns a ``Dashboard``: plain frozen data that the Markdown and HTML
renderers turn into text. Nothing here formats for a medium or escapes anything; the renderers
do, so each medium's escaping lives in one place.

Which numbers the trend analysis reads: one series per benchmark, of the family (mode and
machine) of its latest run (``_basis.cards``); on it the steadiest basis it has, CPU time, else
the ratio to its same-run reference, else the value (``_basis.choose_basis``); one value per run.
Change points are those that stand out of the run-to-run noise and are confirmed
(``_steady``); the chart shows the basis with its noise band around each level (one point per
day for long histories). Worker processes of one run are never a trend's evidence: their spread
is not the spread between runs (a busy hour moves every process of a run alike).

Drift is fitted on the values after the last change point, so a step is not mistaken for drift;
its x is days when the values span at least ``MIN_DRIFT_DAYS`` days, otherwise the run position.
"""

from __future__ import annotations

import dataclasses
import math
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
from perfkit_report._render._basis import (
    CPU_METRIC,
    TrendBasis,
    cards,
    choose_basis,
    family_note,
)
from perfkit_report._render._series import (
    BenchmarkSeries,
    Point,
    RunInfo,
    aggregate,
    build_series,
    run_time,
)
from perfkit_report._render._steady import (
    BAND_SIGMAS,
    CONFIRM_RUNS,
    Noise,
    Pending,
    RunValue,
    SteadyTrend,
    analyse,
)
from perfkit_report._render._trend import (
    DEFAULT_ENGINE,
    DEFAULT_MIN_CHANGE,
    MIN_POINTS_FOR_CHANGES,
    MIN_POINTS_FOR_DRIFT,
    ChangePoint,
    Drift,
    drift,
)
from perfkit_report._targets import TargetCheck, TargetRule, Targets

__all__ = [
    "PROFILE_PAGES",
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

# The pages of a profile capture (summary.json ``files`` roles), as the reports name and order
# them: py-spy's CPU flame graph beside scalene's page and memray's two flame graphs.
PROFILE_PAGES = (
    ("pyspy_flamegraph", "CPU flame graph"),
    ("scalene_html", "scalene"),
    ("memray_flamegraph", "memray peak memory"),
    ("memray_leaks", "memray leaks"),
)
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
    trend_basis: Literal["runs", "none"]
    """``runs``: change points were looked for (enough runs); ``none``: too few runs."""
    baselines: tuple[BaselineMark, ...]
    verdict: VerdictRecord | None
    notes: tuple[str, ...]
    """What is missing or was skipped, in words."""
    basis: TrendBasis
    """What the trend, the chart and the change points read."""
    noise: Noise | None = None
    """The run-to-run noise of the basis."""
    pending: Pending | None = None
    """The last runs lie out of the noise band: a step not yet confirmed."""

    @property
    def basis_text(self) -> str:
        """What the trend reads and how noisy it is, in words (unescaped)."""
        text = f"trend on {self.basis.label}"
        if self.noise is not None:
            sigma = 100.0 * self.noise.sigma
            text += (
                f"; run-to-run noise {sigma:.1f} % ({self.noise.source}), band "
                f"±{BAND_SIGMAS * sigma:.1f} %"
            )
        return text

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

    @property
    def pages(self) -> list[tuple[str, Path]]:
        """The capture's HTML pages that exist, named for people, in PROFILE_PAGES order."""
        present = {role: path for role, path, exists in self.files if exists}
        return [(label, present[role]) for role, label in PROFILE_PAGES if role in present]

    @property
    def links(self) -> list[tuple[str, Path]]:
        """Every file that exists: the pages first (named), then the rest by role."""
        pages = {role for role, _ in PROFILE_PAGES}
        rest = [(role, path) for role, path, exists in self.files if exists and role not in pages]
        return [*self.pages, *rest]


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

    runs: Mapping[int, RunInfo]
    targets: Targets | None
    latest_rows: Mapping[str, tuple[float | None, float | None, float | None]]
    references: Mapping[str, str]
    baselines: Sequence[tuple[str, RunInfo]]
    baseline_values: Mapping[tuple[int, str], float]
    verdicts: Mapping[str, VerdictRecord]
    index: Mapping[tuple[str, str, str], BenchmarkSeries]
    engine: str


def build_dashboard(
    history: History, targets: Targets | None, *, engine: str = DEFAULT_ENGINE
) -> Dashboard:
    """Read the history and compute everything the reports show; ``engine`` finds the change
    points (``_trend.ENGINES``)."""
    runs = {header.id: _run_info(header) for header in history.run_headers()}
    latest = history.latest_run()
    # One point per run: the trend reads runs; the charts are aggregated afterwards.
    all_series = build_series(history.result_rows(), runs, max_points=2**62)
    verdicts = history.verdicts(latest.id) if latest is not None else ()
    baselines = [
        (baseline.name, runs[baseline.run_id])
        for baseline in history.baselines()
        if baseline.run_id in runs
    ]
    context = _Context(
        runs=runs,
        targets=targets,
        latest_rows=_latest_rows(history, latest),
        references=_references(history, latest),
        baselines=baselines,
        baseline_values=_baseline_values(history, [run.id for _, run in baselines]),
        verdicts={verdict.benchmark: verdict for verdict in verdicts},
        index={(s.benchmark, s.metric, s.family): s for s in all_series},
        engine=engine,
    )
    views = [
        _view(context, series, others)
        for series, others in sorted(
            cards(all_series, runs), key=lambda card: (card[0].suite, card[0].benchmark)
        )
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
        mode=header.mode,
        machine=_machine(header.fingerprint),
        dirty=header.dirty,
    )


def _machine(fingerprint: Mapping[str, object]) -> str | None:
    """``Xeon @ 2.0GHz x2`` from perfkit's or pyperf's CPU model and count."""
    model = fingerprint.get("cpu_model") or fingerprint.get("cpu_model_name")
    count = fingerprint.get("cpu_count")
    if not model:
        return None
    return f"{model} x{count}" if count else str(model)


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
    return [row for row in rows if row.metric != CPU_METRIC]


def _direction(series: BenchmarkSeries, targets: Targets | None) -> Direction:
    if targets is not None and targets.rule_for(series.benchmark) is not None:
        return targets.direction_for(series.benchmark)
    # Without a rule: throughput-like counts are better higher; times and bytes lower.
    return "higher" if series.metric == "throughput" else "lower"


def _view(
    context: _Context, series: BenchmarkSeries, others: list[BenchmarkSeries]
) -> BenchmarkView:
    notes = _series_notes(series, others)
    direction = _direction(series, context.targets)
    latest = _latest_value(context, series)
    if latest is None and context.latest_rows:
        notes.append("not measured by the latest run")
    reference = context.references.get(series.benchmark)
    basis, values = choose_basis(context.index, series, reference, context.runs)
    steady = _steady(context, values, notes)
    classify = _classifier(series.benchmark, direction, context.targets)
    changes = tuple(
        TrendChange(point, *_placed(context, values, point), *classify(point))
        for point in (steady.changes if steady is not None else ())
    )
    chart = _chart_series(context, series, steady)
    return BenchmarkView(
        id=series.benchmark,
        suite=series.suite,
        target=series.target,
        metric=series.metric,
        unit=series.unit,
        direction=direction,
        series=chart,
        latest=latest,
        changes=changes,
        drift=_drift(chart.points, changes, direction, notes) if steady is not None else None,
        trend_basis="runs" if steady is not None else "none",
        baselines=tuple(_baseline_marks(context, series)),
        verdict=context.verdicts.get(series.benchmark),
        notes=tuple(notes),
        basis=basis,
        noise=steady.noise if steady is not None else None,
        pending=steady.pending if steady is not None else None,
    )


def _series_notes(series: BenchmarkSeries, others: list[BenchmarkSeries]) -> list[str]:
    notes = []
    if series.skipped:
        notes.append(
            f"{series.skipped} stored result(s) without a finite median were left out "
            "(a damaged row: re-ingest that run's file)"
        )
    other = family_note(others)
    if other is not None:
        notes.append(other)
    return notes


def _baseline_marks(context: _Context, series: BenchmarkSeries) -> list[BaselineMark]:
    marks = []
    for name, run in context.baselines:
        value = context.baseline_values.get((run.id, series.benchmark))
        if value is None:
            continue
        marks.append(BaselineMark(name, run, run.time, value))
    return marks


def _steady(context: _Context, values: Sequence[RunValue], notes: list[str]) -> SteadyTrend | None:
    """The steady trend of the values, or None (with a note) when there are too few."""
    if len(values) < MIN_POINTS_FOR_CHANGES:
        notes.append(
            f"{len(values)} run{'s' if len(values) != 1 else ''}: no trend yet (change points "
            f"need {MIN_POINTS_FOR_CHANGES} runs); keep running `inv bench`"
        )
        return None
    steady = analyse(values, engine=context.engine)
    if steady.pending is not None:
        notes.append(
            f"the last {steady.pending.runs} run(s) lie out of the noise band "
            f"({100 * steady.pending.change:+.1f} %): a step is reported once {CONFIRM_RUNS} "
            "runs confirm it"
        )
    return steady


def _placed(
    context: _Context, values: Sequence[RunValue], point: ChangePoint
) -> tuple[float, RunInfo, RunInfo]:
    """(x, last run before, first run after) of a change point."""
    before = context.runs[values[point.index - 1].run]
    after = context.runs[values[point.index].run]
    return after.time, before, after


def _chart_series(
    context: _Context, series: BenchmarkSeries, steady: SteadyTrend | None
) -> BenchmarkSeries:
    """The basis as chart points (one per run, or per day for long histories) with the noise
    band around each level; the values themselves (band p5-p95) without a trend."""
    if steady is None:
        points, days = aggregate(series.points)
    else:
        per_run = []
        for k, item in enumerate(steady.values):
            low, high = steady.band(k)
            x = context.runs[item.run].time
            per_run.append(Point(x, item.value, low, high, item.run, item.run, 1))
        points, days = aggregate(per_run)
    return dataclasses.replace(series, points=tuple(_increasing(points)), bucket_days=days)


def _increasing(points: Sequence[Point]) -> list[Point]:
    """Charts need increasing x: runs that share a start second are spread 1 ms apart."""
    result: list[Point] = []
    for point in points:
        if result and point.x <= result[-1].x:
            point = dataclasses.replace(point, x=result[-1].x + 0.001)
        result.append(point)
    return result


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


def _drift(
    points: Sequence[Point],
    changes: Sequence[TrendChange],
    direction: Direction,
    notes: list[str],
) -> TrendDrift | None:
    """Theil-Sen over the chart's points (one per run, or per day for long histories: it weighs
    every pair, and 900 runs are 400 k pairs) since the last change point."""
    start = changes[-1].x if changes else -math.inf
    segment = [point for point in points if point.x >= start]
    if len(segment) < MIN_POINTS_FOR_DRIFT:
        if len(points) >= MIN_POINTS_FOR_DRIFT:
            notes.append(
                f"drift not fitted: {len(segment)} points since the last change point "
                f"(needs {MIN_POINTS_FOR_DRIFT})"
            )
        return None
    times = [point.x for point in segment]
    span_days = (times[-1] - times[0]) / 86_400.0
    per: Literal["day", "run"] = "day" if span_days >= MIN_DRIFT_DAYS else "run"
    xs = (
        [(time - times[0]) / 86_400.0 for time in times]
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
