"""comment.md: the regression gate's PR comment, rendered from one check.

Layout (docs/regression.md, "The PR comment"):

1. ``<!-- perfkit-regression-gate -->``, a hidden marker: the CI workflow finds the gate's own
   comment by this first line and updates it in place instead of adding one per push.
2. One verdict line: a status sign, the counts, and what was compared, e.g.
   ``❌ 2 regressions (1 major, 1 minor) · 1 improvement · 3 inconclusive · 40 same — base
   main@abc1234 vs head feature@def5678``. ❌ fails the gate; ⚠️ passes it with regressions below
   ``--fail-on`` or inconclusive benchmarks; ✅ passes clean.
3. The benchmarks that need a look (regressed, improved, inconclusive) with change, confidence
   interval, severity, channel, threshold, MDE, q and sample size.
4. Every verdict in a collapsed ``<details>``.
5. The environment (machine, CPU, Python, mode, pairs) from the files' metadata, the method, and
   how to reproduce the check locally.

Every string that came from outside (benchmark names, channels, labels, commits, metadata,
paths, the reproduce command) is escaped: table cells and prose through ``escape_markdown``,
code-font values through ``markdown_code``, the command through ``markdown_code_block``. Nothing
from a file can add a table column, HTML, a link or a mention.
"""

from __future__ import annotations

from perfkit_report._escape import escape_markdown, markdown_code, markdown_code_block
from perfkit_report._gate._check_model import CheckSide, GateCheck
from perfkit_report._gate._detector import BenchmarkVerdict
from perfkit_report._gate._verdict_text import (
    NEEDS_A_LOOK,
    change_text,
    ci_text,
    mde_text,
    n_text,
    q_text,
)
from perfkit_report._tables import Columns, markdown_row

__all__ = ["COMMENT_MARKER", "MAX_COMMENT_CHARS", "headline", "render_comment"]

# The first line of comment.md: the CI workflow finds the gate's own comment by it and updates
# that comment instead of adding one per push. Defined here only; print it with
# ``python -c "from perfkit_report._gate import COMMENT_MARKER; print(COMMENT_MARKER)"``.
COMMENT_MARKER = "<!-- perfkit-regression-gate -->"

# GitHub refuses comment bodies over 65,536 characters; the full table is cut to stay under
# this, with a pointer to verdict.json (which always holds every verdict).
MAX_COMMENT_CHARS = 60_000
_COLUMNS = Columns(
    (
        "benchmark",
        "channel",
        "verdict",
        "change",
        "95% CI",
        "severity",
        "threshold",
        "MDE",
        "q",
        "n",
    ),
    right=frozenset({3, 4, 6, 7, 8, 9}),
)
_ENVIRONMENT = (
    ("machine", "machine"),
    ("cpu", "CPU"),
    ("cores", "cores"),
    ("python", "Python"),
    ("kernel", "kernel"),
    ("load", "load average"),
    ("mode", "bench mode"),
    ("perfkit", "perfkit"),
    ("pyperf", "pyperf"),
    ("started", "started"),
)
# Differences in these between the sides mean the check compares machines, not only code.
_SAME_MACHINE = ("machine", "cpu", "cores", "python")


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _status(check: GateCheck) -> str:
    if check.exit_code:
        return "\N{CROSS MARK}"
    if check.count("regressed") or check.count("inconclusive"):
        return "\N{WARNING SIGN}\N{VARIATION SELECTOR-16}"
    return "\N{WHITE HEAVY CHECK MARK}"


def _counts(check: GateCheck) -> str:
    regressions = check.count("regressed")
    if regressions:
        severities = ", ".join(
            f"{check.severity_count(name)} {name}"
            for name in ("critical", "major", "minor")
            if check.severity_count(name)
        )
        parts = [f"{_plural(regressions, 'regression')} ({severities})"]
    else:
        parts = ["no regression"]
    improved = check.count("improved")
    if improved:
        parts.append(_plural(improved, "improvement"))
    for name in ("inconclusive", "same", "added", "removed"):
        if check.count(name):
            parts.append(f"{check.count(name)} {name}")
    return " \N{MIDDLE DOT} ".join(parts)


def headline(check: GateCheck, *, markdown: bool = True) -> str:
    """The one verdict line; ``markdown=False`` gives it as plain text (labels unescaped)."""
    if markdown:
        base, head = markdown_code(check.base.label), markdown_code(check.head.label)
    else:
        base, head = check.base.label, check.head.label
    return f"{_status(check)} {_counts(check)} \N{EM DASH} base {base} vs head {head}"


# -- the tables ----------------------------------------------------------------------------------


def _cells(verdict: BenchmarkVerdict) -> list[str]:
    return [
        escape_markdown(verdict.benchmark),
        escape_markdown(verdict.channel),
        f"**{verdict.verdict}**" if verdict.verdict == "regressed" else verdict.verdict,
        change_text(verdict),
        ci_text(verdict),
        verdict.severity or "",
        f"{verdict.threshold:g}%" + ("" if verdict.direction == "lower" else " (higher)"),
        mde_text(verdict),
        q_text(verdict),
        n_text(verdict),
    ]


def _table(verdicts: tuple[BenchmarkVerdict, ...]) -> list[str]:
    return _COLUMNS.markdown(_cells(verdict) for verdict in verdicts)


# -- environment, method, reproduce --------------------------------------------------------------


def _mode(check: GateCheck) -> list[str]:
    """What kind of comparison this was, in a few bullet points."""
    lines: list[str] = []
    time = [v for v in check.verdicts if v.channel != "instructions" and v.effect is not None]
    paired = [v for v in time if v.paired]
    if check.kind == "ab":
        counts = sorted({v.n_base for v in paired})
        measured = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}\N{EN DASH}{counts[-1]}"
        seed = f", order seed {escape_markdown(check.ab_seed)}" if check.ab_seed else ""
        lines.append(f"- **mode**: paired, interleaved A/B: {measured} pairs per benchmark{seed}")
        unpaired = len(time) - len(paired)
        if unpaired:
            lines.append(
                f"- {_plural(unpaired, 'benchmark')} compared unpaired (a side lost a worker "
                "process)"
            )
    elif check.kind == "baseline" and check.base.baseline is not None:
        baseline = check.base.baseline
        tracks = f", tracking branch {markdown_code(baseline.branch)}" if baseline.branch else ""
        lines.append(
            f"- **mode**: unpaired, the head against the stored baseline "
            f"{markdown_code(baseline.name)} (run {baseline.run_id}{tracks}, set "
            f"{escape_markdown(baseline.created[:19])}): drift between the two runs reads as "
            "change"
        )
    else:
        lines.append(
            "- **mode**: unpaired, two result files: drift between the two runs reads as change"
        )
    if any(v.channel == "instructions" for v in check.verdicts):
        lines.append(
            "- **instructions**: instruction counts per operation (cachegrind, fixed hash "
            "seed), gated on each benchmark's `instructions_threshold`"
        )
    if check.injected_percent:
        lines.append(
            f"- \N{WARNING SIGN}\N{VARIATION SELECTOR-16} evaluation run: the head's workloads "
            f"were slowed by {check.injected_percent:g} % on purpose (injection mode)"
        )
    for side, name in ((check.base, "base"), (check.head, "head")):
        if side.failed:
            names = ", ".join(markdown_code(failed) for failed in side.failed)
            lines.append(
                f"- \N{WARNING SIGN}\N{VARIATION SELECTOR-16} failed to run on the {name} "
                f"side (no verdict): {names}"
            )
    return lines


def _environment(check: GateCheck) -> list[str]:
    base, head = check.base, check.head
    rows = [
        ("commit", base.commit or "", head.commit or ""),
        ("branch", base.branch or "", head.branch or ""),
    ]
    for key, label in _ENVIRONMENT:
        left, right = base.environment.get(key, ""), head.environment.get(key, "")
        if left or right:
            rows.append((label, left, right))
    lines = ["| | base | head |", "|---|---|---|"]
    lines += [
        markdown_row((label, escape_markdown(left), escape_markdown(right)))
        for label, left, right in rows
        if left or right
    ]
    differ = [
        label
        for key, label in _ENVIRONMENT
        if key in _SAME_MACHINE
        and base.environment.get(key)
        and head.environment.get(key)
        and base.environment[key] != head.environment[key]
    ]
    if differ:
        lines += [
            "",
            f"\N{WARNING SIGN}\N{VARIATION SELECTOR-16} base and head differ in "
            f"{', '.join(differ)}: the verdicts compare those too, not only the code.",
        ]
    return lines


def _files(side: CheckSide) -> str:
    return ", ".join(
        f"{escape_markdown(channel)} {markdown_code(path)}" for channel, path in side.files.items()
    )


def _method(check: GateCheck) -> str:
    confidence = (1 - check.alpha) * 100
    fails = f"fails on {check.fail_on} or worse" + (
        " and on inconclusive" if check.fail_on_inconclusive else ""
    )
    targets = (
        f"thresholds from {markdown_code(check.targets)}"
        if check.targets
        else "default thresholds (time 10 %, instructions 1 %)"
    )
    return (
        f"Per-process medians (slice pairs: one estimate per process pair, Yuen's trimmed "
        f"mean); \N{GREEK SMALL LETTER ALPHA} = {check.alpha:g} with "
        f"Benjamini\N{EN DASH}Hochberg across {_plural(check.tested, 'test')}; {confidence:g} % "
        f"CI (bootstrap, {check.n_resamples} resamples, or Yuen's); regressed / improved = "
        f"significant and the estimate at or beyond the threshold; {targets}; the gate {fails}."
    )


# -- the comment ---------------------------------------------------------------------------------


def render_comment(check: GateCheck, *, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """comment.md for one check (see the module docstring)."""
    head = [COMMENT_MARKER, f"**{headline(check)}**", "", _gate_line(check), ""]
    look = tuple(v for v in check.ordered if v.verdict in NEEDS_A_LOOK)
    if look:
        head += _table(look)
        head += [
            "",
            "Change and CI: head vs base in percent of the metric (for time, + is slower); "
            "MDE: the smallest change this noise and sample size would detect (80 % power); "
            "n: A/B pairs, or processes base/head.",
        ]
    else:
        head.append("No benchmark regressed, improved or was inconclusive.")
    tail = [
        "",
        "### Environment",
        "",
        *_mode(check),
        f"- **base**: {markdown_code(check.base.label)}"
        + (f" \N{EM DASH} {_files(check.base)}" if check.base.files else ""),
        f"- **head**: {markdown_code(check.head.label)}"
        + (f" \N{EM DASH} {_files(check.head)}" if check.head.files else ""),
        "",
        *_environment(check),
        "",
        f"**Method**: {_method(check)}",
        "",
        "### Reproduce locally",
        "",
        markdown_code_block(check.reproduce, "console"),
        "",
    ]
    return _with_details(check, head, tail, max_chars)


def _gate_line(check: GateCheck) -> str:
    """Why the check fails the gate, or that it passes."""
    failures = check.failures
    if not failures:
        return f"Passes the gate (it fails on {check.fail_on} regressions or worse)."
    regressions = sum(1 for verdict in failures if verdict.verdict == "regressed")
    reasons = []
    if regressions:
        reasons.append(f"{_plural(regressions, 'regression')} of {check.fail_on} severity or worse")
    if len(failures) > regressions:
        reasons.append(f"{len(failures) - regressions} inconclusive (it fails on inconclusive too)")
    return f"Fails the gate: {' and '.join(reasons)}."


def _with_details(check: GateCheck, head: list[str], tail: list[str], max_chars: int) -> str:
    """The comment with every verdict in a collapsed table, cut (with a pointer to
    verdict.json) until the whole fits in ``max_chars``."""
    rows = _table(check.ordered)
    shown = len(rows)
    while True:
        details = [
            "",
            f"<details><summary>All {_plural(len(check.verdicts), 'verdict')}</summary>",
            "",
            *rows[:shown],
        ]
        if shown < len(rows):
            details += ["", f"\N{HORIZONTAL ELLIPSIS} {len(rows) - shown} more in verdict.json."]
        details += ["", "</details>"]
        text = "\n".join([*head, *details, *tail])
        if len(text) <= max_chars or shown <= 2:
            return text
        shown = max(2, shown - max(1, (len(text) - max_chars) // 80 + 1))
