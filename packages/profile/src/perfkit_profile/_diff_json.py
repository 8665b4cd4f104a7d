"""``perfkit-profile diff --format json``: the diff as data, for perfkit-report to render.

perfkit-report writes the PR comment and owns the one Markdown escaper of the project, so
perfkit-profile hands it the diff as JSON (documented in docs/profiling.md) and never writes
Markdown for it. Strings in it are raw, as the profilers wrote them: whoever renders them
escapes them for their medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfkit_profile._diff import METRICS, ProfileDiff
from perfkit_profile._diff_flamegraph import FrameDiff

__all__ = ["DIFF_JSON_VERSION", "diff_json"]

# History of the diff JSON format (bump on any change a reader must know about):
# 1 (2026-12-03): first version: version, target, before, after, per_operation, headline,
#   functions (cpu_percent, bytes, count), frames (page, per_operation, before_samples,
#   after_samples, growing, shrinking) or null with frames_missing.
DIFF_JSON_VERSION = 1

_SIDE_KEYS = ("target", "workload", "benchmark", "commit", "branch", "captured")


def _side(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {key: summary.get(key) for key in _SIDE_KEYS}


def diff_json(diff: ProfileDiff, frames: FrameDiff | str) -> dict[str, Any]:
    """The document ``diff --format json`` prints."""
    document: dict[str, Any] = {
        "version": DIFF_JSON_VERSION,
        "target": diff.after.get("target"),
        "before": _side(diff.before),
        "after": _side(diff.after),
        "per_operation": diff.per_operation,
        "headline": [
            {"label": label, "before": before, "after": after}
            for label, before, after in diff.headline
        ],
        "functions": {
            metric: [
                {
                    "function": change.function,
                    "file": change.file,
                    "before": change.before,
                    "after": change.after,
                }
                for change in diff.changes.get(metric, [])
            ]
            for metric in METRICS
        },
        "frames": None,
        "frames_missing": None,
    }
    if isinstance(frames, str):
        document["frames_missing"] = frames
        return document
    document["frames"] = {
        "page": str(frames.page),
        "per_operation": frames.stacks.per_operation,
        "before_samples": frames.stacks.before_samples,
        "after_samples": frames.stacks.after_samples,
        "growing": frames.stacks.growing,
        "shrinking": frames.stacks.shrinking,
    }
    return document
