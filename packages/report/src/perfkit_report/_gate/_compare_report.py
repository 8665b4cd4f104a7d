"""What ``perfkit-report compare`` prints: a ``Comparison`` for people, a PR comment, machines.

A table for people (rich on a terminal, plain aligned text otherwise), Markdown for a PR comment
(one verdict line, the benchmarks that need a look, the full table collapsed), and versioned JSON
(``COMPARE_FORMAT_VERSION``). Every benchmark name and path is escaped for its medium.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.text import Text

from perfkit_report._escape import escape_markdown, escape_terminal
from perfkit_report._gate._compare import Comparison
from perfkit_report._gate._detector import BenchmarkVerdict
from perfkit_report._gate._verdict_text import (
    NEEDS_A_LOOK,
    VERDICT_ORDER,
    change_text,
    ci_text,
    mde_text,
    n_text,
    q_text,
)
from perfkit_report._tables import Columns

__all__ = [
    "COMPARE_FORMAT_VERSION",
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
#   2026-12, keys added (readers of 1 ignore them): samples (what the samples are: per-process
#   medians, rounds, asv samples, summary statistics) and summary_only (benchmarks whose files
#   hold summary statistics only).
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
    summary = ""
    if comparison.summary_only:
        summary = (
            f"; {len(comparison.summary_only)} benchmark(s) rest on summary statistics: their "
            "file holds no raw rounds (pytest-benchmark --benchmark-save-data, asv run "
            "--record-samples), so its quartiles and median stand in for them"
        )
    return (
        f"unpaired {comparison.samples}; alpha {comparison.alpha:g}, Benjamini-Hochberg across "
        f"{tested} test(s); {confidence:g}% bootstrap CI ({comparison.n_resamples} resamples, "
        f"seed {comparison.seed}); fails on {comparison.fail_on} or worse"
        + (" and on inconclusive" if comparison.fail_on_inconclusive else "")
        + summary
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
        "samples": comparison.samples,
        "summary_only": list(comparison.summary_only),
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
