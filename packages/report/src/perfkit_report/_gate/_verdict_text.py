"""A verdict as people read it: the order of a verdict table and the text of its cells.

``compare`` (text, rich, Markdown) and the PR comment show the same figures of the detector's
verdicts; both take them from here, so a change, an interval or a sample size reads the same
wherever it is printed. Nothing is escaped here: each medium escapes its own cells.
"""

from __future__ import annotations

from collections.abc import Iterable

from perfkit_report._gate._detector import BenchmarkVerdict
from perfkit_report._units import format_percent

__all__ = [
    "NEEDS_A_LOOK",
    "VERDICT_ORDER",
    "change_text",
    "ci_text",
    "mde_text",
    "n_text",
    "q_text",
    "worst_first",
]

# The order of a verdict table: what fails a gate first, what changed nothing last.
VERDICT_ORDER = ("regressed", "improved", "inconclusive", "same", "added", "removed")
# The verdicts shown outside the collapsed full table.
NEEDS_A_LOOK = ("regressed", "improved", "inconclusive")
_SEVERITY_ORDER = {"critical": 0, "major": 1, "minor": 2}


def worst_first(
    verdicts: Iterable[BenchmarkVerdict], *, by_channel: bool = False
) -> tuple[BenchmarkVerdict, ...]:
    """Regressions first (the most severe and largest first), then improved, inconclusive,
    same, added, removed; ties by benchmark (and channel, with ``by_channel``)."""

    def key(verdict: BenchmarkVerdict) -> tuple[int, int, float, str, str]:
        severity = _SEVERITY_ORDER.get(verdict.severity or "", 3)
        size = -abs(verdict.change_percent or 0.0)
        channel = verdict.channel if by_channel else ""
        return (VERDICT_ORDER.index(verdict.verdict), severity, size, verdict.benchmark, channel)

    return tuple(sorted(verdicts, key=key))


def _percent(value: float) -> str:
    # One decimal is the resolution that matters for time; deterministic channels (instructions)
    # and byte metrics move by fractions of a percent, so small changes keep two.
    return format_percent(value, fine=True)


def change_text(verdict: BenchmarkVerdict) -> str:
    """Head vs base in percent, or empty (added / removed)."""
    change = verdict.change_percent
    return "" if change is None else _percent(change)


def ci_text(verdict: BenchmarkVerdict) -> str:
    """The confidence interval in percent, ``[low, high]``, or empty."""
    ci = verdict.ci_percent
    return "" if ci is None else f"[{_percent(ci[0])}, {_percent(ci[1])}]"


def q_text(verdict: BenchmarkVerdict) -> str:
    """The q-value, ``exact`` for samples without spread, or empty."""
    if verdict.test == "exact":
        return "exact"
    return "" if verdict.q is None else f"{verdict.q:.2g}"


def mde_text(verdict: BenchmarkVerdict) -> str:
    """The minimum detectable effect in percent, or empty."""
    return "" if verdict.mde_percent is None else format_percent(verdict.mde_percent, signed=False)


def n_text(verdict: BenchmarkVerdict) -> str:
    """``10 pairs``, or processes per side ``base/head``."""
    if verdict.paired:
        return f"{verdict.n_base} pairs"
    return f"{verdict.n_base}/{verdict.n_head}"
