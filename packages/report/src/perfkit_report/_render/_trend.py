"""Trend analysis of one benchmark's history: change points (steps) and slow drift.

Pure functions on plain sequences of numbers, no I/O; the report decides which numbers to feed
(one value per run of the steadiest series, ``_steady`` and ``_basis``).

**Change points: two engines** (``ENGINES``), compared on the same series in docs/report.md and
``tests/test_engines.py``: **ruptures** (the default: PELT, then Otava's merge step;
``_ruptures_points``) and **Apache Otava** (``perfkit-report[otava]``), below.

**Otava's E-divisive.** ``otava.analysis.compute_change_points`` is the detector described in "Hunter: Using Change Point
Detection to Hunt for Performance Regressions" (Fleming et al., ICPE 2023,
https://doi.org/10.1145/3578244.3583719), which is E-divisive (Matteson & James 2014) adapted for
performance histories:

1. *split*: E-divisive runs over sliding windows of the series; each candidate split that
   maximises the energy distance between the two sides is kept when a two-sided Student's t-test
   between the sides gives p below a relaxed threshold (these are "weak" change points);
2. *merge*: weak points are removed bottom-up, the weakest first, until every remaining point has
   p < ``max_pvalue`` *and* a relative change of the means above ``min_change``; each removal
   recomputes its neighbours, since the segments they separate grow.

The t-test replaces the original E-divisive permutation test: measured here on one step in noise,
the permutation test (``compute_change_points_orig``) found the same step but took 29x longer on
90 points (70 ms against 2.4 ms) and 200x longer on 300 points (1.1 s against 5.6 ms), which a
100-benchmark report cannot afford; and the t-test is deterministic (no random permutations, so
the same history always gives the same report).

Each detected point is reported with the *medians* of the segments on either side (up to the
neighbouring change points) and their relative change, ``after / before - 1``: medians, not the
t-test's means, because one outlier run must not set the magnitude a reader sees.

**Drift: Theil-Sen.** ``drift`` fits the median of all pairwise slopes
(``scipy.stats.theilslopes``), which ignores up to ~29 % of wild points, with its confidence
interval; the slope is also given relative to the series' median, in percent per x unit
(per day when x is time in days, per run when x is the run's position).
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_ENGINE",
    "DEFAULT_MAX_PVALUE",
    "DEFAULT_MIN_CHANGE",
    "DEFAULT_WINDOW",
    "ENGINES",
    "MIN_POINTS_FOR_CHANGES",
    "MIN_POINTS_FOR_DRIFT",
    "MIN_SEGMENT",
    "ChangePoint",
    "Drift",
    "change_points",
    "drift",
    "engine_available",
]

# The change-point engines: ruptures' PELT (the default: numpy and scipy only) and Apache Otava's
# E-divisive (perfkit-report[otava]: it pins numpy, scipy and ruamel-yaml and pulls cloud clients).
ENGINES = ("ruptures", "otava")
DEFAULT_ENGINE = "ruptures"
# PELT's penalty per step in units of sigma^2 ln n (BIC is 2). Measured on 200 flat series of 10 %
# noise: 2 raised a false step in 1 % (90 points) and 0.5 % (900 points), 4 in none, and both
# found 99.5-100 % of 10 % steps in 3 % noise.
PENALTY_FACTOR = 4.0

# p-value a change point must reach after the merge step. Measured here (with MIN_SEGMENT below)
# on 200 flat series of Gaussian noise (sd 10 %): Otava's default 0.001 raised a false step in 4 %
# of 90-point series and 22 % of 900-point ones; 1e-4 in 0.5 % and 1.5 %, while still finding a
# 10 % step in 98 % of series with 3 % noise (0.001: 97.5 %). A report holds ~100 benchmarks.
DEFAULT_MAX_PVALUE = 1e-4
# Smallest relative step (5 %) reported. Between-run noise of wall time on this shared machine is
# 8-15 % per run, but a change point compares whole segments (many runs), whose medians move far
# less; below 5 % a step in a trend is not worth a reader's attention - the paired A/B gate
# (nox -s regression) is the tool for smaller effects.
DEFAULT_MIN_CHANGE = 0.05
# Otava's sliding window (points). 50 is its default: long enough for the t-test to see a 5 %
# step through the noise, short enough that two steps a few dozen runs apart are both found.
DEFAULT_WINDOW = 50
# A segment shorter than this (points) between two change points is an outlier, not a level:
# one wild run otherwise shows up as a step up and a step down right after it.
MIN_SEGMENT = 3
# Fewer points than this and no test can tell a step from noise at p < 0.001: three points on
# each side is the least a two-sample t-test needs for a p-value that small on noisy data.
MIN_POINTS_FOR_CHANGES = 6
# Theil-Sen needs pairs: below 8 points its 95 % interval spans almost any slope.
MIN_POINTS_FOR_DRIFT = 8
# Confidence of the drift interval.
DRIFT_CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """A step in a series: the values from ``index`` on differ from those before it."""

    index: int
    """Position of the first point after the step."""
    before: float
    """Median of the segment before the step (back to the previous change point)."""
    after: float
    """Median of the segment after the step (up to the next change point)."""
    pvalue: float
    """Student's t-test between the two segments, as Otava computed it."""

    @property
    def change(self) -> float | None:
        """Relative change ``after / before - 1``; None when ``before`` is 0."""
        if self.before == 0:
            return None
        return self.after / self.before - 1.0


@dataclass(frozen=True, slots=True)
class Drift:
    """A Theil-Sen slope with its confidence interval, absolute and relative to the median."""

    slope: float
    """Value units per x unit."""
    low: float
    high: float
    median: float
    """The series' median: the base of the relative figures."""
    points: int

    @property
    def percent(self) -> float | None:
        """Slope as percent of the median per x unit; None when the median is 0."""
        return None if self.median == 0 else 100.0 * self.slope / abs(self.median)

    @property
    def percent_low(self) -> float | None:
        """Lower end of the interval, in percent of the median per x unit."""
        return None if self.median == 0 else 100.0 * self.low / abs(self.median)

    @property
    def percent_high(self) -> float | None:
        """Upper end of the interval, in percent of the median per x unit."""
        return None if self.median == 0 else 100.0 * self.high / abs(self.median)

    @property
    def significant(self) -> bool:
        """True when the interval excludes zero: the series does move."""
        return self.low > 0 or self.high < 0


def change_points(
    values: Sequence[float],
    *,
    max_pvalue: float = DEFAULT_MAX_PVALUE,
    min_change: float = DEFAULT_MIN_CHANGE,
    window: int = DEFAULT_WINDOW,
    engine: str = DEFAULT_ENGINE,
) -> list[ChangePoint]:
    """Steps in ``values`` (in order), found by ``engine`` (``ENGINES``); [] for short series.

    ``values`` must be finite (the caller drops missing points). A series shorter than
    ``MIN_POINTS_FOR_CHANGES`` or without any variation has no change point.
    """
    series = [float(value) for value in values]
    if any(not math.isfinite(value) for value in series):
        raise ValueError("change_points needs finite values; drop NaN and infinities first")
    if engine not in ENGINES:
        raise ValueError(f"unknown change-point engine {engine!r}; choose one of {ENGINES}")
    if len(series) < MIN_POINTS_FOR_CHANGES or min(series) == max(series):
        return []
    if engine == "otava":
        pvalues = _otava_points(series, max_pvalue, min_change, window)
    else:
        pvalues = _ruptures_points(series, max_pvalue, min_change)
    indexes = _without_short_segments(sorted(pvalues), pvalues, len(series))
    bounds = [0, *indexes, len(series)]
    result = []
    for k, index in enumerate(indexes, start=1):
        before = statistics.median(series[bounds[k - 1] : index])
        after = statistics.median(series[index : bounds[k + 1]])
        result.append(ChangePoint(index, before, after, pvalues[index]))
    # The engines' magnitude filters work on means; apply it again to the medians shown.
    return [point for point in result if point.change is None or abs(point.change) >= min_change]


def engine_available(engine: str) -> bool:
    """True when the engine's library is installed (otava comes with perfkit-report[otava])."""
    return importlib.util.find_spec("otava" if engine == "otava" else "ruptures") is not None


def _otava_points(
    series: list[float], max_pvalue: float, min_change: float, window: int
) -> dict[int, float]:
    """Otava's E-divisive (split, then merge; see the module docstring): index -> p."""
    # Imported here: scipy.stats and otava take ~0.7 s to import, which every other
    # perfkit-report command (ingest, summary) would pay for nothing at module level.
    from otava.analysis import compute_change_points

    found, _weak = compute_change_points(
        series, window_len=window, max_pvalue=max_pvalue, min_magnitude=min_change
    )
    return {int(point.index): float(point.stats.pvalue) for point in found}


def _ruptures_points(series: list[float], max_pvalue: float, min_change: float) -> dict[int, float]:
    """PELT (ruptures) proposes steps, the merge step keeps the significant ones: index -> p.

    PELT finds the segmentation minimising the squared deviations from each segment's mean plus
    a penalty per step (``KernelCPD`` with the linear kernel: that cost, in ruptures' C code;
    its pure-Python ``Pelt`` took 9.5 s on 900 points here, this 7 ms). The penalty is
    ``PENALTY_FACTOR x sigma^2 x ln n`` (twice BIC's), sigma the noise of one point estimated
    from successive differences (robust to the steps themselves). Its candidates then go through the same merge step as Otava's: the weakest
    (Welch's t-test between its two neighbouring segments, or no step at all when their means
    differ by less than ``min_change``) is dropped until every remaining one has p below
    ``max_pvalue``.
    """
    import numpy as np
    import ruptures  # type: ignore[import-untyped, unused-ignore]

    signal = np.asarray(series, dtype=float)
    sigma = _successive_sigma(series) or float(np.std(signal)) or 1.0
    penalty = PENALTY_FACTOR * sigma**2 * math.log(len(series))
    model = ruptures.KernelCPD(kernel="linear", min_size=MIN_SEGMENT).fit(signal)
    candidates = [int(index) for index in model.predict(pen=penalty)[:-1]]
    return _merged(series, candidates, max_pvalue, min_change)


def _merged(
    series: list[float], candidates: list[int], max_pvalue: float, min_change: float
) -> dict[int, float]:
    """Drop the weakest candidate until every one left is significant: index -> p."""
    from scipy.stats import ttest_ind  # type: ignore[import-untyped, unused-ignore]

    indexes = sorted(set(candidates))
    while indexes:
        bounds = [0, *indexes, len(series)]
        pvalues = {}
        for k, index in enumerate(indexes, start=1):
            before, after = series[bounds[k - 1] : index], series[index : bounds[k + 1]]
            mean = statistics.fmean(before)
            small = mean != 0 and abs(statistics.fmean(after) / mean - 1.0) < min_change
            pvalues[index] = 1.0 if small else _welch(before, after, ttest_ind)
        weakest = max(indexes, key=lambda index: (pvalues[index], index))
        if pvalues[weakest] < max_pvalue:
            return pvalues
        indexes.remove(weakest)
    return {}


def _welch(before: list[float], after: list[float], ttest: Any) -> float:
    """Welch's two-sided p between two segments; 0 between two different constants."""
    if len(set(before)) == 1 and len(set(after)) == 1:
        return 0.0 if before[0] != after[0] else 1.0
    with warnings.catch_warnings():
        # Nearly identical values make scipy warn of precision loss; the p it gives is used.
        warnings.simplefilter("ignore", RuntimeWarning)
        pvalue = float(ttest(before, after, equal_var=False).pvalue)
    return pvalue if math.isfinite(pvalue) else 1.0


def _successive_sigma(series: Sequence[float]) -> float:
    """The noise of one point from successive differences: 1.4826 x MAD / sqrt 2 (a step moves
    one difference, so it barely moves the estimate)."""
    differences = [b - a for a, b in itertools.pairwise(series)]
    if len(differences) < 2:
        return 0.0
    centre = statistics.median(differences)
    return 1.4826 * statistics.median(abs(d - centre) for d in differences) / math.sqrt(2.0)


def _without_short_segments(
    indexes: list[int], pvalues: dict[int, float], length: int
) -> list[int]:
    """While some segment is shorter than MIN_SEGMENT, drop the weaker (higher p) of the change
    points around the shortest one: an outlier run next to a real step then leaves the step."""
    while indexes:
        bounds = [0, *indexes, length]
        sizes = [bounds[k + 1] - bounds[k] for k in range(len(bounds) - 1)]
        shortest = min(range(len(sizes)), key=sizes.__getitem__)
        if sizes[shortest] >= MIN_SEGMENT:
            break
        edges = [edge for edge in bounds[shortest : shortest + 2] if edge in pvalues]
        weakest = max(edges, key=lambda edge: (pvalues[edge], edge))
        indexes = [index for index in indexes if index != weakest]
    return indexes


def drift(x: Sequence[float], values: Sequence[float]) -> Drift | None:
    """The Theil-Sen slope of ``values`` against ``x``; None below ``MIN_POINTS_FOR_DRIFT``
    points or when all x are equal."""
    if len(x) != len(values):
        raise ValueError(f"x has {len(x)} values and values {len(values)}; pass one x per value")
    pairs = [
        (float(a), float(b))
        for a, b in zip(x, values, strict=True)
        if math.isfinite(a) and math.isfinite(b)
    ]
    if len(pairs) < MIN_POINTS_FOR_DRIFT or len({a for a, _ in pairs}) < 2:
        return None
    # Imported here, see change_points. scipy ships no type stubs (scipy-stubs is separate).
    from scipy.stats import theilslopes  # type: ignore[import-untyped, unused-ignore]

    xs = [a for a, _ in pairs]
    ys = [b for _, b in pairs]
    # theilslopes' ``alpha`` is the confidence degree itself (0.95 -> a 95 % interval).
    fit = theilslopes(ys, xs, alpha=DRIFT_CONFIDENCE)
    return Drift(
        slope=float(fit.slope),
        low=float(fit.low_slope),
        high=float(fit.high_slope),
        median=statistics.median(ys),
        points=len(pairs),
    )
