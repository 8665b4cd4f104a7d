"""The points of each benchmark's history, as the charts and the trend analysis read them.

One series per benchmark, metric and *family* of runs: runs of different perfkit-bench modes
(fast, default, rigorous) or of different machines (CPU model and count) measure differently
and are never one series. One point per run, in run order (start time; runs without a date by
ingest time). ``aggregate`` turns a long series into days: a benchmark
with more runs than ``MAX_POINTS`` is aggregated into calendar buckets of whole UTC days (one day,
or as many days as it takes to stay under the limit): the point's value is the median of the
bucket's run medians, its band spans the lowest p5 to the highest p95 of those runs (everything
the bucket saw), and it remembers its first and last run so tooltips and change points can still
name commits.

Values that are not finite numbers (a damaged row: ``inf``, ``NaN`` stored as text) are left
out and counted in ``skipped``, so one bad row neither breaks the chart nor the analysis.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from perfkit_report._history import ResultRow, parse_timestamp

__all__ = [
    "MAX_POINTS",
    "BenchmarkSeries",
    "Point",
    "RunInfo",
    "aggregate",
    "build_series",
    "format_day",
    "run_time",
]

# Points per chart before daily aggregation. A chart here is ~900 px wide: 200 points are 4 px
# apart, about the limit where separate runs can still be told apart; beyond it points only add
# bytes (90 days x 10 runs a day would be 900 points per benchmark, ~5 MB of page for 100
# benchmarks, against the 3 MB budget).
MAX_POINTS = 200
_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class RunInfo:
    """What a tooltip or a change point says about a run."""

    id: int
    time: float
    """Epoch seconds (UTC): start, or ingest time when the run had no date."""
    started: str | None
    commit: str | None
    branch: str | None
    python: str | None = None
    """Python version (``3.11.7``) from the run's fingerprint, when recorded."""
    mode: str | None = None
    """perfkit-bench's mode (fast, default, rigorous, custom), when recorded."""
    machine: str | None = None
    """The CPU model and count (``Xeon @ 2.0GHz x2``) from the fingerprint, when recorded."""
    dirty: bool | None = None

    @property
    def family(self) -> str:
        """Runs of one family can be one series: the same mode on the same machine."""
        return " on ".join(part for part in (self.mode, self.machine) if part) or "-"

    @property
    def code(self) -> str:
        """The measured code: the commit; a run with changes or without a commit is its own."""
        if self.commit and not self.dirty:
            return self.commit
        return f"run {self.id}"


@dataclass(frozen=True, slots=True)
class Point:
    """One chart point: one run, or one bucket of days."""

    x: float
    """Epoch seconds: the run's time, or the middle of the bucket."""
    median: float
    low: float
    high: float
    first_run: int
    last_run: int
    runs: int


@dataclass(frozen=True, slots=True)
class BenchmarkSeries:
    """A benchmark's history as points, oldest first."""

    benchmark: str
    metric: str
    unit: str
    suite: str
    target: str | None
    points: tuple[Point, ...]
    runs: int
    """Runs that measured it (with a finite median)."""
    bucket_days: int
    """0: one point per run; N: one point per N UTC days."""
    skipped: int
    """Rows left out because their median was not a finite number."""
    family: str = "-"
    """The runs' mode and machine (``RunInfo.family``)."""


def run_time(started: str | None, ingested_at: str) -> float:
    """Epoch seconds of a run (its start, else when it was ingested)."""
    for text in (started, ingested_at):
        if text:
            try:
                return parse_timestamp(text).timestamp()
            except ValueError:
                continue
    return 0.0


def build_series(
    rows: Iterable[ResultRow], runs: Mapping[int, RunInfo], max_points: int = MAX_POINTS
) -> list[BenchmarkSeries]:
    """Group rows (ordered by benchmark, then run order) into one series per benchmark, metric
    and family of runs."""
    families = {run_id: run.family for run_id, run in runs.items()}
    grouped: dict[tuple[str, str, str], list[ResultRow]] = {}
    for row in rows:
        grouped.setdefault((row.benchmark, row.metric, families[row.run_id]), []).append(row)
    return [
        _series(name, members, runs, max_points, family)
        for (name, _, family), members in grouped.items()
    ]


def aggregate(points: Sequence[Point], max_points: int = MAX_POINTS) -> tuple[list[Point], int]:
    """(points, days per point): the points as they are up to ``max_points``, else by days."""
    if len(points) <= max_points:
        return list(points), 0
    days = _bucket_days(points, max_points)
    return _aggregate(points, days), days


def _series(
    name: str,
    rows: Sequence[ResultRow],
    runs: Mapping[int, RunInfo],
    max_points: int,
    family: str,
) -> BenchmarkSeries:
    latest = rows[-1]
    usable = [row for row in rows if row.median is not None]
    per_run = [
        Point(
            x=runs[row.run_id].time,
            median=row.median,
            low=row.p5 if row.p5 is not None else row.median,
            high=row.p95 if row.p95 is not None else row.median,
            first_run=row.run_id,
            last_run=row.run_id,
            runs=1,
        )
        for row in usable
        if row.median is not None
    ]
    points, bucket_days = aggregate(per_run, max_points)
    return BenchmarkSeries(
        benchmark=name,
        metric=latest.metric,
        unit=latest.unit,
        suite=latest.suite,
        target=latest.target,
        points=tuple(_strictly_increasing(points)),
        runs=len(per_run),
        bucket_days=bucket_days,
        skipped=len(rows) - len(usable),
        family=family,
    )


def _bucket_days(points: Sequence[Point], max_points: int) -> int:
    """The fewest whole days per bucket that keep the series under ``max_points``."""
    days = 1
    while len({_day(point.x) // days for point in points}) > max_points:
        days += 1 if days < 7 else 7
    return days


def _day(x: float) -> int:
    return math.floor(x / _DAY)


def _aggregate(points: Sequence[Point], bucket_days: int) -> list[Point]:
    buckets: dict[int, list[Point]] = {}
    for point in points:
        buckets.setdefault(_day(point.x) // bucket_days, []).append(point)
    result = []
    for key in sorted(buckets):
        members = buckets[key]
        result.append(
            Point(
                x=(key * bucket_days + bucket_days / 2) * _DAY,
                median=statistics.median(point.median for point in members),
                low=min(point.low for point in members),
                high=max(point.high for point in members),
                first_run=members[0].first_run,
                last_run=members[-1].last_run,
                runs=len(members),
            )
        )
    return result


def _strictly_increasing(points: Sequence[Point]) -> list[Point]:
    """Charts need increasing x: runs that share a start second are spread 1 ms apart."""
    result: list[Point] = []
    for point in points:
        if result and point.x <= result[-1].x:
            point = Point(
                result[-1].x + 0.001,
                point.median,
                point.low,
                point.high,
                point.first_run,
                point.last_run,
                point.runs,
            )
        result.append(point)
    return result


def format_day(x: float) -> str:
    """``2026-11-20`` for an epoch second (UTC)."""
    return datetime.fromtimestamp(x, UTC).strftime("%Y-%m-%d")
