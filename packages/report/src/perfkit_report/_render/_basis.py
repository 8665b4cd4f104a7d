"""Which series a benchmark's trend is read from: the steadiest one it has.

A benchmark's history can hold several series (``_series``): one per family of runs (mode and
machine) and, for time benchmarks on a CPU clock, a CPU-time series beside wall time
(perfkit-bench records ``<id>.cpu_time`` with ``perfkit_metric = "cpu_time"``; stored as metric
``cpu_time`` of ``<id>``, or as the benchmark ``<id>.cpu_time`` by an ingest that predates it).

``cards`` picks one series per benchmark to show: the family of its latest run (other families
are named in a note, never mixed in). ``choose_basis`` picks what its trend reads:

1. **CPU time**, where recorded, whatever the noise figures say: a busy neighbour doubles wall
   time here and moves CPU time by under 5 %;
2. else **the ratio to its reference benchmark measured in the same run**
   (``perfkit_reference``) when its run-to-run noise is lower than the value's: a load that
   lasts through a run moves both alike and cancels, but one that comes and goes between the
   two benchmarks adds both noises (20 runs of the asyncio benchmarks here, load 5 on 2 cores:
   the ratio of ``tell.asyncio`` spread 69 %, its wall time 25 %);
3. else **the value itself** (memory, counts, and benchmarks with neither).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from perfkit_report._render._series import BenchmarkSeries, RunInfo
from perfkit_report._render._steady import RunValue, noise

__all__ = ["CPU_METRIC", "TrendBasis", "cards", "choose_basis", "family_note", "is_cpu_series"]

CPU_METRIC = "cpu_time"
_CPU_SUFFIX = ".cpu_time"

SeriesKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class TrendBasis:
    """What a benchmark's trend, chart and change points are computed on."""

    kind: Literal["cpu_time", "ratio", "value"]
    label: str
    """``CPU time``, ``ratio to <reference>`` or ``median``."""
    unit: str
    """Unit of the values: the benchmark's, or ``ratio``."""


def is_cpu_series(series: BenchmarkSeries) -> bool:
    """A CPU-time series: a basis for its benchmark's card, not a card of its own."""
    return series.metric == CPU_METRIC or series.benchmark.endswith(_CPU_SUFFIX)


def cards(
    all_series: Iterable[BenchmarkSeries], runs: Mapping[int, RunInfo]
) -> list[tuple[BenchmarkSeries, list[BenchmarkSeries]]]:
    """(shown series, the benchmark's series of other families) per benchmark."""
    by_benchmark: dict[str, list[BenchmarkSeries]] = {}
    for series in all_series:
        if series.points and not is_cpu_series(series):
            by_benchmark.setdefault(series.benchmark, []).append(series)
    chosen = []
    for members in by_benchmark.values():
        latest = max(
            members, key=lambda s: (runs[s.points[-1].last_run].time, s.points[-1].last_run)
        )
        chosen.append((latest, [series for series in members if series is not latest]))
    return chosen


def choose_basis(
    index: Mapping[SeriesKey, BenchmarkSeries],
    main: BenchmarkSeries,
    reference: str | None,
    runs: Mapping[int, RunInfo],
) -> tuple[TrendBasis, list[RunValue]]:
    """The basis of ``main``'s trend and its values, one per run (module docstring)."""
    cpu = _cpu_series(index, main)
    if cpu is not None:
        return TrendBasis("cpu_time", "CPU time", cpu.unit), _values(cpu, runs)
    values = _values(main, runs)
    ref = index.get((reference, main.metric, main.family)) if reference else None
    if ref is not None and main.unit == ref.unit:
        ratios = _ratios(main, ref, runs)
        # The reference measured in most runs, and the ratio steadier than the value: a load
        # that lasts through the run cancels, one that comes and goes adds both noises.
        if len(ratios) >= len(values) / 2 and _steadier(ratios, values):
            return TrendBasis("ratio", f"ratio to {reference}", "ratio"), ratios
    return TrendBasis("value", "median", main.unit), values


def _steadier(candidate: list[RunValue], values: list[RunValue]) -> bool:
    mine, theirs = noise(candidate), noise(values)
    return mine is None or theirs is None or mine.sigma < theirs.sigma


def _cpu_series(
    index: Mapping[SeriesKey, BenchmarkSeries], main: BenchmarkSeries
) -> BenchmarkSeries | None:
    found = index.get((main.benchmark, CPU_METRIC, main.family))
    if found is None:
        found = next(
            (
                series
                for (name, _, family), series in index.items()
                if name == main.benchmark + _CPU_SUFFIX and family == main.family
            ),
            None,
        )
    return found if found is not None and found.points else None


def _values(series: BenchmarkSeries, runs: Mapping[int, RunInfo]) -> list[RunValue]:
    return [
        RunValue(point.first_run, point.median, runs[point.first_run].code)
        for point in series.points
    ]


def _ratios(
    main: BenchmarkSeries, ref: BenchmarkSeries, runs: Mapping[int, RunInfo]
) -> list[RunValue]:
    references = {point.first_run: point.median for point in ref.points if point.median > 0}
    return [
        RunValue(
            point.first_run, point.median / references[point.first_run], runs[point.first_run].code
        )
        for point in main.points
        if point.first_run in references
    ]


def family_note(others: Sequence[BenchmarkSeries]) -> str | None:
    """Names the benchmark's runs in other families, which are other series."""
    if not others:
        return None
    parts = ", ".join(f"{series.runs} in {series.family}" for series in others)
    return f"other series not charted (another mode or machine measures differently): {parts} runs"
