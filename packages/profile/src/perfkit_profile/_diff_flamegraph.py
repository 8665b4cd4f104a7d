"""``diff-flamegraph.html``: the differential CPU flame graph of two captures' py-spy stacks.

B's call tree, each frame coloured by how its self time per operation moved from A (warmer:
more, cooler: less), with both sides' sample counts in its tooltip, and the functions whose self
time grew and dropped most listed under it (``_stack_diff`` says how the change is measured).
Written beside B's summary, or into ``--out``. A capture without py-spy stacks (py-spy did not
run, or a version 1 summary) gets no page: :func:`differential_flamegraph` says why instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from perfkit_profile._flamegraph import diff_page, write_page
from perfkit_profile._folded import Stack, parse_folded, workload_stacks
from perfkit_profile._stack_diff import Scale, StackDiff, diff_stacks, scale_for
from perfkit_profile._terminal import cell as _cell

__all__ = ["PAGE_NAME", "FrameDiff", "differential_flamegraph", "render_frames_rich"]

PAGE_NAME = "diff-flamegraph.html"


@dataclass(frozen=True)
class FrameDiff:
    """The page written and what it shows."""

    page: Path
    stacks: StackDiff


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _stacks(path: Path, summary: Mapping[str, Any]) -> list[Stack] | str:
    """The capture's stacks without the driver, or why there are none."""
    relative = (summary.get("files") or {}).get("pyspy_folded")
    if not relative:
        return f"{path} has no py-spy stacks (capture with --profiler py-spy or all)"
    file = _folder(path) / relative
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        return f"cannot read {file}: {exc.strerror}"
    stacks = parse_folded(text)
    return workload_stacks(stacks) if stacks else f"{file} holds no samples"


def _number(summary: Mapping[str, Any], *keys: str) -> float | None:
    value: Any = summary
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else None


def _scale(stacks: list[Stack], summary: Mapping[str, Any]) -> Scale:
    pyspy = summary.get("pyspy")
    return scale_for(
        sum(count for _, count in stacks),
        _number(summary, "pyspy", "rate"),
        _number(summary, "runs", "py-spy", "operations"),
        cpu_s=_number(summary, "runs", "py-spy", "cpu_s"),
        idle=bool(pyspy.get("idle")) if isinstance(pyspy, Mapping) else False,
    )


def _side(name: str, summary: Mapping[str, Any], samples: int) -> str:
    commit = str(summary.get("commit") or "")[:12] or "no commit"
    branch = f" ({summary['branch']})" if summary.get("branch") else ""
    ops = _number(summary, "runs", "py-spy", "operations")
    done = f", {ops:,.0f} operations" if ops else ""
    return f"{name}: {commit}{branch}, {summary.get('captured', '?')}: {samples:,} samples{done}"


def differential_flamegraph(
    before: tuple[Path, Mapping[str, Any]],
    after: tuple[Path, Mapping[str, Any]],
    *,
    out: Path | None = None,
    limit: int = 10,
) -> FrameDiff | str:
    """Write the page for ``(path, summary)`` A and B; returns it, or why it was not written."""
    stacks_a = _stacks(*before)
    if isinstance(stacks_a, str):
        return stacks_a
    stacks_b = _stacks(*after)
    if isinstance(stacks_b, str):
        return stacks_b
    scales = (_scale(stacks_a, before[1]), _scale(stacks_b, after[1]))
    diff = diff_stacks(stacks_a, stacks_b, scales, limit=limit)
    meta = [
        _side("A", before[1], diff.before_samples),
        _side("B", after[1], diff.after_samples),
        "colour: change of each frame's self time, in % of A's time per operation"
        if diff.per_operation
        else "colour: change of each frame's share of samples (a side has no operation count)",
    ]
    folder = out if out is not None else _folder(after[0])
    folder.mkdir(parents=True, exist_ok=True)
    title = f"Differential CPU flame graph: {after[1].get('target', '?')}"
    page = diff_page(
        title, meta, diff.tree, diff.growing, diff.shrinking, per_operation=diff.per_operation
    )
    return FrameDiff(write_page(folder / PAGE_NAME, page), diff)


def render_frames_rich(frames: FrameDiff | str, console: Console) -> None:
    """The growing functions and the page's path, or why there is no page."""
    if isinstance(frames, str):
        console.print(f"No differential flame graph: {_cell(frames)}")
        return
    unit = "A's time per operation" if frames.stacks.per_operation else "samples"
    table = Table(
        title=f"CPU self time (% of {unit}): functions that grew most",
        show_header=True,
        header_style="bold",
    )
    for name, justify in (("function", "left"), ("file", "left"), ("A", "right"), ("B", "right"), ("change", "right")):  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in frames.stacks.growing:
        table.add_row(
            _cell(row["function"]),
            _cell(row["file"]),
            f"{row['before_percent']:.2f}",
            f"{row['after_percent']:.2f}",
            f"{row['change_percent']:+.2f} pts",
        )
    console.print(table if frames.stacks.growing else "CPU self time: no function grew")
    console.print(f"Differential flame graph: {_cell(str(frames.page))}")
