"""A capture: one workload under each chosen profiler, into ``<out>/<UTC time>-<commit>-<target>/``.

The order of work: check the profilers are installed (before anything is written), import the
workload once without a profiler (a typo fails in a second, not after a 5 s profile), make the
folder, run scalene, then memray, then py-spy (one after the other: two profilers in parallel
would measure each other on two cores), write summary.json last, so a folder with a summary is
complete, even when the summary lists errors.

py-spy needs ptrace permission, which containers and locked-down kernels refuse: a one-second
probe, run beside the import check, finds that out first. When py-spy was the only profiler
asked for, that is an error before anything is written; otherwise the others run, and the
capture lists py-spy's error and reports it in ``unavailable`` (the command exits 2).
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from perfkit_profile import _memray, _pyspy, _scalene
from perfkit_profile._exceptions import ProfilerUnavailable, UsageError
from perfkit_profile._git import git_state
from perfkit_profile._progress import Progress
from perfkit_profile._scalene import scalene_options
from perfkit_profile._summary import SUMMARY_VERSION, write_summary
from perfkit_profile._tool import PROFILERS, Budget, ToolReport, require
from perfkit_profile._workload import Workload, check_workload

__all__ = ["Capture", "CaptureOptions", "capture", "folder_name", "preflight"]

# Entries kept per top_* list in summary.json: enough for a diff to find a function that moved
# from rank 25 to rank 3, small enough to read.
DEFAULT_TOP = 30

_Runner = Callable[..., ToolReport]
_RUNNERS: dict[str, _Runner] = {"scalene": _scalene.capture, "memray": _memray.capture}
_PYSPY = "py-spy"


@dataclass(frozen=True)
class CaptureOptions:
    profilers: Sequence[str] = PROFILERS
    budget: Budget = field(default_factory=Budget)
    out: Path = Path("profiles")
    timeout: float = 600.0
    top: int = DEFAULT_TOP
    command: Sequence[str] = ()
    pyspy: _pyspy.PySpySettings = field(default_factory=_pyspy.PySpySettings)


@dataclass(frozen=True)
class Capture:
    folder: Path
    summary: dict[str, Any]
    unavailable: tuple[str, ...] = ()
    """Profilers that could not run here (py-spy without ptrace permission), one line each."""

    @property
    def errors(self) -> list[str]:
        return list(self.summary["errors"])


def folder_name(captured: datetime, short_commit: str, label: str) -> str:
    """``20260101T120000Z-3f2a9c1b7d4e-routing``: sorts by time, names the code and target."""
    return f"{captured.strftime('%Y%m%dT%H%M%SZ')}-{short_commit}-{label}"


def capture(
    workload: Workload, options: CaptureOptions, progress: Progress, *, repo_dir: Path
) -> Capture:
    """Profile ``workload``; tool failures are listed in the summary's ``errors``, not raised."""
    versions = {name: require(name) for name in options.profilers}
    started = time.perf_counter()
    captured = datetime.now(UTC).replace(microsecond=0)
    git = git_state(repo_dir)
    with tempfile.TemporaryDirectory(prefix="perfkit-profile-") as tmp:
        scratch = Path(tmp)
        workload, unavailable = preflight(
            workload, options.profilers, options.pyspy, scratch, progress
        )
        folder = _new_folder(options.out, folder_name(captured, git.short_commit, workload.label))
        names = [name for name in options.profilers if name not in unavailable]
        reports = _run_profilers(workload, names, options, versions, folder, scratch, progress)
    tools = {report.name: report.version for report in reports}
    tools["python"] = platform.python_version()
    summary: dict[str, Any] = {
        "version": SUMMARY_VERSION,
        "target": workload.target,
        "workload": workload.func,
        "kwargs": dict(workload.kwargs),
        "benchmark": workload.benchmark,
        "kind": workload.kind,
        "captured": captured.isoformat(),
        "commit": git.commit,
        "branch": git.branch,
        "dirty": git.dirty,
        "command": list(options.command),
        "duration_s": round(time.perf_counter() - started, 3),
        "tools": tools,
        "profilers": [report.name for report in reports],
        "budget": options.budget.spec(),
        **_figures(reports),
        "files": {key: path for report in reports for key, path in report.files.items()},
        "runs": {report.name: report.run for report in reports},
        "errors": [
            *unavailable.values(),
            *(error for report in reports for error in report.errors),
        ],
    }
    write_summary(folder, summary)
    denied = [report.data["denied"] for report in reports if report.data.get("denied")]
    return Capture(folder, summary, (*unavailable.values(), *denied))


def _run_profilers(
    workload: Workload,
    names: Sequence[str],
    options: CaptureOptions,
    versions: dict[str, str],
    folder: Path,
    scratch: Path,
    progress: Progress,
) -> list[ToolReport]:
    """Each profiler in ``names``, one after the other, in PROFILERS order."""
    runners: dict[str, _Runner] = {
        **_RUNNERS,
        _PYSPY: partial(_pyspy.capture, settings=options.pyspy),
    }
    return [
        runners[name](
            workload,
            folder.resolve(),  # the tools run in other working directories
            scratch,
            version=versions[name],
            budget=options.budget,
            timeout=options.timeout,
            top=options.top,
            progress=progress,
        )
        for name in PROFILERS
        if name in names
    ]


def _figures(reports: Sequence[ToolReport]) -> dict[str, Any]:
    """The summary's figures from the profilers that ran (empty lists and nulls for the others)."""
    by_name = {report.name: report for report in reports}
    scalene = by_name.get("scalene")
    memray = by_name.get("memray")
    peak, source = _peak(scalene, memray)
    figures: dict[str, Any] = {
        "peak_memory_bytes": peak,
        "peak_memory_source": source,
        "allocations": memray.data.get("allocations") if memray else None,
        "top_cpu": scalene.data.get("top_cpu", []) if scalene else [],
        "top_lines": scalene.data.get("top_lines", []) if scalene else [],
        "top_alloc": memray.data.get("top_alloc", []) if memray else [],
        **_pyspy.summary_fields(by_name.get(_PYSPY)),
    }
    if scalene:
        figures["scalene"] = {
            "elapsed_s": scalene.data.get("elapsed_s"),
            "max_footprint_bytes": scalene.data.get("max_footprint_bytes"),
            "options": scalene_options(),
        }
    if memray:
        figures["memray"] = {
            "total_bytes_allocated": memray.data.get("total_bytes_allocated"),
            "leaked_bytes": memray.data.get("leaked_bytes"),
            "leaked_allocations": memray.data.get("leaked_allocations"),
            "trace_python_allocators": True,
        }
    return figures


def preflight(
    workload: Workload,
    profilers: Sequence[str],
    pyspy: _pyspy.PySpySettings,
    scratch: Path,
    progress: Progress,
) -> tuple[Workload, dict[str, str]]:
    """The workload with its kind resolved, and the profilers that cannot run here (name ->
    error; ProfilerUnavailable when py-spy is the only one asked for): py-spy's probe runs
    beside the import check, on the other core."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        probe = pool.submit(_pyspy.check_attach, pyspy, scratch) if _PYSPY in profilers else None
        with progress.step(f"importing {workload.func}"):
            workload = check_workload(workload, scratch)
        denied = probe.result() if probe is not None else None
    if denied is None:
        return workload, {}
    if set(profilers) <= {_PYSPY}:
        raise ProfilerUnavailable(denied)
    return workload, {_PYSPY: denied}


def _peak(scalene: ToolReport | None, memray: ToolReport | None) -> tuple[int | None, str | None]:
    """memray's exact high-water mark; scalene's sampled footprint when memray did not run."""
    if memray and memray.data.get("peak_memory_bytes") is not None:
        return int(memray.data["peak_memory_bytes"]), "memray"
    if scalene and scalene.data.get("max_footprint_bytes") is not None:
        return int(scalene.data["max_footprint_bytes"]), "scalene"
    return None, None


def _new_folder(out: Path, name: str) -> Path:
    """A new folder: two captures in the same second get ``-2``, ``-3`` suffixes."""
    out.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        folder = out / (name if attempt == 1 else f"{name}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise UsageError(f"{out / name}: too many captures with this name; pass another --out")
