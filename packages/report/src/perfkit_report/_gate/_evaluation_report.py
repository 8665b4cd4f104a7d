"""What ``perfkit-report evaluate`` shows and keeps of an evaluation of the gate.

An ``Evaluation`` (computed by ``_evaluate``) as a table for people (plain aligned text, or rich
on a terminal), Markdown (``--out``: the table, the settings and, collapsed, every benchmark's
figures), versioned JSON (``--json``), and the rows history.db's ``evaluations`` table keeps
(``evaluation_rows``, one per rule x injected percent). Every name from outside is escaped for
its medium.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from perfkit_report._escape import escape_markdown, escape_terminal
from perfkit_report._gate._evaluate import (
    CONFIDENCE,
    NAIVE_THRESHOLD,
    BenchmarkRate,
    Evaluation,
    Method,
    MethodResult,
)
from perfkit_report._history import EvaluationRow
from perfkit_report._tables import Columns
from perfkit_report._units import format_percent

__all__ = [
    "EVALUATION_FORMAT_VERSION",
    "evaluation_rows",
    "render_evaluation_json",
    "render_evaluation_markdown",
    "render_evaluation_rich",
    "render_evaluation_text",
]

# The JSON document of ``evaluate --json``. History:
# - 1 (2026-11): version, tool, evaluation, created, settings, sessions[], results[] (one per
#   method x injected percent, with benchmarks[]).
EVALUATION_FORMAT_VERSION = 1

_METHOD_TITLES: dict[Method, str] = {
    "gate": "gate",
    "pyperf": "pyperf compare_to",
    "naive": f"naive {NAIVE_THRESHOLD:g}%",
}


# -- the history's rows -------------------------------------------------------------------------------------


def _details(evaluation: Evaluation, result: MethodResult) -> dict[str, Any]:
    return {
        "ci": [result.ci_low, result.ci_high],
        "confidence": CONFIDENCE,
        "comparisons": result.comparisons,
        "flagged_comparisons": result.flagged_comparisons,
        "comparison_rate": result.comparison_rate,
        "other_alarm_checks": result.other_alarm_checks,
        "failing_checks": result.failing_checks,
        "median_change_percent": result.median_change_percent,
        "rule": _rule(evaluation, result.method),
        "alpha": evaluation.alpha,
        "threshold": evaluation.threshold,
        "thresholds": list(evaluation.thresholds),
        "threshold_source": evaluation.threshold_source,
        "n_resamples": evaluation.n_resamples,
        "seed": evaluation.seed,
        "sessions": [
            session.directory
            for session in evaluation.sessions
            if session.injected_percent == result.injected_percent
        ],
        "benchmarks": {rate.benchmark: _rate_json(rate) for rate in result.benchmarks},
    }


def evaluation_rows(evaluation: Evaluation) -> list[EvaluationRow]:
    """One ``evaluations`` row per rule x injected percent (``History.store_evaluation``)."""
    return [
        EvaluationRow(
            evaluation=evaluation.evaluation,
            created=evaluation.created,
            method=result.method,
            injected_percent=result.injected_percent,
            checks=result.checks,
            pairs_per_check=evaluation.pairs_per_check,
            benchmarks=len(result.benchmarks),
            flagged_checks=result.flagged_checks,
            rate=result.rate,
            details=_details(evaluation, result),
        )
        for result in evaluation.results
    ]


# -- formatting ----------------------------------------------------------------------------------


def _percent(value: float | None, signed: bool = False) -> str:
    return "" if value is None else format_percent(value, signed=signed)


def _rule(evaluation: Evaluation, method: Method) -> str:
    if method == "gate":
        return (
            f"paired, BH q<{evaluation.alpha:g}, estimate at or beyond {evaluation.threshold_text} "
            f"({evaluation.threshold_source})"
        )
    if method == "pyperf":
        return "t-test on raw values, 95%, per benchmark"
    return f"|change of means| >= {NAIVE_THRESHOLD:g}%"


def _level(level: float) -> str:
    return "A/A" if level == 0 else f"+{level:g}%"


def _goal(result: MethodResult) -> str:
    goal = result.goal
    if goal is None:
        return ""
    sign, limit = goal
    met = "met" if result.goal_met else "missed"
    return f"{'≤' if sign == '<=' else '≥'} {limit:g}%: {met}"


_COLUMNS = Columns(
    (
        "method",
        "injected",
        "checks",
        "flagged",
        "rate [95% CI]",
        "per benchmark",
        "other alarms",
        "measured",
        "goal",
    ),
    right=frozenset({2, 3, 4, 5, 6, 7}),
)
_BENCHMARK_COLUMNS = Columns(
    (
        "method",
        "level",
        "benchmark",
        "injected",
        "threshold",
        "flagged",
        "regressed",
        "improved",
        "median change",
    ),
    right=frozenset({3, 4, 5, 6, 7, 8}),
)


def _cells(result: MethodResult) -> tuple[str, ...]:
    injection = result.injected_percent > 0
    return (
        _METHOD_TITLES[result.method],
        _level(result.injected_percent),
        str(result.checks),
        str(result.flagged_checks),
        f"{_percent(result.rate * 100)} "
        f"[{_percent(result.ci_low * 100)}, {_percent(result.ci_high * 100)}]",
        f"{_percent(result.comparison_rate * 100)} "
        f"({result.flagged_comparisons}/{result.comparisons})",
        str(result.other_alarm_checks) if injection else "",
        _percent(result.median_change_percent, signed=True),
        _goal(result),
    )


def _headline(evaluation: Evaluation) -> str:
    checks = sum(session.checks for session in evaluation.sessions)
    return (
        f"perfkit gate evaluation {evaluation.evaluation}: {checks} checks of "
        f"{evaluation.pairs_per_check} pairs from {len(evaluation.sessions)} session(s)"
    )


def _settings_lines(evaluation: Evaluation) -> list[str]:
    lines = [
        f"gate: {_rule(evaluation, 'gate')}; {evaluation.n_resamples} bootstrap resamples, "
        f"seed {evaluation.seed}",
        f"pyperf compare_to: {_rule(evaluation, 'pyperf')}; naive: {_rule(evaluation, 'naive')}",
    ]
    for session in evaluation.sessions:
        lines.append(
            f"{_level(session.injected_percent)} session {session.directory}: "
            f"{session.benchmarks} benchmarks, {session.pairs} pairs, {session.checks} checks"
            + (f" ({session.unused_pairs} pairs unused)" if session.unused_pairs else "")
        )
    return lines


_LEGEND = (
    "flagged: A/A rows count checks with any benchmark regressed or improved (false alarms); "
    "injected rows count checks in which every slowed benchmark was caught as regressed "
    "(power). per benchmark: the same per benchmark comparison. other alarms: injected checks "
    "in which a benchmark that was not slowed was flagged. measured: median change measured on "
    "the slowed benchmarks (A/A: on all), to compare with the injected percent."
)


def render_evaluation_text(evaluation: Evaluation) -> str:
    """Plain aligned text (no colour, no box drawing), for pipes and logs."""
    esc = escape_terminal
    lines = [esc(_headline(evaluation)), *(esc(line) for line in _settings_lines(evaluation))]
    lines.append("")
    lines += _COLUMNS.text(_cells(result) for result in evaluation.results)
    lines.append("")
    lines.append(_LEGEND)
    lines.extend(esc(f"note: {note}") for note in evaluation.notes)
    return "\n".join(lines) + "\n"


def render_evaluation_rich(evaluation: Evaluation, console: Console) -> None:
    """A rich table for a terminal; cells are Text, never parsed as markup."""
    esc = escape_terminal
    console.print(Text(esc(_headline(evaluation)), style="bold"))
    for line in _settings_lines(evaluation):
        console.print(Text(esc(line), style="dim"))
    rows = []
    for result in evaluation.results:
        cells = [Text(cell) for cell in _cells(result)]
        if result.goal_met is not None:
            cells[-1].stylize("green" if result.goal_met else "bold red")
        rows.append(cells)
    console.print(_COLUMNS.rich(rows))
    console.print(Text(_LEGEND, style="dim"))
    for note in evaluation.notes:
        console.print(Text(esc(f"note: {note}"), style="yellow"))


def render_evaluation_markdown(evaluation: Evaluation) -> str:
    """The table, the settings and, collapsed, every benchmark's figures; names escaped."""
    esc = escape_markdown
    lines = [f"### {esc(_headline(evaluation))}", ""]
    lines.extend(f"- {esc(line)}" for line in _settings_lines(evaluation))
    lines.append("")
    lines += _COLUMNS.markdown(
        [esc(cell) for cell in _cells(result)] for result in evaluation.results
    )
    lines.extend(["", esc(_LEGEND)])
    for note in evaluation.notes:
        lines.append(f"\n**Note:** {esc(note)}")
    lines += ["", "<details><summary>Per benchmark</summary>", ""]
    lines += _BENCHMARK_COLUMNS.markdown(
        [esc(cell) for cell in _rate_cells(result, rate)]
        for result in evaluation.results
        for rate in result.benchmarks
    )
    lines.extend(["", "</details>"])
    return "\n".join(lines) + "\n"


def _rate_cells(result: MethodResult, rate: BenchmarkRate) -> tuple[str, ...]:
    return (
        _METHOD_TITLES[result.method],
        _level(result.injected_percent),
        rate.benchmark,
        _level(rate.injected_percent) if rate.injected_percent else "",
        f"{rate.threshold:g}%" if result.method == "gate" else "",
        f"{rate.flagged}/{rate.comparisons}",
        str(rate.regressed),
        str(rate.improved),
        _percent(rate.median_change_percent, signed=True),
    )


def _rate_json(rate: BenchmarkRate) -> dict[str, Any]:
    return {
        "benchmark": rate.benchmark,
        "injected_percent": rate.injected_percent,
        "threshold": rate.threshold,
        "comparisons": rate.comparisons,
        "flagged": rate.flagged,
        "rate": rate.rate,
        "regressed": rate.regressed,
        "improved": rate.improved,
        "median_change_percent": rate.median_change_percent,
    }


def render_evaluation_json(evaluation: Evaluation) -> str:
    """The machine-readable document (``EVALUATION_FORMAT_VERSION``)."""
    document: dict[str, Any] = {
        "version": EVALUATION_FORMAT_VERSION,
        "tool": "perfkit-report evaluate",
        "evaluation": evaluation.evaluation,
        "created": evaluation.created,
        "settings": {
            "pairs_per_check": evaluation.pairs_per_check,
            "alpha": evaluation.alpha,
            "threshold": evaluation.threshold,
            "thresholds": list(evaluation.thresholds),
            "threshold_source": evaluation.threshold_source,
            "targets": evaluation.targets,
            "n_resamples": evaluation.n_resamples,
            "seed": evaluation.seed,
            "naive_threshold": NAIVE_THRESHOLD,
            "confidence": CONFIDENCE,
        },
        "sessions": [
            {
                "directory": s.directory,
                "mode": s.mode,
                "injected_percent": s.injected_percent,
                "benchmarks": s.benchmarks,
                "pairs": s.pairs,
                "checks": s.checks,
                "unused_pairs": s.unused_pairs,
            }
            for s in evaluation.sessions
        ],
        "results": [
            {
                "method": r.method,
                "rule": _rule(evaluation, r.method),
                "injected_percent": r.injected_percent,
                "checks": r.checks,
                "flagged_checks": r.flagged_checks,
                "rate": r.rate,
                "ci": [r.ci_low, r.ci_high],
                "comparisons": r.comparisons,
                "flagged_comparisons": r.flagged_comparisons,
                "comparison_rate": r.comparison_rate,
                "other_alarm_checks": r.other_alarm_checks,
                "failing_checks": r.failing_checks,
                "median_change_percent": r.median_change_percent,
                "goal": None if r.goal is None else {"op": r.goal[0], "percent": r.goal[1]},
                "goal_met": r.goal_met,
                "benchmarks": [_rate_json(rate) for rate in r.benchmarks],
            }
            for r in evaluation.results
        ],
        "notes": list(evaluation.notes),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
