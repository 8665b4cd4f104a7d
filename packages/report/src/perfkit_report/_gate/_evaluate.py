"""``perfkit-report evaluate``: the regression gate's own false-alarm rate and power, measured.

Input: out-dirs of ``perfkit-bench ab`` (``base.json`` + ``head.json``, one pyperf run per worker
process in pair order, read by ``_abpairs.load_pairs``), each holding many pairs per benchmark.

- ``--aa DIR``: an **A/A** session, the same revision on both sides. Every flag is false.
- ``--inject DIR``: an **injection** session, the head workload of some benchmarks slowed by a
  calibrated busy-wait of ``perfkit_injected_percent`` percent. Flags on those are catches.

Checks
------
Each benchmark's pairs are cut into ``k = floor(pairs / N)`` **disjoint, consecutive** blocks of
``N = --pairs-per-check`` pairs (the leftover pairs are unused; with unequal pair counts the
benchmark with the fewest sets ``k``). Block ``j`` of every benchmark of a session together is
check ``j``: one full check of the suite, as the gate would run it on ``N`` pairs. Disjoint
blocks make the checks independent samples of the gate's behaviour (overlapping windows would
count one lucky stretch of pairs several times and understate the interval).

On the **same** block of samples, three rules decide:

- ``gate``: perfkit's detector (``_detector.detect``) on the pairs (slice pairs: their
  within-pair estimates; process pairs: the per-process medians), with Benjamini-Hochberg across
  the check. A benchmark is flagged when its verdict is ``regressed`` or ``improved`` (q < alpha
  **and** the estimate at or beyond the threshold).
- ``pyperf``: ``pyperf compare_to``'s significance rule, pyperf's own ``is_significant_benchs``
  (a two-sample t-test at 95 % on the raw values of the two sides, every value counted as
  independent), benchmark by benchmark with no multiple-comparison control, as compare_to does.
- ``naive``: a fixed threshold: the ratio of the means of the raw values changed by at least
  ``NAIVE_THRESHOLD`` percent either way (the fixed-ratio gates of the field).

A/A: a check **alarms** when any benchmark is flagged; the false-alarm rate per check is
alarmed checks / checks (the issue's goal: at most 1 %), with a 95 % Clopper-Pearson interval
(``scipy.stats.binomtest(...).proportion_ci``); the rate per benchmark comparison is flagged
comparisons / (checks x benchmarks).

What "caught" means
-------------------
An injected slowdown is **caught** in a check when the rule flags the slowed benchmark as a
*regression* (the gate: verdict ``regressed``; pyperf: significant and slower; naive: at least
10 % slower). ``inconclusive`` is not caught (the check as run is the evidence; the gate's
``needs_more`` extension is not simulated, so ``N`` must be the number of pairs the gate really
runs), nor is a flag in the wrong direction. A check **detects** the injection when every
slowed benchmark of it is caught; power per check = detecting checks / checks, and the detection
rate per benchmark = catches / comparisons. Flags on the benchmarks that were *not* slowed in an
injection session are counted as ``other alarms``: a rule that flags everything would otherwise
look powerful (pyperf's t-test does).

The gate reports ``regressed`` only when the estimate reaches the benchmark's threshold, so its
power depends on the threshold as much as on the noise: under the default 10 % threshold a 2 %
or 5 % slowdown is ``same`` or ``inconclusive`` by design, practically never caught.
``--threshold PERCENT`` replaces every benchmark's threshold (e.g. 1 %) for the evaluation; the
threshold used is reported with every figure, and a note flags injections at or under it.

Calibration: the median change each rule measured on the slowed benchmarks (the gate: the
median of the per-pair ratios; pyperf / naive: the ratio of means), next to the injected
percent. A busy-wait calibrated to ``x`` percent should read about ``+x %``.

Outputs (``_evaluation_report``): a table (rich on a terminal, plain text otherwise), Markdown
(``--out``), JSON (``--json``, ``EVALUATION_FORMAT_VERSION``), and rows in history.db's
``evaluations`` table (one per rule x injected percent, in one transaction) under one evaluation
label.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyperf

from perfkit_report._exceptions import InputError, PerfkitReportError
from perfkit_report._gate._abpairs import PairedSamples, load_pairs
from perfkit_report._gate._detector import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    MIN_PROCESSES,
    BenchmarkSamples,
    Direction,
    detect,
)
from perfkit_report._history import format_timestamp, now_utc
from perfkit_report._targets import (
    DEFAULT_DIRECTION,
    DEFAULT_THRESHOLD,
    SeverityBands,
    Targets,
)

__all__ = [
    "CONFIDENCE",
    "METHODS",
    "NAIVE_THRESHOLD",
    "BenchmarkRate",
    "Evaluation",
    "Method",
    "MethodResult",
    "SessionInfo",
    "evaluate",
]

Method = Literal["gate", "pyperf", "naive"]
METHODS: tuple[Method, ...] = ("gate", "pyperf", "naive")
# The fixed-ratio rule of github-action-benchmark, pytest-benchmark and CodSpeed: 10 %.
NAIVE_THRESHOLD = 10.0
# The level of the Clopper-Pearson intervals around every rate.
CONFIDENCE = 0.95
# The goals for the gate (issue 4, section 6): at most 1 % false alarms per full check,
# at least 95 % of 5 % slowdowns and 80 % of 2 % slowdowns caught. Shown next to the gate's rows.
_GOALS: dict[float, tuple[str, float]] = {0.0: ("<=", 1.0), 5.0: (">=", 95.0), 2.0: (">=", 80.0)}
_REL_TOL = 1e-9
_SIDES = ("base", "head")

Flag = Literal["regressed", "improved"]


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One out-dir as the evaluation used it."""

    directory: str
    mode: Literal["aa", "inject"]
    injected_percent: float
    """0 for A/A; else the session's injected slowdown, percent."""
    benchmarks: int
    pairs: int
    """The fewest pairs of any benchmark of the session."""
    checks: int
    unused_pairs: int
    """Pairs of that benchmark beyond the last full block."""


@dataclass(frozen=True, slots=True)
class BenchmarkRate:
    """One benchmark under one rule at one injection level, over every check."""

    benchmark: str
    injected_percent: float
    """What was injected into this benchmark (0: not slowed, even in an injection session)."""
    threshold: float
    """The gate's threshold for it, percent."""
    comparisons: int
    flagged: int
    """Not slowed: checks in which the rule flagged it (either way; all false). Slowed: checks in
    which it was caught (flagged as a regression)."""
    regressed: int
    improved: int
    median_change_percent: float | None
    """The median, over checks, of the change the rule measured (head vs base, percent)."""

    @property
    def rate(self) -> float:
        """flagged / comparisons."""
        return self.flagged / self.comparisons if self.comparisons else 0.0


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One rule at one injection level: the row of the table and of ``evaluations``."""

    method: Method
    injected_percent: float
    checks: int
    flagged_checks: int
    """A/A: checks that alarmed (any benchmark flagged). Injection: checks that detected it
    (every slowed benchmark caught)."""
    ci_low: float
    ci_high: float
    """Clopper-Pearson 95 % interval of flagged_checks / checks."""
    comparisons: int
    """A/A: benchmark comparisons (checks x benchmarks). Injection: those of slowed benchmarks."""
    flagged_comparisons: int
    other_alarm_checks: int
    """Injection: checks in which a benchmark that was not slowed was flagged (0 for A/A)."""
    failing_checks: int
    """Checks in which a benchmark that was not slowed was flagged as a *regression*: those in
    which the gate would fail CI for nothing (A/A: the false failures among the alarms)."""
    median_change_percent: float | None
    """Median change measured on the slowed benchmarks (A/A: on all), percent."""
    benchmarks: tuple[BenchmarkRate, ...]

    @property
    def rate(self) -> float:
        """flagged_checks / checks: the false-alarm rate (A/A) or the power (injection)."""
        return self.flagged_checks / self.checks if self.checks else 0.0

    @property
    def comparison_rate(self) -> float:
        """flagged_comparisons / comparisons: per benchmark."""
        return self.flagged_comparisons / self.comparisons if self.comparisons else 0.0

    @property
    def goal(self) -> tuple[str, float] | None:
        """The issue's goal for this row (gate rows at A/A, 2 % and 5 % only)."""
        return _GOALS.get(self.injected_percent) if self.method == "gate" else None

    @property
    def goal_met(self) -> bool | None:
        """Whether the measured rate meets the goal (the point estimate; see the interval)."""
        goal = self.goal
        if goal is None:
            return None
        sign, limit = goal
        percent = self.rate * 100.0
        return percent <= limit if sign == "<=" else percent >= limit


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A whole evaluation: its settings, the sessions it read and one result per rule x level."""

    evaluation: str
    created: str
    pairs_per_check: int
    alpha: float
    threshold: float | None
    """--threshold, or None: each benchmark's threshold from targets (or the default)."""
    thresholds: tuple[float, ...]
    """The distinct gate thresholds actually used, ascending."""
    targets: str | None
    n_resamples: int
    seed: int
    sessions: tuple[SessionInfo, ...]
    results: tuple[MethodResult, ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def threshold_text(self) -> str:
        """The gate's threshold as shown: ``1%``, or ``5-10%`` when targets vary it."""
        low, high = self.thresholds[0], self.thresholds[-1]
        return f"{low:g}%" if low == high else f"{low:g}-{high:g}%"

    @property
    def threshold_source(self) -> str:
        """Where the gate's threshold came from."""
        if self.threshold is not None:
            return "--threshold"
        if self.targets is not None:
            return f"targets {self.targets}"
        return "default"


# -- reading the sessions ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Bench:
    name: str
    channel: str
    base: tuple[float, ...]
    head: tuple[float, ...]
    base_runs: tuple[Any, ...]
    """pyperf Run objects with values, in pair order (the raw values compare_to tests)."""
    head_runs: tuple[Any, ...]
    injected: float
    direction: Direction
    ratios: tuple[float, ...] | None
    threshold: float
    severity: SeverityBands | None


@dataclass(frozen=True, slots=True)
class _Session:
    info: SessionInfo
    benches: tuple[_Bench, ...]


def _side_file(directory: Path, side: str) -> Path:
    for name in (f"{side}.json", f"{side}.json.gz"):
        if (directory / name).is_file():
            return directory / name
    raise InputError(
        f"{directory}: no {side}.json; pass an out-dir written by perfkit-bench ab (it holds "
        "base.json and head.json)"
    )


def _raw_runs(path: Path) -> dict[str, tuple[Any, ...]]:
    """Per benchmark, pyperf's runs that hold values (the processes ``summarize`` keeps)."""
    # load_pairs has validated the file already (read_result_file); pyperf reads it again only
    # for the raw values per process, which ParsedResult keeps flat.
    suite = pyperf.BenchmarkSuite.load(str(path))
    return {
        str(bench.get_name()): tuple(run for run in bench.get_runs() if run.values)
        for bench in suite.get_benchmarks()
    }


def _read_session(
    directory: Path,
    mode: Literal["aa", "inject"],
    pairs_per_check: int,
    targets: Targets | None,
    threshold: float | None,
) -> _Session:
    flag = "--aa" if mode == "aa" else "--inject"
    if not directory.is_dir():
        raise InputError(
            f"{flag} {directory}: no such directory; pass the out-dir of a perfkit-bench ab run"
        )
    base_path, head_path = _side_file(directory, "base"), _side_file(directory, "head")
    pairs = load_pairs(base_path, head_path)
    raw = {"base": _raw_runs(base_path), "head": _raw_runs(head_path)}
    benches: list[_Bench] = []
    for name, pair in pairs.items():
        benches.append(_bench(directory, name, pair, raw, targets, threshold))
    levels = sorted({bench.injected for bench in benches if bench.injected > 0})
    if mode == "aa" and levels:
        raise InputError(
            f"--aa {directory}: its head side was slowed by {levels[0]:g}% "
            "(perfkit_injected_percent); pass it with --inject"
        )
    if mode == "inject" and not levels:
        raise InputError(
            f"--inject {directory}: no benchmark was slowed (no perfkit_injected_percent); "
            "pass an A/A session with --aa"
        )
    if len(levels) > 1:
        shown = ", ".join(f"{level:g}%" for level in levels)
        raise InputError(
            f"--inject {directory}: mixes injection levels ({shown}); run one level per out-dir"
        )
    fewest = min(benches, key=lambda bench: len(bench.base))
    n_pairs = len(fewest.base)
    if n_pairs < pairs_per_check:
        raise InputError(
            f"{flag} {directory}: benchmark {fewest.name!r} has {n_pairs} pairs, fewer than one "
            f"check of --pairs-per-check {pairs_per_check}; run at least {pairs_per_check} "
            "pairs or lower --pairs-per-check"
        )
    checks = n_pairs // pairs_per_check
    info = SessionInfo(
        directory=str(directory),
        mode=mode,
        injected_percent=levels[0] if levels else 0.0,
        benchmarks=len(benches),
        pairs=n_pairs,
        checks=checks,
        unused_pairs=n_pairs - checks * pairs_per_check,
    )
    return _Session(info, tuple(benches))


def _bench(
    directory: Path,
    name: str,
    pair: PairedSamples,
    raw: dict[str, dict[str, tuple[Any, ...]]],
    targets: Targets | None,
    threshold: float | None,
) -> _Bench:
    if pair.base is None or pair.head is None:
        side = "head" if pair.base is None else "base"
        raise InputError(
            f"{directory}: benchmark {name!r} is on the {side} side only; evaluate needs every "
            "benchmark on both sides (re-run perfkit-bench ab)"
        )
    if not pair.paired:
        raise InputError(
            f"{directory}: benchmark {name!r} is not an A/B pair (base.json and head.json need "
            "perfkit_ab_side base/head, one perfkit_ab_seed and as many processes each); pass "
            "an out-dir written by perfkit-bench ab"
        )
    runs = {side: raw[side].get(name, ()) for side in _SIDES}
    for side, medians in (("base", pair.base), ("head", pair.head)):
        if len(runs[side]) != len(medians):
            raise InputError(
                f"{directory}: benchmark {name!r} has {len(runs[side])} {side} processes with "
                f"values but {len(medians)} process medians; re-run perfkit-bench ab"
            )
    return _Bench(
        name=name,
        channel=pair.channel,
        base=pair.base,
        head=pair.head,
        base_runs=runs["base"],
        head_runs=runs["head"],
        injected=pair.injected_percent,
        direction=targets.direction_for(name) if targets else DEFAULT_DIRECTION,
        ratios=pair.ratios,
        threshold=threshold
        if threshold is not None
        else (targets.threshold_for(name) if targets else DEFAULT_THRESHOLD),
        severity=targets.severity_for(name) if targets else None,
    )


# -- the three rules on one check ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    """One rule's answer for one benchmark in one check."""

    flag: Flag | None
    change_percent: float | None


def _at_least(value: float, limit: float) -> bool:
    return value >= limit or math.isclose(value, limit, rel_tol=_REL_TOL)


def _worse(change: float, direction: Direction) -> float:
    """The change with the worse direction positive."""
    return change if direction == "lower" else -change


def _gate(
    benches: Sequence[_Bench], block: slice, alpha: float, n_resamples: int, seed: int
) -> dict[str, _Call]:
    verdicts = detect(
        [
            BenchmarkSamples(
                benchmark=bench.name,
                base=bench.base[block],
                head=bench.head[block],
                direction=bench.direction,
                threshold=bench.threshold,
                severity=bench.severity,
                channel=bench.channel,
                paired=True,
                ratios=bench.ratios[block] if bench.ratios is not None else None,
            )
            for bench in benches
        ],
        alpha=alpha,
        n_resamples=n_resamples,
        seed=seed,
    )
    calls: dict[str, _Call] = {}
    for verdict in verdicts:
        flag: Flag | None = None
        if verdict.verdict == "regressed":
            flag = "regressed"
        elif verdict.verdict == "improved":
            flag = "improved"
        calls[verdict.benchmark] = _Call(flag, verdict.change_percent)
    return calls


def _mean_change(bench: _Bench, block: slice) -> float:
    base = [value for run in bench.base_runs[block] for value in run.values]
    head = [value for run in bench.head_runs[block] for value in run.values]
    return (statistics.fmean(head) / statistics.fmean(base) - 1.0) * 100.0


def _significance() -> Callable[[Any, Any], tuple[bool, Any]]:
    try:
        from pyperf._compare import is_significant_benchs
    except ImportError as exc:  # pragma: no cover - pyperf moved its private helper
        raise PerfkitReportError(
            f"this pyperf ({pyperf.__version__}) has no pyperf._compare.is_significant_benchs, "
            "compare_to's significance rule; install the pyperf version perfkit pins"
        ) from exc
    rule: Callable[[Any, Any], tuple[bool, Any]] = is_significant_benchs
    return rule


def _pyperf(benches: Sequence[_Bench], block: slice) -> dict[str, _Call]:
    significant_benchs = _significance()
    calls: dict[str, _Call] = {}
    for bench in benches:
        base = pyperf.Benchmark(list(bench.base_runs[block]))
        head = pyperf.Benchmark(list(bench.head_runs[block]))
        significant, _t = significant_benchs(base, head)
        change = _mean_change(bench, block)
        flag: Flag | None = None
        if significant:
            flag = "regressed" if _worse(change, bench.direction) > 0 else "improved"
        calls[bench.name] = _Call(flag, change)
    return calls


def _naive(benches: Sequence[_Bench], block: slice) -> dict[str, _Call]:
    calls: dict[str, _Call] = {}
    for bench in benches:
        change = _mean_change(bench, block)
        worse = _worse(change, bench.direction)
        flag: Flag | None = None
        if _at_least(worse, NAIVE_THRESHOLD):
            flag = "regressed"
        elif _at_least(-worse, NAIVE_THRESHOLD):
            flag = "improved"
        calls[bench.name] = _Call(flag, change)
    return calls


# -- aggregation ---------------------------------------------------------------------------------


@dataclass
class _Tally:
    """Running counts of one rule at one level."""

    checks: int = 0
    flagged_checks: int = 0
    other_alarm_checks: int = 0
    failing_checks: int = 0
    per_bench: dict[str, list[_Call]] = field(default_factory=dict)
    injected: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    def add(self, benches: Sequence[_Bench], calls: dict[str, _Call]) -> None:
        self.checks += 1
        slowed = [bench for bench in benches if bench.injected > 0]
        others = [bench for bench in benches if bench.injected <= 0]
        if slowed:
            if all(calls[bench.name].flag == "regressed" for bench in slowed):
                self.flagged_checks += 1
            if any(calls[bench.name].flag is not None for bench in others):
                self.other_alarm_checks += 1
        elif any(call.flag is not None for call in calls.values()):
            self.flagged_checks += 1
        if any(calls[bench.name].flag == "regressed" for bench in others):
            self.failing_checks += 1
        for bench in benches:
            self.per_bench.setdefault(bench.name, []).append(calls[bench.name])
            self.injected[bench.name] = max(self.injected.get(bench.name, 0.0), bench.injected)
            self.thresholds[bench.name] = bench.threshold

    def result(self, method: Method, level: float) -> MethodResult:
        rates: list[BenchmarkRate] = []
        for name, calls in self.per_bench.items():
            injected = self.injected[name]
            if injected > 0:
                flagged = sum(1 for call in calls if call.flag == "regressed")
            else:
                flagged = sum(1 for call in calls if call.flag is not None)
            rates.append(
                BenchmarkRate(
                    benchmark=name,
                    injected_percent=injected,
                    threshold=self.thresholds[name],
                    comparisons=len(calls),
                    flagged=flagged,
                    regressed=sum(1 for call in calls if call.flag == "regressed"),
                    improved=sum(1 for call in calls if call.flag == "improved"),
                    median_change_percent=_median(call.change_percent for call in calls),
                )
            )
        counted = [rate for rate in rates if (rate.injected_percent > 0) == (level > 0)]
        changes = (
            call.change_percent for rate in counted for call in self.per_bench[rate.benchmark]
        )
        low, high = _clopper_pearson(self.flagged_checks, self.checks)
        return MethodResult(
            method=method,
            injected_percent=level,
            checks=self.checks,
            flagged_checks=self.flagged_checks,
            ci_low=low,
            ci_high=high,
            comparisons=sum(rate.comparisons for rate in counted),
            flagged_comparisons=sum(rate.flagged for rate in counted),
            other_alarm_checks=self.other_alarm_checks,
            failing_checks=self.failing_checks,
            median_change_percent=_median(changes),
            benchmarks=tuple(rates),
        )


def _median(values: Any) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _clopper_pearson(successes: int, trials: int) -> tuple[float, float]:
    # Imported here: scipy.stats costs ~0.5 s to import (see _detector).
    from scipy.stats import binomtest  # type: ignore[import-untyped, unused-ignore]

    interval = binomtest(successes, trials).proportion_ci(
        confidence_level=CONFIDENCE, method="exact"
    )
    return float(interval.low), float(interval.high)


def evaluate(
    aa: Sequence[str | Path],
    inject: Sequence[str | Path] = (),
    *,
    pairs_per_check: int,
    targets: Targets | None = None,
    threshold: float | None = None,
    alpha: float = DEFAULT_ALPHA,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    evaluation: str | None = None,
) -> Evaluation:
    """Run the gate, pyperf's rule and the naive threshold on every check of every session.

    ``aa`` are A/A out-dirs, ``inject`` injection out-dirs. Raises InputError for a missing or
    unusable out-dir, a session shorter than one check, or a bad setting.
    """
    _check_settings(aa, inject, pairs_per_check, threshold)
    sessions = [_read_session(Path(d), "aa", pairs_per_check, targets, threshold) for d in aa] + [
        _read_session(Path(d), "inject", pairs_per_check, targets, threshold) for d in inject
    ]
    tallies = _tally(sessions, pairs_per_check, alpha, n_resamples, seed)
    levels = sorted({level for _, level in tallies})
    results = tuple(
        tallies[(method, level)].result(method, level) for level in levels for method in METHODS
    )
    thresholds = tuple(
        sorted({bench.threshold for session in sessions for bench in session.benches})
    )
    created = now_utc()
    return Evaluation(
        evaluation=evaluation or f"{created.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}",
        created=format_timestamp(created),
        pairs_per_check=pairs_per_check,
        alpha=alpha,
        threshold=threshold,
        thresholds=thresholds,
        targets=targets.source if targets is not None else None,
        n_resamples=n_resamples,
        seed=seed,
        sessions=tuple(session.info for session in sessions),
        results=results,
        notes=tuple(_threshold_notes(sessions, levels)),
    )


def _check_settings(
    aa: Sequence[str | Path],
    inject: Sequence[str | Path],
    pairs_per_check: int,
    threshold: float | None,
) -> None:
    if pairs_per_check < MIN_PROCESSES:
        raise InputError(
            f"--pairs-per-check {pairs_per_check}: the gate needs at least {MIN_PROCESSES} pairs "
            "a check (and more than 10 to be significant after BH); pass e.g. 20"
        )
    if threshold is not None and not (math.isfinite(threshold) and threshold > 0):
        raise InputError(f"--threshold {threshold!r}: pass a positive percentage, e.g. 1")
    if not aa and not inject:
        raise InputError("nothing to evaluate; pass --aa DIR (and --inject DIR for power)")
    directories = [Path(d).resolve() for d in (*aa, *inject)]
    if len(set(directories)) != len(directories):
        raise InputError("an out-dir is passed twice; pass each session once")


def _tally(
    sessions: Sequence[_Session], pairs_per_check: int, alpha: float, n_resamples: int, seed: int
) -> dict[tuple[Method, float], _Tally]:
    """Every check of every session under the three rules, counted per rule and level."""
    tallies: dict[tuple[Method, float], _Tally] = {}
    check_index = 0
    for session in sessions:
        level = session.info.injected_percent
        for j in range(session.info.checks):
            block = slice(j * pairs_per_check, (j + 1) * pairs_per_check)
            calls: dict[Method, dict[str, _Call]] = {
                "gate": _gate(session.benches, block, alpha, n_resamples, seed + check_index),
                "pyperf": _pyperf(session.benches, block),
                "naive": _naive(session.benches, block),
            }
            for method in METHODS:
                tallies.setdefault((method, level), _Tally()).add(session.benches, calls[method])
            check_index += 1
    return tallies


def _threshold_notes(sessions: Sequence[_Session], levels: Sequence[float]) -> list[str]:
    """A note for each injected level the gate's threshold cannot catch."""
    notes = []
    for level in levels:
        if level <= 0:
            continue
        slowed = [b for s in sessions for b in s.benches if b.injected == level]
        highest = max((bench.threshold for bench in slowed), default=0.0)
        if slowed and _at_least(highest, level):
            notes.append(
                f"the gate's threshold ({highest:g}%) is not below the injected {level:g}%: "
                "the gate cannot report that slowdown as regressed (pass --threshold under "
                "the injected percent)"
            )
    return notes
