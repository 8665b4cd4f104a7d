"""summary.json: the one file of a capture that other tools read (perfkit-report, ``diff``).

Its fields are documented in docs/profiling.md; readers must accept extra keys. A reader that
finds a ``version`` it does not know must refuse the file rather than guess.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfkit_profile._exceptions import SummaryError

__all__ = [
    "FILE_KEYS",
    "READABLE_VERSIONS",
    "REQUIRED_KEYS",
    "SUMMARY_NAME",
    "SUMMARY_VERSION",
    "load_summary",
    "write_summary",
]

# History of the summary.json format (bump on any change a reader must know about):
# 1 (2026-11-27): first version: target, workload, kwargs, captured, commit, branch, command,
#   duration_s, tools, peak_memory_bytes, allocations, top_cpu, top_lines, top_alloc, files,
#   errors; extra keys: benchmark, kind, dirty, profilers, runs, memray, scalene.
# 2 (2026-12-03): py-spy: top_frames_self and top_frames_total (functions by self and total
#   samples), a pyspy object (rate, native, idle, samples, sampling_errors), files pyspy_folded,
#   pyspy_flamegraph, pyspy_log, pyspy_driver, runs["py-spy"], tools["py-spy"]. Every version 1
#   key keeps its meaning, so a version 1 file reads as a version 2 file without py-spy (the new
#   lists empty, the pyspy object absent): readers of version 2 accept both.
SUMMARY_VERSION = 2
READABLE_VERSIONS = (1, 2)
SUMMARY_NAME = "summary.json"

REQUIRED_KEYS = (
    "version",
    "target",
    "workload",
    "kwargs",
    "captured",
    "commit",
    "branch",
    "command",
    "duration_s",
    "tools",
    "peak_memory_bytes",
    "allocations",
    "top_cpu",
    "top_lines",
    "top_alloc",
    "files",
    "errors",
)
# The main outputs in ``files``. Like every key of ``files`` (logs, the driver's records, the
# leaks summary), each is present only when its file was produced: values are always strings.
FILE_KEYS = (
    "scalene_json",
    "scalene_html",
    "memray_bin",
    "memray_flamegraph",
    "memray_stats",
    "memray_leaks",
    "pyspy_folded",
    "pyspy_flamegraph",
)


def write_summary(folder: Path, summary: Mapping[str, Any]) -> Path:
    """Write ``summary.json``; NaN and infinities (which JSON forbids) become null."""
    path = folder / SUMMARY_NAME
    text = json.dumps(_finite(dict(summary)), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def load_summary(path: Path) -> dict[str, Any]:
    """A summary from its file or its capture folder; checks the version and required keys."""
    file = path / SUMMARY_NAME if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SummaryError(
            f"{file} does not exist: pass a capture folder or its summary.json"
        ) from None
    except (OSError, ValueError) as exc:
        raise SummaryError(f"cannot read {file}: {exc}") from None
    if not isinstance(data, dict):
        raise SummaryError(f"{file} is not a JSON object")
    version = data.get("version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        readable = " and ".join(map(str, READABLE_VERSIONS))
        raise SummaryError(
            f"{file} has summary version {version!r}; this perfkit-profile reads versions "
            f"{readable}: re-capture it, or use the perfkit-profile that wrote it"
        )
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise SummaryError(
            f"{file} lacks {', '.join(missing)}: it is not a perfkit-profile summary"
        )
    for key in ("top_cpu", "top_lines", "top_alloc", "errors"):
        if not isinstance(data[key], list):
            raise SummaryError(f"{file}: {key} is not a list")
    for key in ("top_frames_self", "top_frames_total"):
        if not isinstance(data.setdefault(key, []), list):
            raise SummaryError(f"{file}: {key} is not a list")
    return data
