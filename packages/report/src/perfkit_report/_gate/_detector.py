"""The regression detector: base vs head samples of many benchmarks in, one verdict each out.

Pure: no I/O, no clock, no global random state. The same inputs and ``seed`` give the same
verdicts on any machine. ``detect`` is the whole method; ``needs_more`` and
``failing_verdicts`` read its output for the gate (extend sampling within a time budget; choose
the exit code).

The unit of the statistics
--------------------------
One number per worker process (for example the median of that process's values), or one
(base, head) pair of such numbers when the two processes ran back to back in an interleaved A/B
schedule. Never the raw values: on a shared machine most of the variance lies between processes
and runs, so values of one process are not independent draws, and a test that counts them as
such is miscalibrated (pyperf's t-test flagged 46-50 % of unchanged benchmarks here).

Per benchmark
-------------
- **Effect**: head / base. Unpaired: the ratio of the medians, ``median(head) / median(base)``.
  Paired: the median of the per-pair ratios ``head_i / base_i`` (the paired analogue; a drift that
  hits both processes of a pair cancels in each ratio). Above 1 the metric grew, which is a
  regression when lower is better and an improvement when higher is better.
- **Confidence interval**: percentile bootstrap at level ``1 - alpha`` (95 % for the default
  alpha), ``n_resamples`` resamples. Unpaired data resample the processes of each side
  independently (a stratified bootstrap); paired data resample whole pairs. The generator is
  seeded from ``seed`` and the benchmark's channel and name, so a benchmark's interval does not
  change when another benchmark joins the check. Percentile rather than BCa: BCa's acceleration
  comes from a jackknife, and the jackknife of a median of ten values takes only two distinct
  values, so the correction is noise. The resampling is numpy's (one vectorised draw per side)
  rather than ``scipy.stats.bootstrap``: the same method, but fast enough for the thousands of
  simulated checks that measure the detector, and its seeding argument is not renamed between
  scipy releases (``random_state`` became ``rng`` in 1.15).
- **p-value**: two-sided Mann-Whitney U on the two sides (unpaired), or the Wilcoxon signed-rank
  test on the log ratios of the pairs (paired; pairs that measured exactly equal carry no sign and
  are dropped, scipy's ``zero_method="wilcox"``). Both are rank tests: no normality assumed, and a
  few wild processes (a noisy neighbour) cannot dominate them.
- **q-value**: Benjamini-Hochberg across every benchmark of the call that has a p-value
  (``scipy.stats.false_discovery_control``), so the false-alarm rate is controlled for the whole
  check, not per benchmark: with 50 unchanged benchmarks at alpha = 0.05, a per-benchmark test
  flags something about 92 % of the time; after BH, when nothing changed, about alpha.
- **Minimum detectable effect** (``mde_percent``): the smallest true change that this benchmark's
  noise at this sample size would make significant with 80 % power,
  ``MDE = expm1((z[1 - alpha/2] + z[0.80]) * sd)``, where ``sd`` is the standard deviation of the
  bootstrap distribution of the log effect (the measured noise of the effect itself, whatever the
  distribution of the processes). It ignores the BH adjustment and the threshold, so it is a
  floor: a regression smaller than the MDE is unlikely to be caught at this sample size, and a
  regression is only reported when it is also beyond the threshold (below).

Verdicts (``t`` is the benchmark's threshold in percent, the CI is in percent change)
---------------------------------------------------------------------------------------
- ``regressed``: q < alpha **and** the estimate is at or beyond ``t`` on the worse side. The rank
  test (or Yuen's test) must find a change, and the data's best estimate of it must be at least the
  threshold. This says what the data say: a change measured at +10.0 % with q = 1e-11 under a 10 %
  threshold is a regression, not "inconclusive". The power curve this implies: a true change
  exactly at ``t`` is flagged about half the time (its estimate falls on either side of ``t``),
  one at 1.5 ``t`` almost always once the MDE is well under ``t``, and one below ``t`` is
  flagged only when its estimate lands beyond ``t``: rarely for a change well under it, often for
  one just under it; docs/regression.md has the simulated curve.
- ``improved``: the mirror image on the better side.
- ``same``: the whole interval lies strictly inside ``(-t, +t)``: whatever the change is, it is
  smaller than the threshold. It can still be statistically significant (a real 1 % change under a
  10 % threshold is "same").
- ``inconclusive``: none of these (a significant change with an estimate under ``t`` and an
  interval reaching past it; or no significant change and an interval reaching past ``t``), or
  fewer than ``MIN_PROCESSES`` values on a side.
- ``added`` / ``removed``: the benchmark is on the head side only / the base side only.

(Until 2026-12 a regression needed the whole interval beyond ``t``: a true change at the
threshold then stayed inconclusive however clear, as on the real pair of pyperf files above.)

Slice-interleaved pairs
-----------------------
``perfkit-bench ab`` in slice mode gives one within-pair estimate per process pair (the median of
the adjacent slice ratios; ``BenchmarkSamples.ratios``). The pairs are the unit: the effect is
the 20 % trimmed mean of their log estimates, the interval Yuen's (trimmed mean +- t[h-1] * its
winsorized standard error), the p-value Yuen's one-sample trimmed t-test (``test = "yuen"``),
and the MDE comes from the same standard error. The trimming cuts the most extreme pairs at each
end, so one wild pair cannot decide; unlike the Wilcoxon test there is no floor on p, so 8-12
pairs can clear BH across ~90 benchmarks when they agree closely.

Direction ``higher`` (throughput) flips the worse side: a 10 % drop (effect 0.90) is a 10 %
regression. Percent changes are always ``(effect - 1) * 100`` of the metric itself.

**Severity** (regressions only): the regression in percent against the benchmark's bands
(``SeverityBands.classify``). Without configured bands, minor at ``t``, major at 1.5 ``t``,
critical at 2 ``t`` (the ratios of the README's example). A regression below the configured minor
band (possible when the bands start above the threshold) is minor.

Exact (deterministic) samples
-----------------------------
Instruction counts with a fixed hash seed, and byte metrics, often repeat exactly. When every value
on each side is identical, the effect is known exactly: the interval is the point, no test is run
(``p`` and ``q`` are None, ``test == "exact"``, the benchmark is not part of the BH family) and the
verdict comes from the threshold alone: regressed / improved when the change is at or beyond
``t``, else same. One value per side is enough on a deterministic channel (``instructions``);
elsewhere identical values count as exact only with at least two a side (a single time value
shows no spread because there is none to see: that benchmark is inconclusive). Near-deterministic samples (tiny but non-zero
spread) go through the tests like any other; note that rank tests need enough processes to reach
significance at all (below).

Assumptions and limits
----------------------
- Processes within a side are independent draws of the same distribution; noise is multiplicative
  (all spreads are measured on log values), values are finite and > 0 (pyperf's own rule).
- **Unpaired comparisons assume no drift between the two runs.** On this machine the mean of a
  benchmark drifts 8-15 % from one run to the next; a drift shared by every process of one run is
  invisible to per-process statistics and is reported as a change. Only paired, interleaved A/B
  samples remove it; unpaired verdicts on such a machine need thresholds above the drift.
- Rank tests have a floor: the smallest two-sided Mann-Whitney p-value for n and m processes is
  ``2 / C(n + m, n)`` (3 vs 3: 0.1; 5 vs 5: 0.008; 6 vs 6: 0.002), and BH needs the single
  smallest p below ``alpha / k`` among ``k`` benchmarks. With 20 benchmarks at alpha 0.05 a lone
  regression needs at least 6 processes per side (perfkit-bench runs 10).
- BH controls the false discovery rate for independent or positively dependent tests; benchmarks
  of one run share the machine, which is positive dependence.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import numpy.typing as npt

from perfkit_report._exceptions import InputError
from perfkit_report._targets import DEFAULT_THRESHOLD, SeverityBands

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_RESAMPLES",
    "MIN_PROCESSES",
    "BenchmarkSamples",
    "BenchmarkVerdict",
    "Direction",
    "MoreSamples",
    "SeverityName",
    "TestName",
    "VerdictName",
    "detect",
    "failing_verdicts",
    "needs_more",
]

Direction = Literal["lower", "higher"]
VerdictName = Literal["regressed", "improved", "same", "inconclusive", "added", "removed"]
SeverityName = Literal["minor", "major", "critical"]
TestName = Literal["mann-whitney", "wilcoxon", "yuen", "exact"]

# 0.05: the usual level. After BH it bounds the expected share of false alarms among the flagged
# benchmarks (and, when nothing changed, the chance of any significant benchmark at all); the
# CI-beyond-threshold rule then cuts the false alarms per check below it.
DEFAULT_ALPHA = 0.05
# 2000 resamples put the 2.5 % percentile on the 50th order statistic of the bootstrap
# distribution: its Monte-Carlo error is a few percent of the interval's width, and a check of
# 50 benchmarks with 10 processes a side still takes well under a second.
DEFAULT_RESAMPLES = 2000
# Below 3 values a side a bootstrap interval of a median is a degenerate point or an average of
# two numbers: too narrow to call anything "same", and no rank test can be significant.
MIN_PROCESSES = 3
# Yuen's trimmed mean: the share of the within-pair estimates cut from each end before averaging
# (Wilcox's usual 20 %). From 5 pairs on at least one pair is cut at each end, so one wild pair
# (a process that ran 14 % slow throughout, seen here with the wall clock) cannot decide.
TRIM = 0.2
# Channels whose counts are deterministic by construction: one value per side is exact.
DETERMINISTIC_CHANNELS = frozenset({"instructions"})
# The power the minimum detectable effect is quoted at (the usual 80 %).
_MDE_POWER = 0.80
# Default severity bands, as multiples of the threshold (README example: 10 / 15 / 20 %).
_DEFAULT_BANDS = (1.0, 1.5, 2.0)
# needs_more: never suggest more than this many times the current processes per side. Beyond
# it the effect sits so close to a decision boundary that more samples buy almost nothing.
_MAX_GROWTH = 8
# Percent comparisons at the threshold tolerate float rounding: 110 / 100 - 1 is
# 0.10000000000000009, 115 / 100 - 1 is 0.1499999999999999.
_REL_TOL = 1e-9
_SEVERITY_RANK: dict[str, int] = {"minor": 1, "major": 2, "critical": 3}


@dataclass(frozen=True, slots=True)
class BenchmarkSamples:
    """One benchmark's input: per-process summaries of each side, and its rules from targets."""

    benchmark: str
    base: Sequence[float] | None
    """One value per base process (None: the benchmark does not exist on the base side)."""
    head: Sequence[float] | None
    """One value per head process (None: the benchmark does not exist on the head side)."""
    direction: Direction = "lower"
    """Which way is better: ``lower`` (time, bytes) or ``higher`` (throughput)."""
    threshold: float = DEFAULT_THRESHOLD
    """The practical threshold, percent: smaller changes do not matter."""
    severity: SeverityBands | None = None
    """Severity bands in percent; None: minor/major/critical at 1x/1.5x/2x the threshold."""
    channel: str = "time"
    """What was measured (time, instructions, bytes, ...): named in every verdict."""
    paired: bool = False
    """True when ``base[i]`` and ``head[i]`` ran back to back (an A/B pair)."""
    ratios: Sequence[float] | None = None
    """Slice-interleaved pairs: one within-pair estimate of head / base per process pair (the
    median of its adjacent slice ratios). When given, the statistics run on these instead of
    ``head[i] / base[i]`` (``base`` and ``head`` still give the counts and the report's levels)."""


@dataclass(frozen=True, slots=True)
class BenchmarkVerdict:
    """The detector's answer for one benchmark (the columns of history.db's ``verdicts``, plus
    what the reports show)."""

    benchmark: str
    channel: str
    verdict: VerdictName
    severity: SeverityName | None
    """For regressions only."""
    effect: float | None
    """head / base (ratio of medians; paired: median of pair ratios). None for added/removed."""
    ci_low: float | None
    ci_high: float | None
    p: float | None
    """Two-sided p-value (None: exact samples, or one side missing)."""
    q: float | None
    """Benjamini-Hochberg adjusted p-value across the check."""
    mde_percent: float | None
    """Minimum detectable change in percent at 80 % power (None below MIN_PROCESSES a side)."""
    n_base: int
    n_head: int
    paired: bool
    test: TestName | None
    """mann-whitney (unpaired), wilcoxon (paired), exact (no spread on either side), None."""
    direction: Direction
    threshold: float

    @property
    def change_percent(self) -> float | None:
        """(effect - 1) * 100: +10.0 means the metric grew 10 %."""
        return None if self.effect is None else (self.effect - 1.0) * 100.0

    @property
    def ci_percent(self) -> tuple[float, float] | None:
        """The confidence interval as percent changes."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return ((self.ci_low - 1.0) * 100.0, (self.ci_high - 1.0) * 100.0)

    @property
    def regression_percent(self) -> float | None:
        """The change in percent with the worse direction positive (a 10 % throughput drop is
        +10.0; a 10 % speed-up of a time is -10.0)."""
        change = self.change_percent
        if change is None:
            return None
        return change if self.direction == "lower" else -change


@dataclass(frozen=True, slots=True)
class MoreSamples:
    """An inconclusive benchmark that more processes (or A/B pairs) could resolve."""

    benchmark: str
    channel: str
    n_base: int
    n_head: int
    suggested: int
    """Processes per side that would likely resolve it (the interval shrinks as 1/sqrt(n)),
    capped at 8 times the current count."""
    could_regress: bool
    """The interval reaches the regression side of the threshold: the gate's outcome may
    depend on it."""


def detect(
    samples: Iterable[BenchmarkSamples],
    *,
    alpha: float = DEFAULT_ALPHA,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[BenchmarkVerdict, ...]:
    """One verdict per benchmark, in input order; q-values are adjusted across all of them.

    Raises InputError for unusable input: a benchmark missing on both sides, an empty side,
    values that are not finite and > 0, paired sides of different lengths, a non-positive
    threshold, a duplicate (benchmark, channel), alpha outside (0, 1), fewer than 100 resamples.
    """
    if not 0.0 < alpha < 1.0:
        raise InputError(f"alpha {alpha!r} must be between 0 and 1; pass e.g. --alpha 0.05")
    if n_resamples < 100:
        raise InputError(
            f"n_resamples {n_resamples} is too few for a percentile interval; use at least 100"
        )
    items = list(samples)
    seen: set[tuple[str, str]] = set()
    for item in items:
        _validate(item)
        key = (item.channel, item.benchmark)
        if key in seen:
            raise InputError(
                f"benchmark {item.benchmark!r} appears twice on channel {item.channel!r}; "
                "pass each benchmark once per channel"
            )
        seen.add(key)

    measured = [_measure(item, alpha, n_resamples, seed) for item in items]
    tested = [index for index, m in enumerate(measured) if m.p is not None]
    qs = _bh([p for m in measured if (p := m.p) is not None])
    q_of = dict(zip(tested, qs, strict=True))
    return tuple(
        _decide(item, m, q_of.get(index), alpha)
        for index, (item, m) in enumerate(zip(items, measured, strict=True))
    )


def needs_more(verdicts: Iterable[BenchmarkVerdict]) -> tuple[MoreSamples, ...]:
    """The inconclusive benchmarks more samples could resolve, most urgent first: those that
    could still turn out regressed (the gate's outcome depends on them), then the cheapest."""
    wanted: list[MoreSamples] = []
    for verdict in verdicts:
        if verdict.verdict != "inconclusive":
            continue
        n = min(verdict.n_base, verdict.n_head)
        wanted.append(
            MoreSamples(
                benchmark=verdict.benchmark,
                channel=verdict.channel,
                n_base=verdict.n_base,
                n_head=verdict.n_head,
                suggested=_suggested(verdict, n),
                could_regress=_could_regress(verdict),
            )
        )
    return tuple(sorted(wanted, key=lambda more: (not more.could_regress, more.suggested)))


def failing_verdicts(
    verdicts: Iterable[BenchmarkVerdict],
    *,
    fail_on: SeverityName = "minor",
    fail_on_inconclusive: bool = False,
) -> tuple[BenchmarkVerdict, ...]:
    """The verdicts that fail a gate: regressions at or above ``fail_on`` severity, and the
    inconclusive ones when ``fail_on_inconclusive``. Improvements, same, added and removed never
    fail it."""
    if fail_on not in _SEVERITY_RANK:
        raise InputError(f"fail_on {fail_on!r}: use minor, major or critical")
    floor = _SEVERITY_RANK[fail_on]
    return tuple(
        verdict
        for verdict in verdicts
        if (
            verdict.verdict == "regressed"
            and _SEVERITY_RANK.get(verdict.severity or "minor", 1) >= floor
        )
        or (fail_on_inconclusive and verdict.verdict == "inconclusive")
    )


# -- validation -----------------------------------------------------------------------------------


def _validate(item: BenchmarkSamples) -> None:
    name = item.benchmark
    if item.base is None and item.head is None:
        raise InputError(f"benchmark {name!r} has no samples on either side; drop it")
    if item.direction not in ("lower", "higher"):
        raise InputError(f"benchmark {name!r}: direction {item.direction!r}; use lower or higher")
    if not (math.isfinite(item.threshold) and item.threshold > 0):
        raise InputError(
            f"benchmark {name!r}: threshold {item.threshold!r} must be a positive percentage"
        )
    for side, values in (("base", item.base), ("head", item.head)):
        if values is None:
            continue
        if len(values) == 0:
            raise InputError(
                f"benchmark {name!r} has an empty {side} side; pass None for a benchmark that "
                "does not exist there, or measure it"
            )
        if not all(math.isfinite(value) and value > 0 for value in values):
            raise InputError(
                f"benchmark {name!r}: {side} values must be finite and > 0 (pyperf's rule); "
                "re-run the benchmark"
            )
    if (
        item.paired
        and item.base is not None
        and item.head is not None
        and len(item.base) != len(item.head)
    ):
        raise InputError(
            f"benchmark {name!r} is paired but has {len(item.base)} base and "
            f"{len(item.head)} head values; pass one (base, head) pair per A/B round"
        )
    _validate_ratios(item)


def _validate_ratios(item: BenchmarkSamples) -> None:
    if item.ratios is None:
        return
    name = item.benchmark
    if not item.paired or item.base is None or len(item.ratios) != len(item.base):
        raise InputError(
            f"benchmark {name!r}: within-pair ratios need paired sides and one ratio per pair"
        )
    if not all(math.isfinite(ratio) and ratio > 0 for ratio in item.ratios):
        raise InputError(f"benchmark {name!r}: within-pair ratios must be finite and > 0")


# -- measurement ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Measured:
    """What the data say before the check-wide q-values exist."""

    n_base: int
    n_head: int
    effect: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    mde_percent: float | None = None
    test: TestName | None = None


def _measure(item: BenchmarkSamples, alpha: float, n_resamples: int, seed: int) -> _Measured:
    if item.base is None or item.head is None:
        return _Measured(
            n_base=0 if item.base is None else len(item.base),
            n_head=0 if item.head is None else len(item.head),
        )
    base = np.asarray(item.base, dtype=float)
    head = np.asarray(item.head, dtype=float)
    if np.all(base == base[0]) and np.all(head == head[0]):
        effect = float(head[0] / base[0])
        if item.channel in DETERMINISTIC_CHANNELS or min(base.size, head.size) >= 2:
            return _Measured(base.size, head.size, effect, effect, effect, None, 0.0, "exact")
        # One value on a side of a noisy channel (a time benchmark that got a single process or
        # pair before the budget ran out) shows no spread because there is none to see: the
        # point estimate is reported, the verdict is inconclusive.
        return _Measured(base.size, head.size, effect, effect, effect)
    if item.ratios is not None:
        return _measure_ratios(base.size, head.size, np.log(np.asarray(item.ratios)), alpha)
    rng = np.random.default_rng([seed, zlib.crc32(f"{item.channel}\0{item.benchmark}".encode())])
    test: TestName
    if item.paired:
        log_ratios = np.log(head) - np.log(base)
        effect = math.exp(float(np.median(log_ratios)))
        picks = rng.integers(0, log_ratios.size, size=(n_resamples, log_ratios.size))
        boot_log = np.median(log_ratios[picks], axis=1)
        p = _wilcoxon_p(log_ratios)
        test = "wilcoxon"
    else:
        effect = float(np.median(head) / np.median(base))
        base_picks = rng.integers(0, base.size, size=(n_resamples, base.size))
        head_picks = rng.integers(0, head.size, size=(n_resamples, head.size))
        boot_log = np.log(np.median(head[head_picks], axis=1)) - np.log(
            np.median(base[base_picks], axis=1)
        )
        p = _mann_whitney_p(base, head)
        test = "mann-whitney"
    low, high = np.quantile(boot_log, [alpha / 2, 1 - alpha / 2])
    mde = None
    if min(base.size, head.size) >= MIN_PROCESSES:
        z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(_MDE_POWER)
        mde = math.expm1(z * float(np.std(boot_log, ddof=1))) * 100.0
    return _Measured(
        base.size, head.size, effect, math.exp(float(low)), math.exp(float(high)), p, mde, test
    )


def _measure_ratios(
    n_base: int, n_head: int, logs: npt.NDArray[np.float64], alpha: float
) -> _Measured:
    """Slice-interleaved pairs: the 20 % trimmed mean of the pairs' log estimates, its Yuen
    interval and Yuen's one-sample trimmed t-test (``yuen``)."""
    if logs.size < 2:
        effect = math.exp(float(logs[0]))
        return _Measured(n_base, n_head, effect, effect, effect)
    center, se, df = _trimmed(logs)
    from scipy.stats import t as student  # type: ignore[import-untyped, unused-ignore]

    if se > 0:
        p = float(2 * student.sf(abs(center) / se, df))
        half = float(student.ppf(1 - alpha / 2, df)) * se
    else:  # every pair agrees exactly: no spread to test against
        p, half = (1.0 if center == 0 else 0.0), 0.0
    mde = None
    if min(n_base, n_head) >= MIN_PROCESSES:
        z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(_MDE_POWER)
        mde = math.expm1(z * se) * 100.0
    return _Measured(
        n_base,
        n_head,
        math.exp(center),
        math.exp(center - half),
        math.exp(center + half),
        p,
        mde,
        "yuen",
    )


def _trimmed(logs: npt.NDArray[np.float64]) -> tuple[float, float, int]:
    """(trimmed mean, its standard error, degrees of freedom) of Yuen's method: cut
    ``g = floor(TRIM * n)`` values from each end; the error comes from the winsorized variance,
    ``se = sqrt((n - 1) * s_w^2 / (h * (h - 1)))`` with ``h = n - 2g`` kept values, on
    ``h - 1`` degrees of freedom (Wilcox, Introduction to Robust Estimation, 4.5)."""
    ordered = np.sort(logs)
    n = ordered.size
    g = math.floor(TRIM * n)
    h = n - 2 * g
    center = float(np.mean(ordered[g : n - g]))
    winsorized = np.clip(ordered, ordered[g], ordered[n - g - 1])
    variance = float(np.var(winsorized, ddof=1))
    se = math.sqrt((n - 1) * variance / (h * (h - 1)))
    return center, se, h - 1


def _mann_whitney_p(base: npt.NDArray[np.float64], head: npt.NDArray[np.float64]) -> float:
    # Imported here: scipy.stats takes ~0.5 s to import, which perfkit-report commands that never
    # compare anything (ingest, summary) would pay for nothing. scipy ships no type stubs.
    from scipy.stats import mannwhitneyu  # type: ignore[import-untyped, unused-ignore]

    # The exact null distribution whenever it is valid (no ties) and cheap (up to 100 a side,
    # a few ms): scipy's "auto" switches to the normal approximation above 8 a side, whose
    # continuity-corrected tails are 2-7 times too large at 10-20 a side (complete separation of
    # 10 vs 10: 1.8e-4 instead of 1.1e-5), which costs power exactly where BH needs small
    # p-values. With ties, the normal approximation with tie correction (the exact distribution
    # does not account for ties).
    pooled = np.concatenate([base, head])
    exact = np.unique(pooled).size == pooled.size and max(base.size, head.size) <= 100
    method = "exact" if exact else "asymptotic"
    return float(mannwhitneyu(head, base, alternative="two-sided", method=method).pvalue)


def _wilcoxon_p(log_ratios: npt.NDArray[np.float64]) -> float:
    from scipy.stats import wilcoxon  # type: ignore[import-untyped, unused-ignore]

    if np.all(log_ratios == 0):
        # Every pair measured exactly equal: no evidence of any change (scipy would return NaN
        # after dropping every zero).
        return 1.0
    return float(
        wilcoxon(log_ratios, zero_method="wilcox", alternative="two-sided", method="auto").pvalue
    )


def _bh(ps: Sequence[float]) -> list[float]:
    if not ps:
        return []
    from scipy.stats import false_discovery_control  # type: ignore[import-untyped, unused-ignore]

    return [float(q) for q in false_discovery_control(list(ps), method="bh")]


# -- decision ------------------------------------------------------------------------------------


def _at_least(value: float, limit: float) -> bool:
    return value >= limit or math.isclose(value, limit, rel_tol=_REL_TOL)


def _decide(
    item: BenchmarkSamples, measured: _Measured, q: float | None, alpha: float
) -> BenchmarkVerdict:
    verdict: VerdictName
    severity: SeverityName | None = None
    if measured.effect is None or measured.ci_low is None or measured.ci_high is None:
        verdict = "added" if item.base is None else "removed"
    else:
        verdict = _verdict(item, measured, measured.ci_low, measured.ci_high, q, alpha)
    if verdict == "regressed":
        assert measured.effect is not None
        change = (measured.effect - 1.0) * 100.0
        regression = change if item.direction == "lower" else -change
        t = item.threshold
        bands = item.severity or SeverityBands(*(t * factor for factor in _DEFAULT_BANDS))
        # Rounded: 115 / 100 - 1 is 0.1499999..., which must reach a 15 % band.
        reached = bands.classify(round(regression, 9))
        severity = (
            "critical" if reached == "critical" else "major" if reached == "major" else "minor"
        )
    return BenchmarkVerdict(
        benchmark=item.benchmark,
        channel=item.channel,
        verdict=verdict,
        severity=severity,
        effect=measured.effect,
        ci_low=measured.ci_low,
        ci_high=measured.ci_high,
        p=measured.p,
        q=q,
        mde_percent=measured.mde_percent,
        n_base=measured.n_base,
        n_head=measured.n_head,
        paired=item.paired,
        test=measured.test,
        direction=item.direction,
        threshold=item.threshold,
    )


def _verdict(
    item: BenchmarkSamples,
    measured: _Measured,
    ci_low: float,
    ci_high: float,
    q: float | None,
    alpha: float,
) -> VerdictName:
    t = item.threshold
    # The estimate and its interval as percent changes with the worse direction positive.
    low, high = (ci_low - 1.0) * 100.0, (ci_high - 1.0) * 100.0
    worse_low, worse_high = (low, high) if item.direction == "lower" else (-high, -low)
    assert measured.effect is not None
    change = (measured.effect - 1.0) * 100.0
    reached = _reached(change if item.direction == "lower" else -change, t)
    if measured.test == "exact":
        # The interval is the point: the threshold alone decides (no test, no q).
        return reached or "same"
    if min(measured.n_base, measured.n_head) < MIN_PROCESSES:
        return "inconclusive"
    if reached is not None and q is not None and q < alpha:
        return reached
    if -t < worse_low and worse_high < t:
        return "same"
    return "inconclusive"


def _reached(worse: float, threshold: float) -> Literal["regressed", "improved"] | None:
    """Which side of the threshold the estimate (percent, the worse direction positive) is at or
    beyond (worse: regressed; better: improved), or None when it is inside it."""
    if _at_least(worse, threshold):
        return "regressed"
    if _at_least(-worse, threshold):
        return "improved"
    return None


# -- more samples --------------------------------------------------------------------------------


def _could_regress(verdict: BenchmarkVerdict) -> bool:
    ci = verdict.ci_percent
    if ci is None:
        return True
    worst = ci[1] if verdict.direction == "lower" else -ci[0]
    return _at_least(worst, verdict.threshold)


def _suggested(verdict: BenchmarkVerdict, n: int) -> int:
    """Processes per side at which the interval, shrinking as 1/sqrt(n), would clear the
    decision boundary nearest to the effect (the threshold on either side)."""
    if n < MIN_PROCESSES:
        return MIN_PROCESSES
    cap = _MAX_GROWTH * n
    if verdict.ci_low is None or verdict.ci_high is None or verdict.effect is None:
        return cap
    half_width = (math.log(verdict.ci_high) - math.log(verdict.ci_low)) / 2
    t = verdict.threshold / 100.0
    boundaries = [math.log1p(t)] + ([math.log1p(-t)] if t < 1 else [])
    distance = min(abs(math.log(verdict.effect) - boundary) for boundary in boundaries)
    if distance <= 0 or half_width <= 0:
        return cap
    return max(n + 1, min(cap, math.ceil(n * (half_width / distance) ** 2)))
