"""``perfkit-report compare BASE HEAD``: the regression detector on two existing result files.

The tool to reach for instead of ``pyperf compare_to``: any two result files (pyperf ``.json`` or
``.json.gz``, perfkit's or anyone's; pytest-benchmark JSON; asv run files), no benchmarking. Each
benchmark's ``SampleSummary.process_medians`` are the samples, unpaired (two runs made at
different times): pyperf's per-process medians, pytest-benchmark's rounds, asv's samples; where a
file holds summary statistics only (no raw rounds) its quartiles and median stand in for them, and
the comparison names those benchmarks (``summary_only``);
the statistics, their assumptions and the verdict rules are in ``_detector`` and
docs/regression.md. Thresholds, directions and severity bands come from ``--targets`` when given,
else the targets defaults (10 %, lower is better, bands at 1x / 1.5x / 2x the threshold).

``compare_files`` returns a ``Comparison``; ``_compare_report`` prints it. Its ``failures`` are
the verdicts at or above ``fail_on`` severity (and the inconclusive ones with
``fail_on_inconclusive``): the command exits 1 when there is one. Bad input raises an
``InputError`` (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfkit_report._exceptions import InputError
from perfkit_report._gate._abpairs import result_key
from perfkit_report._gate._detector import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    BenchmarkSamples,
    BenchmarkVerdict,
    SeverityName,
    detect,
    failing_verdicts,
)
from perfkit_report._gate._verdict_text import (
    worst_first,
)
from perfkit_report._history import ParsedResult, read_one_run
from perfkit_report._targets import DEFAULT_DIRECTION, DEFAULT_THRESHOLD, Targets

__all__ = ["Comparison", "compare_files"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """The verdicts of one comparison and the settings that produced them."""

    base: str
    head: str
    targets: str | None
    alpha: float
    n_resamples: int
    seed: int
    fail_on: SeverityName
    fail_on_inconclusive: bool
    verdicts: tuple[BenchmarkVerdict, ...]
    units: Mapping[str, str]
    """benchmark -> pyperf unit."""
    samples: str = "per-process medians"
    """What the samples are: per-process medians (pyperf), rounds (pytest-benchmark), ..."""
    summary_only: tuple[str, ...] = ()
    """Benchmarks whose file holds summary statistics only: their verdicts rest on those."""

    @property
    def failures(self) -> tuple[BenchmarkVerdict, ...]:
        """The verdicts that make the command exit 1."""
        return failing_verdicts(
            self.verdicts, fail_on=self.fail_on, fail_on_inconclusive=self.fail_on_inconclusive
        )

    @property
    def ordered(self) -> tuple[BenchmarkVerdict, ...]:
        """Regressions first (worst first), then improved, inconclusive, same, added, removed."""
        return worst_first(self.verdicts)

    def count(self, name: str) -> int:
        """How many benchmarks got verdict ``name``."""
        return sum(1 for verdict in self.verdicts if verdict.verdict == name)


def compare_files(
    base: str | Path,
    head: str | Path,
    targets: Targets | None = None,
    *,
    alpha: float = DEFAULT_ALPHA,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    fail_on: SeverityName = "minor",
    fail_on_inconclusive: bool = False,
) -> Comparison:
    """Read both files (validated as by ``ingest``) and run the detector on their benchmarks."""
    base_run = read_one_run(base)
    head_run = read_one_run(head)
    # By name in the file: a run file holds <id> in wall time and <id>.cpu_time, which ingest
    # reads as the same benchmark id with metric cpu_time (docs/benchmarks.md).
    base_results = {result_key(result): result for result in base_run.results}
    head_results = {result_key(result): result for result in head_run.results}
    if not set(base_results) & set(head_results):
        raise InputError(
            f"{base} and {head} have no benchmark in common (base: {_names(base_results)}; "
            f"head: {_names(head_results)}); compare two runs of the same suite"
        )
    keys = list(base_results) + [key for key in head_results if key not in base_results]
    samples: list[BenchmarkSamples] = []
    units: dict[str, str] = {}
    for key in keys:
        old, new = base_results.get(key), head_results.get(key)
        if old is not None and new is not None and old.unit != new.unit:
            raise InputError(
                f"benchmark {key!r} is in {old.unit} in {base} but in {new.unit} in {head}; "
                "compare results measured in the same unit"
            )
        either = old or new
        assert either is not None
        name = either.benchmark
        units[name] = either.unit
        samples.append(
            BenchmarkSamples(
                benchmark=name,
                base=_process_medians(old),
                head=_process_medians(new),
                direction=targets.direction_for(name) if targets else DEFAULT_DIRECTION,
                threshold=targets.threshold_for(name) if targets else DEFAULT_THRESHOLD,
                severity=targets.severity_for(name) if targets else None,
                channel=either.metric,
            )
        )
    verdicts = detect(samples, alpha=alpha, n_resamples=n_resamples, seed=seed)
    both = [*base_run.results, *head_run.results]
    return Comparison(
        base=str(base),
        head=str(head),
        targets=targets.source if targets is not None else None,
        alpha=alpha,
        n_resamples=n_resamples,
        seed=seed,
        fail_on=fail_on,
        fail_on_inconclusive=fail_on_inconclusive,
        verdicts=verdicts,
        units=units,
        samples=" and ".join(sorted({_sample_kind(result) for result in both})),
        summary_only=tuple(
            sorted({r.benchmark for r in both if r.metadata.get("perfkit_summary_only")})
        ),
    )


def _sample_kind(result: ParsedResult) -> str:
    """What one result's samples are, in words (the files' formats: _history._formats)."""
    metadata = result.metadata
    if metadata.get("perfkit_summary_only"):
        return "summary statistics"
    if "pytest_benchmark_rounds" in metadata:
        return "rounds"
    if "asv_type" in metadata:
        return "asv samples"
    return "per-process medians"


def _process_medians(result: ParsedResult | None) -> tuple[float, ...] | None:
    return None if result is None else result.summary.process_medians


def _names(results: Mapping[str, ParsedResult]) -> str:
    shown = sorted(results)[:5]
    more = len(results) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
