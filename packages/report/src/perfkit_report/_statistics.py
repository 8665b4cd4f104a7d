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
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SampleSummary", "percentile", "summarize"]


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


def _stdev(values: Sequence[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1))


def summarize(processes: Sequence[Sequence[float]]) -> SampleSummary:
    """Summarise the values of each worker process; processes without values are ignored."""
    process_values = [list(values) for values in processes if values]
    flat = [value for values in process_values for value in values]
    if not flat:
        raise ValueError("no values to summarise")
    median = statistics.median(flat)
    return SampleSummary(
        n=len(flat),
        median=median,
        mean=statistics.fmean(flat),
        stdev=_stdev(flat) if len(flat) > 1 else None,
        min=min(flat),
        max=max(flat),
        p5=percentile(flat, 0.05),
        p95=percentile(flat, 0.95),
        mad=statistics.median([abs(value - median) for value in flat]),
        process_medians=tuple(statistics.median(values) for values in process_values),
    )
