"""The data model of one check: its two sides and its verdicts (``GateCheck``).

What ``run_check`` builds (``_check``) and what its outputs read: the PR comment
(``_comment``), verdict.json (``_verdict_json``) and the history's rows. It imports none of
them, so they import it and not each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from perfkit_report._gate._detector import (
    BenchmarkVerdict,
    MoreSamples,
    SeverityName,
    failing_verdicts,
    needs_more,
)
from perfkit_report._gate._verdict_text import worst_first
from perfkit_report._history import Baseline
from perfkit_report._targets import DEFAULT_INSTRUCTIONS_THRESHOLD

__all__ = ["INSTRUCTIONS", "CheckSide", "GateCheck", "Kind"]

# The channel name of the instruction files' benchmarks.
INSTRUCTIONS = "instructions"

Kind = Literal["ab", "baseline", "files"]


@dataclass(frozen=True, slots=True)
class CheckSide:
    """One side of a check, as the comment, verdict.json and the history see it."""

    label: str
    commit: str | None
    branch: str | None
    files: Mapping[str, str]
    """``time`` / ``instructions`` -> the file read (absolute path)."""
    environment: Mapping[str, str]
    """What ran it (machine, CPU, Python, mode, ...), from the files' metadata."""
    failed: tuple[str, ...] = ()
    """Benchmarks the run recorded as failed (perfkit_failed)."""
    baseline: Baseline | None = None
    """The stored baseline this side is (``--against-baseline``)."""


@dataclass(frozen=True, slots=True)
class GateCheck:
    """The verdicts of one check and everything that produced them."""

    kind: Kind
    base: CheckSide
    head: CheckSide
    verdicts: tuple[BenchmarkVerdict, ...]
    units: Mapping[tuple[str, str], str]
    """(channel, benchmark) -> pyperf unit."""
    alpha: float
    n_resamples: int
    seed: int
    fail_on: SeverityName
    fail_on_inconclusive: bool
    targets: str | None
    reproduce: str
    ab_pairs: int | None = None
    """The most pairs any benchmark of the A/B session has (``perfkit_ab_pairs``)."""
    ab_seed: str | None = None
    """The A/B session's order seed."""
    injected_percent: float = 0.0
    """The slowdown injected into the head (evaluation runs only)."""

    @property
    def failures(self) -> tuple[BenchmarkVerdict, ...]:
        """The verdicts that fail the gate."""
        return failing_verdicts(
            self.verdicts, fail_on=self.fail_on, fail_on_inconclusive=self.fail_on_inconclusive
        )

    @property
    def exit_code(self) -> int:
        """1 when the check fails the gate, else 0."""
        return 1 if self.failures else 0

    @property
    def more(self) -> tuple[MoreSamples, ...]:
        """The inconclusive benchmarks more samples could resolve (``needs_more``)."""
        return needs_more(self.verdicts)

    @property
    def ordered(self) -> tuple[BenchmarkVerdict, ...]:
        """Regressions first (worst first), then improved, inconclusive, same, added, removed."""
        return worst_first(self.verdicts, by_channel=True)

    def count(self, name: str) -> int:
        """How many (benchmark, channel) verdicts are ``name``."""
        return sum(1 for verdict in self.verdicts if verdict.verdict == name)

    def severity_count(self, severity: str) -> int:
        """How many regressions have this severity."""
        return sum(1 for v in self.verdicts if v.verdict == "regressed" and v.severity == severity)

    def unit(self, verdict: BenchmarkVerdict) -> str | None:
        """The pyperf unit of a verdict's benchmark."""
        return self.units.get((verdict.channel, verdict.benchmark))

    @property
    def tested(self) -> int:
        """Verdicts with a p-value: the size of the Benjamini-Hochberg family."""
        return sum(1 for verdict in self.verdicts if verdict.p is not None)

    def settings(self) -> dict[str, Any]:
        """The detector's knobs and the files read: verdict.json's ``settings`` and the
        history's ``checks.settings``."""
        return {
            "alpha": self.alpha,
            "confidence": 1 - self.alpha,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "fail_on": self.fail_on,
            "fail_on_inconclusive": self.fail_on_inconclusive,
            "targets": self.targets,
            "default_instructions_threshold": DEFAULT_INSTRUCTIONS_THRESHOLD,
            "reproduce": self.reproduce,
            "ab_pairs": self.ab_pairs,
            "ab_seed": self.ab_seed,
            "injected_percent": self.injected_percent,
            "base_files": dict(self.base.files),
            "head_files": dict(self.head.files),
        }
