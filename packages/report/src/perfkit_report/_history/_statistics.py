"""Summary statistics of one benchmark's samples, as stored in ``results``.

Pure functions, no I/O. The regression gate works on per-process summaries (most of the variance on
a shared machine lies between worker processes, not between values of one process), so the summary
keeps one median per worker process next to the statistics of the flat sample list.

Definitions (chosen to match pyperf, so a stored number equals what ``pyperf stats`` prints):

- ``stdev``: sample standard deviation (n - 1); ``None`` below two values. Computed in floats
  (``math.fsum`` of squared deviations from the mean), not with ``statistics.stdev``, whose exact
  Fraction arithmetic made it two thirds of the summary's cost at ingest (0.12 s per 1000
  benchmarks here); the two agree to ~1e-15 relative.
- ``p5`` / ``p95``: linear interpolation between closest ranks (Hyndman & Fan type 7, numpy's
  default, pyperf's ``percentile``).
- ``mad``: median absolute deviation from the median, unscaled (pyperf's ``median_abs_dev``).

Speed: a result file is summarised once per benchmark at ingest (150 benchmarks of 20 processes x
3 values in ``toolkit.ingest``). ``summarize`` sorts the values once and reads the median, the
extremes and both percentiles off that order, with its loops in C (``map`` over ``operator``
functions): 32 -> 24 µs a benchmark here. ``summarize_many``, what ingest calls, does the sorting,
indexing and interpolation of all benchmarks of one shape at once in numpy; only the exactly rounded
sums (``math.fsum``) and the squares stay per benchmark: 17 µs a benchmark (the three measured
interleaved on that file, medians of 9 rounds). Both compute every figure with the same
floating-point operations as the plain definitions above (``statistics.median``, ``fmean``,
``percentile``, ``** 2`` for the squares: the platform's ``pow``, which is not always bit-equal to
``x * x``), so the stored numbers did not move; the tests compare them with those definitions bit
for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter, sub
from typing import Any, cast

import numpy as np
import numpy.typing as npt

__all__ = ["SampleSummary", "percentile", "summarize", "summarize_many"]


@dataclass(frozen=True, slots=True)
class SampleSummary:
    """Statistics of one benchmark in one run."""

    n: int
    median: float
    mean: float
    stdev: float | None
    min: float
    max: float
    p5: float
    p95: float
    mad: float
    process_medians: tuple[float, ...]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th quantile (0 <= p <= 1) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be within [0, 1], got {p}")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    low = math.floor(k)
    high = math.ceil(k)
    if low == high:
        return ordered[low]
    return ordered[low] * (high - k) + ordered[high] * (k - low)


def _ranked(ordered: Sequence[float], p: float) -> float:
    """``percentile`` of values already sorted."""
    k = (len(ordered) - 1) * p
    low = math.floor(k)
    high = math.ceil(k)
    if low == high:
        return ordered[low]
    return ordered[low] * (high - k) + ordered[high] * (k - low)


def _middle(ordered: Sequence[float]) -> float:
    """``statistics.median`` of values already sorted."""
    half = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[half]
    return (ordered[half - 1] + ordered[half]) / 2


def summarize(processes: Sequence[Sequence[float]]) -> SampleSummary:
    """Summarise the values of each worker process; processes without values are ignored."""
    process_values = [values for values in processes if values]
    flat = list(chain.from_iterable(process_values))
    if not flat:
        raise ValueError("no values to summarise")
    n = len(flat)
    ordered = sorted(flat)
    median = _middle(ordered)
    mean = math.fsum(flat) / n  # statistics.fmean
    stdev: float | None = None
    if n > 1:
        squares = map(pow, map(sub, flat, repeat(mean)), repeat(2))  # (value - mean) ** 2
        stdev = math.sqrt(math.fsum(squares) / (n - 1))
    sizes = set(map(len, process_values))
    if len(sizes) == 1 and (size := sizes.pop()) % 2:
        # The usual file: every process has the same odd number of values.
        process_medians = tuple(map(itemgetter(size // 2), map(sorted, process_values)))
    else:
        process_medians = tuple(map(_middle, map(sorted, process_values)))
    return SampleSummary(
        n=n,
        median=median,
        mean=mean,
        stdev=stdev,
        min=ordered[0],
        max=max(flat),  # not ordered[-1]: of equal maxima (0.0, -0.0), max keeps the first
        p5=_ranked(ordered, 0.05),
        p95=_ranked(ordered, 0.95),
        # From the sorted values the deviations fall then rise: two runs, which sorted() merges.
        mad=_middle(sorted(map(abs, map(sub, ordered, repeat(median))))),
        process_medians=process_medians,
    )


def summarize_many(benchmarks: Sequence[Sequence[Sequence[float]]]) -> list[SampleSummary]:
    """``summarize`` of each benchmark's processes, the same numbers bit for bit, computed
    together: the benchmarks whose processes all hold the same number of values are summarised
    as one array per shape. The values must be finite floats (as ingest has checked them)."""
    summaries: dict[int, SampleSummary] = {}
    shapes: dict[tuple[int, int], list[tuple[int, list[Sequence[float]]]]] = {}
    for index, processes in enumerate(benchmarks):
        process_values = [values for values in processes if values]
        sizes = set(map(len, process_values))
        if len(sizes) == 1:
            shapes.setdefault((len(process_values), sizes.pop()), []).append(
                (index, process_values)
            )
        else:
            summaries[index] = summarize(processes)  # uneven processes, or no values at all
    for (count, size), members in shapes.items():
        shaped = _summarize_shaped([processes for _, processes in members], count, size)
        for (index, _), summary in zip(members, shaped, strict=True):
            summaries[index] = summary
    return [summaries[index] for index in range(len(benchmarks))]


_Floats = npt.NDArray[np.floating[Any]]


def _listed(column: _Floats) -> list[float]:
    return cast("list[float]", column.tolist())


def _listed_rows(rows: _Floats) -> list[list[float]]:
    return cast("list[list[float]]", rows.tolist())


def _middles(ordered: _Floats) -> _Floats:
    """``_middle`` of each row of a sorted 2-d array."""
    width = ordered.shape[1]
    half = width // 2
    if width % 2:
        return ordered[:, half]
    middles: _Floats = (ordered[:, half - 1] + ordered[:, half]) / 2
    return middles


def _ranked_rows(ordered: _Floats, p: float) -> _Floats:
    """``_ranked`` of each row of a sorted 2-d array."""
    k = (ordered.shape[1] - 1) * p
    low = math.floor(k)
    high = math.ceil(k)
    if low == high:
        return ordered[:, low]
    ranked: _Floats = ordered[:, low] * (high - k) + ordered[:, high] * (k - low)
    return ranked


def _summarize_shaped(
    benchmarks: Sequence[Sequence[Sequence[float]]], count: int, size: int
) -> list[SampleSummary]:
    """``summarize`` of benchmarks that each have ``count`` processes of ``size`` values."""
    n = count * size
    values = np.fromiter(
        chain.from_iterable(chain.from_iterable(benchmarks)),
        dtype=np.float64,
        count=len(benchmarks) * n,
    )
    flat = values.reshape(len(benchmarks), n)
    # Stable sorts, as sorted(): of equal values (0.0 and -0.0) the first stays first.
    ordered = np.sort(flat, axis=1, kind="stable")
    medians = _middles(ordered)
    rows = _listed_rows(flat)
    means = [math.fsum(row) / n for row in rows]  # statistics.fmean
    if n > 1:
        # (value - mean) ** 2 with Python's pow, summed exactly, per benchmark.
        deviations = _listed_rows(flat - np.array(means)[:, None])
        stdevs: list[float | None] = [
            math.sqrt(math.fsum(map(pow, row, repeat(2))) / (n - 1)) for row in deviations
        ]
    else:
        stdevs = [None] * len(rows)
    spreads = np.sort(np.abs(ordered - medians[:, None]), axis=1)
    process_medians = _middles(
        np.sort(values.reshape(len(benchmarks) * count, size), axis=1, kind="stable")
    ).reshape(len(benchmarks), count)
    return [
        SampleSummary(
            n=n,
            median=median,
            mean=mean,
            stdev=stdev,
            min=low,
            max=high,  # max(), not the sort's last: of equal maxima (0.0, -0.0) it keeps the first
            p5=p5,
            p95=p95,
            mad=mad,
            process_medians=tuple(per_process),
        )
        for median, mean, stdev, low, high, p5, p95, mad, per_process in zip(
            _listed(medians),
            means,
            stdevs,
            _listed(ordered[:, 0]),
            map(max, rows),
            _listed(_ranked_rows(ordered, 0.05)),
            _listed(_ranked_rows(ordered, 0.95)),
            _listed(_middles(spreads)),
            _listed_rows(process_medians),
            strict=True,
        )
    ]
