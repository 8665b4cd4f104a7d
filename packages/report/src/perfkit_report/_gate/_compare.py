"""``perfkit-report compare BASE HEAD``: the regression detector on two existing result files.

The tool to reach for instead of ``pyperf compare_to``: any two pyperf result files (``.json`` or
``.json.gz``, perfkit's or anyone's), no benchmarking. Each benchmark's per-process medians
(``SampleSummary.process_medians``) are the samples, unpaired (two runs made at different times);
the statistics, their assumptions and the verdict rules are in ``_detector`` and
docs/regression.md. Thresholds, directions and severity bands come from ``--targets`` when given,
else the targets defaults (10 %, lower is better, bands at 1x / 1.5x / 2x the threshold).

Outputs: a table for people (rich on a terminal, plain aligned text otherwise), Markdown for a PR
comment (one verdict line, the benchmarks that need a look, the full table collapsed), and JSON
for machines. Every benchmark name and path is escaped for its medium.

Exit status (returned to ``_cli.main``): 1 when a regression at or above ``--fail-on`` severity
was found (or an inconclusive benchmark with ``--fail-on-inconclusive``), else 0. Bad input raises
an ``InputError`` (exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from perfkit_report._escape import escape_markdown, escape_terminal
from perfkit_report._exceptions import InputError
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
    NEEDS_A_LOOK,
    VERDICT_ORDER,
    change_text,
    ci_text,
    mde_text,
    n_text,
    q_text,
    worst_first,
)
from perfkit_report._history import ParsedResult, read_result_file
from perfkit_report._tables import Columns
from perfkit_report._targets import DEFAULT_DIRECTION, DEFAULT_THRESHOLD, Targets

__all__ = [
    "COMPARE_FORMAT_VERSION",
    "Comparison",
    "compare_files",
    "render_comparison_json",
    "render_comparison_markdown",
    "render_comparison_rich",
    "render_comparison_text",
]

# The JSON document of ``compare --format json``. History:
# - 1 (2026-11): version, tool, base, head, targets, alpha, confidence, n_resamples, seed, paired,
#   fail_on, fail_on_inconclusive, failed, counts, verdicts[] (benchmark, channel, unit, verdict,
#   severity, effect, ci_low, ci_high, change_percent, ci_percent, p, q, mde_percent, n_base,
#   n_head, paired, test, direction, threshold).
COMPARE_FORMAT_VERSION = 1

_COLUMNS = Columns(
    ("benchmark", "channel", "verdict", "change", "CI", "q", "severity", "MDE", "n"),
    right=frozenset({3, 4, 5, 7, 8}),
)
_STYLES = {
    "regressed": "bold red",
    "improved": "green",
    "inconclusive": "yellow",
    "same": "dim",
    "added": "cyan",
    "removed": "cyan",
}


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
    base_run = read_result_file(base)
    head_run = read_result_file(head)
    base_results = {result.benchmark: result for result in base_run.results}
    head_results = {result.benchmark: result for result in head_run.results}
    if not set(base_results) & set(head_results):
        raise InputError(
            f"{base} and {head} have no benchmark in common (base: {_names(base_results)}; "
            f"head: {_names(head_results)}); compare two runs of the same suite"
        )
    names = list(base_results) + [name for name in head_results if name not in base_results]
    samples: list[BenchmarkSamples] = []
    units: dict[str, str] = {}
    for name in names:
        old, new = base_results.get(name), head_results.get(name)
        if old is not None and new is not None and old.unit != new.unit:
            raise InputError(
                f"benchmark {name!r} is in {old.unit} in {base} but in {new.unit} in {head}; "
                "compare results measured in the same unit"
            )
        either = old or new
        assert either is not None
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
    )


def _process_medians(result: ParsedResult | None) -> tuple[float, ...] | None:
    return None if result is None else result.summary.process_medians


def _names(results: Mapping[str, ParsedResult]) -> str:
    shown = sorted(results)[:5]
    more = len(results) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


# -- formatting ----------------------------------------------------------------------------------


def _cells(verdict: BenchmarkVerdict) -> tuple[str, ...]:
    return (
        verdict.benchmark,
        verdict.channel,
        verdict.verdict,
        change_text(verdict),
        ci_text(verdict),
        q_text(verdict),
        verdict.severity or "",
        mde_text(verdict),
        n_text(verdict),
    )


def _headline(comparison: Comparison, esc: Callable[[str], str]) -> str:
    """One line: FAIL/OK, the counts, and the worst regression."""
    total = len(comparison.verdicts)
    counts = ", ".join(
        f"{comparison.count(name)} {name}"
        for name in VERDICT_ORDER
        if comparison.count(name) or name in ("regressed", "improved", "same")
    )
    status = "FAIL" if comparison.failures else "OK"
    regressed = [v for v in comparison.ordered if v.verdict == "regressed"]
    worst = ""
    if regressed:
        top = regressed[0]
        worst = f" (worst: {esc(top.benchmark)} {change_text(top)}, {top.severity})"
    noun = "benchmark" if total == 1 else "benchmarks"
    return f"perfkit compare: {status} \N{EM DASH} {counts} of {total} {noun}{worst}"


def _settings(comparison: Comparison) -> str:
    tested = sum(1 for v in comparison.verdicts if v.p is not None)
    confidence = (1 - comparison.alpha) * 100
    return (
        f"unpaired per-process medians; alpha {comparison.alpha:g}, Benjamini-Hochberg across "
        f"{tested} test(s); {confidence:g}% bootstrap CI ({comparison.n_resamples} resamples, "
        f"seed {comparison.seed}); fails on {comparison.fail_on} or worse"
        + (" and on inconclusive" if comparison.fail_on_inconclusive else "")
    )


def render_comparison_text(comparison: Comparison) -> str:
    """Plain aligned text (no colour, no box drawing), for pipes and logs."""
    esc = escape_terminal
    lines = [
        _headline(comparison, esc),
        esc(f"base: {comparison.base}"),
        esc(f"head: {comparison.head}"),
    ]
    if comparison.targets:
        lines.append(esc(f"targets: {comparison.targets}"))
    lines.append(_settings(comparison))
    lines.append("")
    lines += _COLUMNS.text([esc(cell) for cell in _cells(v)] for v in comparison.ordered)
    return "\n".join(lines) + "\n"


def render_comparison_rich(comparison: Comparison, console: Console) -> None:
    """A rich table for a terminal; cells are Text, never parsed as markup."""
    esc = escape_terminal
    style = "bold red" if comparison.failures else "bold green"
    console.print(Text(_headline(comparison, esc), style=style))
    for line in (f"base: {comparison.base}", f"head: {comparison.head}"):
        console.print(Text(esc(line), style="dim"))
    if comparison.targets:
        console.print(Text(esc(f"targets: {comparison.targets}"), style="dim"))
    console.print(Text(_settings(comparison), style="dim"))
    rows = []
    for verdict in comparison.ordered:
        cells = [Text(esc(cell)) for cell in _cells(verdict)]
        cells[2].stylize(_STYLES[verdict.verdict])
        rows.append(cells)
    console.print(_COLUMNS.rich(rows))


def _markdown_table(verdicts: tuple[BenchmarkVerdict, ...]) -> list[str]:
    rows = []
    for verdict in verdicts:
        cells = [escape_markdown(cell) for cell in _cells(verdict)]
        if verdict.verdict == "regressed":
            cells[2] = f"**{cells[2]}**"
        rows.append(cells)
    return _COLUMNS.markdown(rows)


def render_comparison_markdown(comparison: Comparison) -> str:
    """A PR-comment body: the verdict line, the benchmarks that need a look, the full table
    collapsed in ``<details>``. Every string from outside is escaped."""
    esc = escape_markdown
    lines = [f"**{_headline(comparison, esc)}**", ""]
    lines.append(f"base: {esc(comparison.base)}<br>head: {esc(comparison.head)}")
    if comparison.targets:
        lines[-1] += f"<br>targets: {esc(comparison.targets)}"
    lines.append("")
    look = tuple(v for v in comparison.ordered if v.verdict in NEEDS_A_LOOK)
    if look:
        lines.extend(_markdown_table(look))
    else:
        lines.append("No benchmark regressed, improved or was inconclusive.")
    lines.extend(
        [
            "",
            f"<details><summary>All {len(comparison.verdicts)} benchmarks</summary>",
            "",
            *_markdown_table(comparison.ordered),
            "",
            esc(_settings(comparison)) + ". Change and CI: head vs base in percent of the "
            "metric; MDE: the smallest change this noise and sample size would detect (80 % "
            "power).",
            "",
            "</details>",
        ]
    )
    return "\n".join(lines) + "\n"


def render_comparison_json(comparison: Comparison) -> str:
    """The machine-readable document (``COMPARE_FORMAT_VERSION``)."""
    counts = {name: comparison.count(name) for name in VERDICT_ORDER}
    document: dict[str, Any] = {
        "version": COMPARE_FORMAT_VERSION,
        "tool": "perfkit-report compare",
        "base": comparison.base,
        "head": comparison.head,
        "targets": comparison.targets,
        "alpha": comparison.alpha,
        "confidence": 1 - comparison.alpha,
        "n_resamples": comparison.n_resamples,
        "seed": comparison.seed,
        "paired": False,
        "fail_on": comparison.fail_on,
        "fail_on_inconclusive": comparison.fail_on_inconclusive,
        "failed": bool(comparison.failures),
        "counts": counts,
        "verdicts": [
            {
                "benchmark": v.benchmark,
                "channel": v.channel,
                "unit": comparison.units.get(v.benchmark),
                "verdict": v.verdict,
                "severity": v.severity,
                "effect": v.effect,
                "ci_low": v.ci_low,
                "ci_high": v.ci_high,
                "change_percent": v.change_percent,
                "ci_percent": list(v.ci_percent) if v.ci_percent is not None else None,
                "p": v.p,
                "q": v.q,
                "mde_percent": v.mde_percent,
                "n_base": v.n_base,
                "n_head": v.n_head,
                "paired": v.paired,
                "test": v.test,
                "direction": v.direction,
                "threshold": v.threshold,
            }
            for v in comparison.ordered
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
