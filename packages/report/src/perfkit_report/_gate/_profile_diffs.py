"""The PR comment's profile section: perfkit-profile's diffs of the regressed benchmarks.

With ``--profile-regressions`` the gate profiles each regressed benchmark on both sides and runs
``perfkit-profile diff --format json`` (the diff as data, documented in docs/profiling.md:
"diff --format json"). This module reads those documents and appends one section to comment.md:
per benchmark, where its differential CPU flame graph is (a path in the run's artifact, linked
when the gate knows the artifact's page), the functions whose CPU self time per operation grew
most, and, collapsed, the functions whose CPU share, allocated bytes and allocations grew (scalene
and memray). perfkit-profile writes no Markdown: every string of the documents (function names,
files, benchmark ids, commits, branches) is escaped here, like every other Markdown perfkit
writes (``_escape``), and the comment stays under GitHub's limit (``MAX_COMMENT_CHARS``): rows,
then the collapsed tables, then whole benchmarks are left out until it fits, with a pointer to
the artifact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit_report._escape import escape_markdown, markdown_code
from perfkit_report._exceptions import InputError
from perfkit_report._gate._comment import MAX_COMMENT_CHARS
from perfkit_report._input import parse_json, read_input, utf8_text
from perfkit_report._tables import Columns

__all__ = [
    "PROFILE_DIFF_VERSIONS",
    "ProfileDiff",
    "append_profile_diffs",
    "read_profile_diff",
    "render_profile_section",
]

# The versions of perfkit-profile's diff JSON this module reads (its history lives next to
# DIFF_JSON_VERSION in perfkit_profile/_diff_json.py).
PROFILE_DIFF_VERSIONS = (1,)
ARTIFACT = "regression-report"
# An artifact page link: a plain https URL, nothing that could end the Markdown link early.
_URL = re.compile(r"https://[^\s()<>\[\]`\"']+")
# Every table of the section: the py-spy frames and the scalene and memray functions.
_GROWTH = Columns(("function", "file", "base", "head", "change"), frozenset({2, 3, 4}))
_TITLES = {
    "cpu_percent": "CPU share (% of scalene's samples)",
    "bytes": "allocated bytes",
    "count": "allocations",
}
# The rows' numbers the section computes with (change_percent is the one a frame always has).
_NUMBERS = ("before", "after", "before_percent", "after_percent", "change_percent")
# How much of each benchmark's part is kept, most first, until the comment fits.
_LEVELS = ((10, True), (5, True), (5, False), (3, False), (1, False))


@dataclass(frozen=True, slots=True)
class ProfileDiff:
    """One ``perfkit-profile diff --format json`` document and where it was read from."""

    path: Path
    document: Mapping[str, Any]

    @property
    def benchmark(self) -> str:
        after = self.document.get("after") or {}
        return str(after.get("benchmark") or self.document.get("target") or self.path.parent.name)


def read_profile_diff(path: Path) -> ProfileDiff:
    """Read and check one diff document; :class:`InputError` naming the fix otherwise."""
    if not path.exists():
        raise InputError(f"{path}: no such diff; pass perfkit-profile diff --format json output")
    # The input contract's reading (_input): a FIFO or device refused, never a blocked read;
    # NaN and JSON too deep for the parser are one line, not a traceback.
    fix = "re-run perfkit-profile diff"
    raw = read_input(path, InputError, fix)
    try:
        document = parse_json(str(path), utf8_text(path, raw, InputError, fix), InputError, fix)
    except ValueError as exc:
        raise InputError(f"{path}: not a readable JSON diff ({exc}); {fix}") from None
    if not isinstance(document, dict):
        raise InputError(
            f"{path}: not a JSON object; pass perfkit-profile diff --format json output"
        )
    version = document.get("version")
    if version not in PROFILE_DIFF_VERSIONS or isinstance(version, bool):
        raise InputError(
            f"{path}: profile diff version {version!r} is not supported; this perfkit-report "
            f"reads version {', '.join(map(str, PROFILE_DIFF_VERSIONS))} (upgrade perfkit-report)"
        )
    for key in ("functions", "frames"):
        if key not in document:
            raise InputError(f"{path}: no {key}; it is not a perfkit-profile diff")
    problem = _shape_problem(document)
    if problem is not None:
        raise InputError(f"{path}: {problem}; {fix}")
    return ProfileDiff(path, document)


def _shape_problem(document: Mapping[str, Any]) -> str | None:
    """What in the document the section cannot render (docs/profiling.md, "diff --format json"),
    or None: sides and tables that are not objects, rows that are not lists of objects, numbers
    that are not numbers a float holds."""
    for side in ("before", "after"):
        if document.get(side) is not None and not isinstance(document[side], dict):
            return f"{side} is not an object"
    functions = document.get("functions")
    if functions is not None and not isinstance(functions, dict):
        return "functions is not an object"
    tables = [(f"functions.{metric}", (functions or {}).get(metric)) for metric in _TITLES]
    frames = document.get("frames")
    if isinstance(frames, dict):
        tables.append(("frames.growing", frames.get("growing")))
    for where, rows in tables:
        problem = _rows_problem(where, rows)
        if problem is not None:
            return problem
    return None


def _rows_problem(where: str, rows: Any) -> str | None:
    if rows is None:
        return None
    if not isinstance(rows, list):
        return f"{where} is not a list"
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            return f"{where}[{index}] is not an object"
        for key in _NUMBERS:
            value = row.get(key)
            nullable = key != "change_percent"
            if key in row and not (value is None and nullable) and not _is_number(value):
                return f"{where}[{index}].{key} is {value!r:.40}, not a number"
    return None


def _is_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        float(value)
    except OverflowError:  # an integer beyond a float (10**400 is valid JSON)
        return False
    return True


def _pct(value: Any) -> str:
    return f"{float(value):.1f} %" if isinstance(value, int | float) else "—"


def _number(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def _where(row: Mapping[str, Any]) -> str:
    line = row.get("line")
    return f"{row.get('file', '')}:{line}" if line is not None else str(row.get("file", ""))


def _frame_rows(frames: Mapping[str, Any], rows: int) -> list[str]:
    growing = list(frames.get("growing") or [])[:rows]
    if not growing:
        return ["No function's CPU self time grew."]
    unit = "the base's time per operation" if frames.get("per_operation") else "each side's samples"
    table = _GROWTH.markdown(
        [
            markdown_code(str(row.get("function", "?"))),
            markdown_code(_where(row)),
            _pct(row.get("before_percent")),
            _pct(row.get("after_percent")),
            f"{float(row.get('change_percent', 0.0)):+.1f} pts",
        ]
        for row in growing
    )
    return [f"CPU self time that grew most, in % of {unit} (py-spy):", "", *table]


def _page_line(diff: ProfileDiff, root: Path, url: str | None) -> str:
    frames = diff.document.get("frames")
    if not isinstance(frames, Mapping):
        reason = str(diff.document.get("frames_missing") or "no py-spy stacks")
        return f"No differential flame graph: {escape_markdown(reason)}."
    page = Path(str(frames.get("page", "")))
    try:
        shown = page.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = page.name
    where = f"[the `{ARTIFACT}` artifact]({url})" if url else f"the `{ARTIFACT}` artifact"
    return f"Differential CPU flame graph: {markdown_code(shown)} in {where}."


def _sides(document: Mapping[str, Any]) -> str:
    def side(name: str) -> str:
        data = document.get(name) or {}
        commit = str(data.get("commit") or "")[:12] or "no commit"
        branch = f" ({data['branch']})" if data.get("branch") else ""
        return markdown_code(commit + branch)

    return f"base {side('before')}, head {side('after')}"


def _function_tables(document: Mapping[str, Any], rows: int) -> list[str]:
    """The scalene and memray tables, collapsed."""
    functions = document.get("functions") or {}
    per_op = " per operation" if document.get("per_operation") else ""
    out = ["<details><summary>scalene and memray: functions that grew most</summary>", ""]
    for metric, title in _TITLES.items():
        grown = list(functions.get(metric) or [])[:rows]
        suffix = per_op if metric != "cpu_percent" else ""
        out.append(f"**{title}{suffix}**" + ("" if grown else ": no function grew"))
        out.append("")
        if grown:
            out += _GROWTH.markdown(
                [
                    markdown_code(str(row.get("function", "?"))),
                    markdown_code(str(row.get("file", ""))),
                    _number(row.get("before")),
                    _number(row.get("after")),
                    _number(_delta(row)),
                ]
                for row in grown
            )
            out.append("")
    return [*out, "</details>"]


def _delta(row: Mapping[str, Any]) -> float | None:
    before, after = row.get("before"), row.get("after")
    if isinstance(before, int | float) and isinstance(after, int | float):
        return float(after) - float(before)
    return None


def _benchmark_part(
    diff: ProfileDiff, root: Path, url: str | None, rows: int, details: bool
) -> list[str]:
    frames = diff.document.get("frames")
    lines = [
        f"### {markdown_code(diff.benchmark)}",
        "",
        f"{_page_line(diff, root, url)} Captured on {_sides(diff.document)}.",
        "",
    ]
    if isinstance(frames, Mapping):
        lines += [*_frame_rows(frames, rows), ""]
    if details:
        lines += [*_function_tables(diff.document, rows), ""]
    return lines


def render_profile_section(
    diffs: Sequence[ProfileDiff],
    missing: Sequence[str],
    *,
    artifact_root: Path,
    artifact_url: str | None = None,
    room: int = MAX_COMMENT_CHARS,
) -> str:
    """The section, at most ``room`` characters (``""`` when not even a pointer fits)."""
    if artifact_url is not None and not _URL.fullmatch(artifact_url):
        raise InputError(
            f"--artifact-url {artifact_url!r} is not a plain https URL; pass the run's page"
        )
    for kept in range(len(diffs), -1, -1):  # every benchmark, with fewer rows, before fewer
        for rows, details in _LEVELS:
            text = _section(diffs, missing, artifact_root, artifact_url, rows, details, kept)
            if len(text) <= room:
                return text
    pointer = f"\n## Profiles of the regressed benchmarks\n\nIn the `{ARTIFACT}` artifact.\n"
    return pointer if len(pointer) <= room else ""


def _section(
    diffs: Sequence[ProfileDiff],
    missing: Sequence[str],
    root: Path,
    url: str | None,
    rows: int,
    details: bool,
    kept: int,
) -> str:
    lines = ["", "## Profiles of the regressed benchmarks", ""]
    for diff in diffs[:kept]:
        lines += _benchmark_part(diff, root, url, rows, details)
    if kept < len(diffs):
        lines += [
            f"{len(diffs) - kept} more in the `{ARTIFACT}` artifact (the comment's size limit).",
            "",
        ]
    for benchmark in missing:
        lines.append(
            f"- {markdown_code(benchmark)}: not profiled on both sides or not diffed; see the job log."
        )
    return "\n".join(lines).rstrip("\n") + "\n"


def append_profile_diffs(
    comment: Path,
    diffs: Sequence[Path],
    missing: Sequence[str] = (),
    *,
    artifact_url: str | None = None,
    artifact_root: Path | None = None,
    max_chars: int = MAX_COMMENT_CHARS,
) -> int:
    """Append the section to ``comment`` (every diff is read first: a bad one writes nothing);
    returns the characters appended."""
    documents = [read_profile_diff(path) for path in diffs]
    try:
        existing = comment.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{comment}: no such comment; run perfkit-report check first") from None
    section = render_profile_section(
        documents,
        missing,
        artifact_root=artifact_root or comment.parent,
        artifact_url=artifact_url,
        room=max_chars - len(existing),
    )
    with comment.open("a", encoding="utf-8") as out:
        out.write(section)
    return len(section)
