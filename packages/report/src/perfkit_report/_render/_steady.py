"""Trends that do not cry wolf: one run's noise, and the change points that stand out of it.

Pure functions on one benchmark's values, one per run in run order, each with the identity of
the code it measured (``RunValue.code``: the commit). Which values to feed (CPU time, the ratio to
a same-run reference, or the value itself) is the dashboard's choice; this module only reads them.

Why: on a shared machine a run today and a run tomorrow differ by far more than a real regression
(a busy neighbour doubles wall time here; CPU time moves under 5 %). A step detector fed such
runs finds "regressions" in the load, and a step between two runs of one commit is noise by
definition. So:

1. **The noise of one run**, ``noise``: the relative spread (sigma) between runs of the same
   code. Runs that share a commit give it directly (pooled deviations from each commit's
   median); any series gives it as the spread of its runs around the level of their segment
   (between the steps the engine proposed, so a step is not counted as noise). Where both
   exist the larger is used: repeats made back to back see one moment's load, a trend spans
   days of different loads. A standard deviation, not a median deviation: a busy hour that
   moved a few runs widens the band, which is what a reader must allow for.
2. **The noise band**: the level (the median of the segment between change points) +-
   ``BAND_SIGMAS`` sigma; 2 sigma holds ~95 % of the runs of unchanged code.
3. **A change point** is proposed by the engine (``_trend.change_points``) and then
   - moved to the nearest boundary between two commits inside its segment, or dropped where
     there is none: runs of one commit never make a change point between them;
   - kept only when the step moves the level out of the noise band (at least ``BAND_SIGMAS``
     sigma, and the engine's minimum change);
   - and only when **confirmed**: at least ``CONFIRM_RUNS`` runs after it, and the median of
     those first runs is past the midpoint between the two levels. One or two wild runs (a
     neighbour that ran for a while) do not confirm a step; a real one does at once.
   A step seen in fewer runs than that is *pending*: shown as such, never as a regression.

``CONFIRM_RUNS`` = 3: the least that outvotes one wild run (the median of three), and the
segment length the engines already need (``MIN_SEGMENT``), so a step is reported three runs
after it happened: a few days of nightly runs, a day of runs per merge.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from perfkit_report._render._trend import DEFAULT_ENGINE, ChangePoint, change_points

__all__ = [
    "BAND_SIGMAS",
    "CONFIRM_RUNS",
    "MAX_PVALUE",
    "MIN_STEP",
    "Noise",
    "Pending",
    "RunValue",
    "SteadyTrend",
    "analyse",
    "noise",
]

# The smallest step reported (the noise band may ask for more). The engines' own floor of 5 %
# dropped about half of the real 5 % steps (a step's estimate scatters around its size); below
# 3 % the paired A/B gate (nox -s regression) is the tool.
MIN_STEP = 0.03
# The engine's significance for a proposed step. Looser than its default (1e-4, set for
# single series of up to 900 points read without a noise band): here the band and the
# confirmation rule out what noise proposes. Measured with ruptures on 500 flat series of 20
# runs (1.5 % noise): no change point at 1e-3 or 1e-4; a 5 % step in 12 runs (1 % noise) found
# 98 % of the time at 1e-3, 82 % at 1e-4.
MAX_PVALUE = 1e-3
# Half-width of the noise band in sigmas of one run: ~95 % of unchanged runs fall inside.
BAND_SIGMAS = 2.0
# Runs after a step that must confirm it (the module docstring says why three).
CONFIRM_RUNS = 3


@dataclass(frozen=True, slots=True)
class RunValue:
    """One run's value of the series."""

    run: int
    value: float
    code: str
    """The measured code's identity: runs with the same code measured the same thing."""


@dataclass(frozen=True, slots=True)
class Noise:
    """The relative spread of one run's value between runs of unchanged code."""

    sigma: float
    """Relative standard deviation (0.02: 2 % of the level)."""
    source: str
    """How it was estimated, in words."""


@dataclass(frozen=True, slots=True)
class Pending:
    """The last runs lie out of the noise band on one side: maybe a step, not yet confirmed."""

    runs: int
    change: float
    """Relative change of their median against the level before them."""


@dataclass(frozen=True, slots=True)
class SteadyTrend:
    """A series' change points, levels and noise band."""

    values: tuple[RunValue, ...]
    noise: Noise | None
    levels: tuple[float, ...]
    """The level (segment median) under each value."""
    changes: tuple[ChangePoint, ...]
    """Confirmed change points; ``index`` is into ``values``."""
    pending: Pending | None

    def band(self, index: int) -> tuple[float, float]:
        """(low, high) of the noise band at a value; the level itself without a noise figure."""
        level = self.levels[index]
        width = BAND_SIGMAS * self.noise.sigma if self.noise is not None else 0.0
        return level * (1.0 - width), level * (1.0 + width)


def noise(values: Sequence[RunValue], steps: Sequence[int] = ()) -> Noise | None:
    """The relative sigma of one run (module docstring, 1); None for fewer than 3 values or a
    level of 0. ``steps`` are the proposed change points: the spread is taken around the level
    of each segment between them, so a real step does not count as noise."""
    numbers = [item.value for item in values]
    levels = _levels(numbers, sorted(steps))
    if len(numbers) < 3 or 0 in levels:
        return None
    residuals = [value / level - 1.0 for value, level in zip(numbers, levels, strict=True)]
    freedom = len(numbers) - len(steps) - 1
    around = (sum(r * r for r in residuals) / max(freedom, 1)) ** 0.5
    groups: dict[str, list[float]] = {}
    for item in values:
        groups.setdefault(item.code, []).append(item.value)
    repeats = [group for group in groups.values() if len(group) >= 2]
    deviations = [value / statistics.median(group) - 1.0 for group in repeats for value in group]
    pooled_freedom = sum(len(group) - 1 for group in repeats)
    runs = f"the spread of {len(numbers)} runs around their level"
    if pooled_freedom < 2:
        return Noise(around, runs)
    pooled = (sum(d * d for d in deviations) / pooled_freedom) ** 0.5
    source = f"{sum(map(len, repeats))} runs of {len(repeats)} commit(s) measured more than once"
    if around > pooled:
        return Noise(around, f"{runs} (above {source})")
    return Noise(pooled, source)


def analyse(
    values: Sequence[RunValue],
    *,
    engine: str = DEFAULT_ENGINE,
    min_change: float = MIN_STEP,
) -> SteadyTrend:
    """Change points of ``values`` that stand out of their noise and are confirmed."""
    numbers = [item.value for item in values]
    proposed = (
        change_points(numbers, engine=engine, min_change=min_change, max_pvalue=MAX_PVALUE)
        if numbers
        else []
    )
    spread = noise(values, [point.index for point in proposed])
    least = max(min_change, BAND_SIGMAS * spread.sigma if spread is not None else 0.0)
    codes = [item.code for item in values]
    indexes = _on_commit_boundaries([point.index for point in proposed], codes)
    pvalues = {point.index: point.pvalue for point in proposed}
    kept = _standing_out(numbers, indexes, least)
    changes = _segments(numbers, kept, {index: _pvalue(index, pvalues) for index in kept})
    return SteadyTrend(
        values=tuple(values),
        noise=spread,
        levels=tuple(_levels(numbers, kept)),
        changes=tuple(changes),
        pending=_pending(numbers, changes, least),
    )


def _pvalue(index: int, pvalues: dict[int, float]) -> float:
    """The engine's p of the proposal nearest to a (moved) index."""
    nearest = min(pvalues, key=lambda proposed: (abs(proposed - index), proposed))
    return pvalues[nearest]


def _on_commit_boundaries(indexes: Sequence[int], codes: Sequence[str]) -> list[int]:
    """Each index moved to the nearest commit boundary between its neighbours, or dropped."""
    placed: list[int] = []
    ordered = sorted(indexes)
    for k, index in enumerate(ordered):
        low = placed[-1] if placed else 0
        high = ordered[k + 1] if k + 1 < len(ordered) else len(codes)
        boundaries = [j for j in range(low + 1, high) if codes[j - 1] != codes[j]]
        if boundaries:
            placed.append(min(boundaries, key=lambda j: (abs(j - index), j)))
    return sorted(set(placed))


def _standing_out(numbers: Sequence[float], indexes: Sequence[int], least: float) -> list[int]:
    """Drop, weakest first, the steps smaller than ``least`` or not confirmed, recomputing the
    segments after each drop (a dropped step merges its two segments)."""
    kept = list(indexes)
    while kept:
        verdicts = {index: _verdict(numbers, kept, index, least) for index in kept}
        failing = [index for index, strength in verdicts.items() if strength is None]
        if not failing:
            return kept
        kept.remove(failing[0])
    return kept


def _verdict(
    numbers: Sequence[float], indexes: Sequence[int], index: int, least: float
) -> float | None:
    """The step's relative size when it is large enough and confirmed, else None."""
    bounds = [0, *indexes, len(numbers)]
    k = bounds.index(index)
    before = statistics.median(numbers[bounds[k - 1] : index])
    after = statistics.median(numbers[index : bounds[k + 1]])
    if before == 0 or abs(after / before - 1.0) < least:
        return None
    following = numbers[index : index + CONFIRM_RUNS]
    if len(following) < CONFIRM_RUNS:
        return None
    midpoint = (before + after) / 2.0
    confirming = statistics.median(following)
    past = confirming > midpoint if after > before else confirming < midpoint
    return abs(after / before - 1.0) if past else None


def _segments(
    numbers: Sequence[float], indexes: Sequence[int], pvalues: dict[int, float]
) -> list[ChangePoint]:
    bounds = [0, *indexes, len(numbers)]
    return [
        ChangePoint(
            index,
            statistics.median(numbers[bounds[k - 1] : index]),
            statistics.median(numbers[index : bounds[k + 1]]),
            pvalues[index],
        )
        for k, index in enumerate(indexes, start=1)
    ]


def _levels(numbers: Sequence[float], indexes: Sequence[int]) -> list[float]:
    bounds = [0, *indexes, len(numbers)]
    levels: list[float] = []
    for start, end in itertools.pairwise(bounds):
        levels += [statistics.median(numbers[start:end])] * (end - start)
    return levels


def _pending(
    numbers: Sequence[float], changes: Sequence[ChangePoint], least: float
) -> Pending | None:
    """The last CONFIRM_RUNS - 1 runs when they all lie out of the band on one side."""
    start = changes[-1].index if changes else 0
    size = CONFIRM_RUNS - 1  # one run out of the band is an outlier (1 in 20), two are news
    head, tail = numbers[start:-size], numbers[-size:]
    if len(head) < CONFIRM_RUNS or statistics.median(head) == 0:
        return None
    level = statistics.median(head)
    moves = [value / level - 1.0 for value in tail]
    if all(move >= least for move in moves) or all(-move >= least for move in moves):
        return Pending(size, statistics.median(tail) / level - 1.0)
    return None
