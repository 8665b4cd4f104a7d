"""memray: every allocation of the workload, its flame graphs (peak and leaks), stats and peak.

The driver runs as ``python -m memray run -q --trace-python-allocators -o memray.bin _driver.py
profile SPEC``. ``--trace-python-allocators`` records each object pymalloc hands out: without it,
memray sees only pymalloc's 256 KiB arenas, and on the routing target its top allocation sites
were the import system, not the message path (5,865 allocations recorded instead of 13 million).
The price is overhead (see docs/profiling.md) and a capture file of a few MB.

Then, two at a time (the machine has two cores): ``memray flamegraph --no-web`` (peak memory),
``memray flamegraph --leaks --no-web`` (memory still allocated when tracking stopped),
``memray stats --json`` (every location, so byte and count rankings can be joined), and a
leaks summary from memray's ``FileReader`` (``python -m perfkit_profile._memray``). ``--no-web``
makes memray inline its own vendored bootstrap, jquery, d3, d3-flame-graph and plotly instead
of CDN tags; the pages are then sealed offline (see ``_offline``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from perfkit_profile._child import (
    ChildResult,
    append_log,
    driver_path,
    driver_record,
    read_json,
    run_child,
    tail,
    write_spec,
)
from perfkit_profile._offline import seal_file
from perfkit_profile._progress import Progress
from perfkit_profile._tool import Budget, ToolReport
from perfkit_profile._workload import Workload

__all__ = ["capture", "leaks_summary", "parse_stats"]

# `memray stats -n`: large enough to list every location (the routing target has ~3,000), so the
# by-size and by-count rankings cover the same locations and can be joined exactly.
_ALL_LOCATIONS = 1_000_000
# Leak locations kept in memray-leaks.json.
_LEAK_TOP = 50
# Report commands run two at a time: two cores.
_REPORT_WORKERS = 2


def capture(
    workload: Workload,
    folder: Path,
    scratch: Path,
    *,
    version: str,
    budget: Budget,
    timeout: float,
    top: int,
    progress: Progress,
) -> ToolReport:
    """Run the workload under memray into ``folder``; never raises for a tool failure."""
    report = ToolReport("memray", version)
    capture_file = folder / "memray.bin"
    result_path = folder / "memray-driver.json"
    log = folder / "memray.log"
    spec = write_spec(
        scratch / "memray-spec.json",
        {**workload.spec(), **budget.spec(), "result": str(result_path)},
    )
    command = [
        sys.executable, "-m", "memray", "run", "-q", "--trace-python-allocators",
        "-o", str(capture_file),
        str(driver_path()), "profile", str(spec),
    ]  # fmt: skip
    with progress.step("memray: tracking every allocation") as step:
        child = run_child(command, log=log, timeout=timeout)
        result = read_json(result_path)
        report.run = driver_record(child, result)
        if result is not None:
            report.files["memray_driver"] = result_path.name
        report.files["memray_log"] = log.name
        usable = capture_file.exists() and capture_file.stat().st_size > 0
        if child.returncode is None:
            report.errors.append(f"memray: killed after the {timeout:g} s timeout")
        elif result is not None and result.get("error"):
            kept = "; the partial capture is kept" if usable else ""
            report.errors.append(f"memray: the workload raised {result['error']}{kept}")
        elif result is None:
            report.errors.append(
                f"memray: the workload did not run (exit {child.returncode}): {tail(log)}"
            )
        elif child.returncode != 0:
            report.errors.append(f"memray: exit code {child.returncode}: {tail(log)}")
        if not usable:
            report.errors.append(f"memray wrote no capture file: {tail(log)}")
        if report.errors:
            step.fail(report.errors[0])
    if not usable:
        return report
    report.files["memray_bin"] = capture_file.name
    _reports(capture_file, folder, scratch, report, timeout=timeout, top=top, progress=progress)
    return report


def _reports(
    capture_file: Path,
    folder: Path,
    scratch: Path,
    report: ToolReport,
    *,
    timeout: float,
    top: int,
    progress: Progress,
) -> None:
    memray = [sys.executable, "-m", "memray"]
    bin_ = str(capture_file)
    jobs: list[tuple[str, str, str, list[str]]] = [
        # (summary key, file name, progress label, command)
        ("memray_flamegraph", "memray-flamegraph.html", "memray: peak-memory flame graph",
         [*memray, "flamegraph", "--no-web", "-f", "-o", str(folder / "memray-flamegraph.html"), bin_]),
        ("memray_leaks", "memray-leaks.html", "memray: leaks flame graph",
         [*memray, "flamegraph", "--leaks", "--no-web", "-f", "-o", str(folder / "memray-leaks.html"), bin_]),
        ("memray_stats", "memray-stats.json", "memray: stats",
         [*memray, "stats", "--json", "-n", str(_ALL_LOCATIONS), "-f", "-o", str(folder / "memray-stats.json"), bin_]),
        ("memray_leaks_summary", "memray-leaks.json", "memray: leaks summary",
         [sys.executable, "-m", "perfkit_profile._memray", bin_, str(folder / "memray-leaks.json")]),
    ]  # fmt: skip

    def run(job: tuple[str, str, str, list[str]]) -> tuple[str, str, ChildResult]:
        key, name, label, command = job
        with progress.step(label) as step:
            child = run_child(command, log=scratch / f"{name}.log", timeout=timeout)
            if not (child.ok and (folder / name).exists()):
                step.fail(f"exit {child.returncode}: {tail(child.log)}")
        return key, name, child

    with ThreadPoolExecutor(max_workers=_REPORT_WORKERS) as pool:
        outcomes = list(pool.map(run, jobs))
    for key, name, child in outcomes:
        append_log(folder / "memray.log", child.log)
        path = folder / name
        if child.ok and path.exists():
            report.files[key] = name
            if name.endswith(".html"):
                remote = seal_file(path)
                if remote:
                    report.errors.append(
                        f"{name} loads {len(remote)} scripts from the network and will not render "
                        "offline: upgrade memray (pip install 'perfkit-profile[memray]')"
                    )
        else:
            report.errors.append(
                f"`memray {' '.join(child.command[3:4])}` for {name} failed "
                f"(exit {child.returncode}): {tail(child.log)}"
            )
    stats = read_json(folder / "memray-stats.json")
    if stats is not None:
        report.data.update(parse_stats(stats, top))
    leaks = read_json(folder / "memray-leaks.json")
    if leaks is not None:
        report.data["leaked_bytes"] = leaks.get("leaked_bytes")
        report.data["leaked_allocations"] = leaks.get("leaked_allocations")


def _location(text: str) -> tuple[str, str, int]:
    """``function:file:line`` as memray writes it (the file may itself hold colons)."""
    function, _, rest = text.partition(":")
    file, _, line = rest.rpartition(":")
    try:
        return function, file, int(line)
    except ValueError:
        return function, rest, 0


def parse_stats(stats: dict[str, Any], top: int) -> dict[str, Any]:
    """Peak memory, allocation count and ``top_alloc`` from ``memray stats --json`` output.

    A location is the innermost Python frame of an allocation (function, file, line): its
    *own* allocations, not its callees'. Bytes and counts are totals over the whole run.
    """
    by_size = {
        item["location"]: int(item["size"]) for item in stats.get("top_allocations_by_size") or []
    }
    by_count = {
        item["location"]: int(item["count"]) for item in stats.get("top_allocations_by_count") or []
    }
    ranked = sorted(
        by_size.keys() | by_count.keys(),
        key=lambda loc: (-by_size.get(loc, 0), -by_count.get(loc, 0), loc),
    )
    rows: list[dict[str, Any]] = []
    for location in ranked[:top]:
        function, file, line = _location(location)
        rows.append(
            {
                "function": function,
                "file": file,
                "line": line,
                "bytes": by_size.get(location, 0),
                "count": by_count.get(location, 0),
            }
        )
    metadata = stats.get("metadata") or {}
    peak = metadata.get("peak_memory")
    return {
        "peak_memory_bytes": int(peak) if peak is not None else None,
        "allocations": stats.get("total_num_allocations"),
        "total_bytes_allocated": stats.get("total_bytes_allocated"),
        "top_alloc": rows,
    }


def leaks_summary(capture_file: Path, output: Path, top: int = _LEAK_TOP) -> dict[str, Any]:
    """Memory still allocated when tracking stopped, by allocating location (memray FileReader)."""
    from memray import FileReader

    reader = FileReader(str(capture_file))
    totals: dict[tuple[str, str, int], list[int]] = {}
    leaked_bytes = leaked_allocations = 0
    for record in reader.get_leaked_allocation_records(merge_threads=True):
        frames = record.stack_trace(max_stacks=1)
        key = (frames[0][0], frames[0][1], int(frames[0][2])) if frames else ("<unknown>", "", 0)
        entry = totals.setdefault(key, [0, 0])
        entry[0] += record.size
        entry[1] += record.n_allocations
        leaked_bytes += record.size
        leaked_allocations += record.n_allocations
    ranked = sorted(totals.items(), key=lambda item: -item[1][0])[:top]
    summary = {
        "leaked_bytes": leaked_bytes,
        "leaked_allocations": leaked_allocations,
        "trace_python_allocators": bool(reader.metadata.trace_python_allocators),
        "top": [
            {"function": f, "file": file, "line": line, "bytes": size, "count": count}
            for (f, file, line), (size, count) in ranked
        ],
    }
    output.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _main(argv: list[str], write: Callable[[Path, Path], object] = leaks_summary) -> int:
    if len(argv) != 2:
        print("usage: python -m perfkit_profile._memray CAPTURE.bin OUTPUT.json", file=sys.stderr)
        return 2
    write(Path(argv[0]), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
