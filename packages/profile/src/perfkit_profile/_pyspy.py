"""py-spy: CPU samples of the workload's stacks, its folded stacks and an offline flame graph.

The driver runs as ``py-spy record --format raw --function --full-filenames --rate R -o
pyspy.folded [--native] [--idle] -- python _driver.py profile SPEC``: py-spy starts the driver
itself and reads its stacks from outside, R times a second (py-spy's default 100 Hz), pausing it
for each sample. Options:

- ``--function``: frames are functions (at their first line), not lines: the flame graph shows
  one frame per function call, and a frame's identity survives edits inside the function;
- ``--full-filenames``: whole paths, so frames of the two sides of a diff are matched the way
  scalene's and memray's are (``_frames.normalize_file``);
- ``--idle``: also count threads that are waiting (off by default: the graph is CPU time);
- ``--native``: also unwind C frames (extensions, the interpreter); py-spy supports it on
  x86-64 Linux and Windows only.

py-spy needs ptrace permission over the process it samples. Without it (a container without
``CAP_SYS_PTRACE``, ``kernel.yama.ptrace_scope`` 2 or 3, macOS without root) it fails at once;
:func:`check_attach` finds that out with a one-second probe before the capture starts, so the
error names the fix and the other profilers still run.
"""

from __future__ import annotations

import platform
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit_profile._child import (
    driver_path,
    driver_record,
    read_json,
    run_child,
    tail,
    write_spec,
)
from perfkit_profile._exceptions import ProfilerUnavailable, UsageError
from perfkit_profile._flamegraph import cpu_page, write_page
from perfkit_profile._folded import build_tree, parse_folded, top_frames, workload_stacks
from perfkit_profile._frames import normalize_file
from perfkit_profile._progress import Progress
from perfkit_profile._tool import Budget, ToolReport
from perfkit_profile._workload import Workload

__all__ = [
    "DEFAULT_RATE",
    "PySpySettings",
    "capture",
    "check_attach",
    "permission_problem",
    "pyspy_binary",
    "record_command",
    "summary_fields",
]

# py-spy's own default: 500 samples in the default 5 s budget, and a pause of the process every
# 10 ms (see the overhead figures in docs/profiling.md).
DEFAULT_RATE = 100
# How long the probe's program lives: py-spy gives up on a process it may not trace after about
# 0.7 s here, and a program gone before that gives a misleading "no such file" error instead. So
# a failure that names no permission problem is tried once more with a longer-lived program (a
# loaded machine slows py-spy's retries down).
_PROBE_SECONDS = (1.5, 6.0)
_PROBE_TIMEOUT = 60.0
# What py-spy (0.4) prints when the kernel refuses it the process: EPERM from ptrace or
# process_vm_readv (containers, Yama), "Permission denied" reading /proc/PID/mem, and the macOS
# message asking for root.
_DENIED = re.compile(
    r"operation not permitted|permission denied|EPERM|elevated permissions|requires root",
    re.IGNORECASE,
)
_CAUSE_NUMBER = re.compile(r"^\d+: ")
_COUNTS = re.compile(r"Samples: (\d+) Errors: (\d+)")
# The log lines an error quotes: py-spy closes its log with three lines of its own (stopped,
# wrote, a flamegraph.pl hint), so four reach the workload's last line of stderr.
_LOG_LINES = 4
_FIX = (
    "run as root (sudo), start the container with --cap-add SYS_PTRACE, or allow ptrace with "
    "`sudo sysctl kernel.yama.ptrace_scope=1`"
)


@dataclass(frozen=True)
class PySpySettings:
    """How py-spy samples: ``rate`` per second, native frames, idle threads."""

    rate: int = DEFAULT_RATE
    native: bool = False
    idle: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"rate": self.rate, "native": self.native, "idle": self.idle}


def native_supported() -> bool:
    """py-spy unwinds native frames on x86-64 Linux and on Windows only."""
    system, machine = platform.system(), platform.machine().lower()
    return system == "Windows" or (system == "Linux" and machine in ("x86_64", "amd64"))


def pyspy_binary() -> Path:
    """The ``py-spy`` program installed with this interpreter (the wheel puts it beside it)."""
    name = "py-spy.exe" if sys.platform == "win32" else "py-spy"
    beside = Path(sys.executable).with_name(name)
    if beside.is_file():
        return beside
    found = shutil.which("py-spy")
    if found is None:
        raise ProfilerUnavailable(
            f"the py-spy program is not installed beside {sys.executable}: "
            "pip install 'perfkit-profile[py-spy]'"
        )
    return Path(found)


def record_command(settings: PySpySettings, output: Path, program: list[str]) -> list[str]:
    """``py-spy record`` of ``program`` into folded stacks at ``output``."""
    if settings.native and not native_supported():
        raise UsageError(
            f"py-spy samples native frames on x86-64 Linux and Windows only, not "
            f"{sys.platform}/{platform.machine()}: drop --native"
        )
    command = [
        str(pyspy_binary()), "record", "--format", "raw", "--function", "--full-filenames",
        "--rate", str(settings.rate), "--output", str(output),
    ]  # fmt: skip
    command += ["--native"] if settings.native else []
    command += ["--idle"] if settings.idle else []
    return [*command, "--", *program]


def permission_problem(log_text: str) -> str | None:
    """The one-line error for a py-spy that may not trace the process, or None."""
    lines = [" ".join(line.split()) for line in log_text.splitlines()]
    denied = next((line for line in lines if _DENIED.search(line)), None)
    if denied is None:
        return None
    # py-spy prints ``Error: <what failed>``, then ``Caused by:`` and numbered causes.
    what = next((line[len("Error: ") :] for line in lines if line.startswith("Error: ")), "")
    cause = _CAUSE_NUMBER.sub("", denied).removeprefix("Error: ")
    reason = cause if not what or what == cause else f"{what}: {cause}"
    return f"py-spy cannot read the workload's process ({reason}): {_FIX}"


def check_attach(settings: PySpySettings, scratch: Path) -> str | None:
    """Sample a short-lived program with the capture's settings: None when py-spy can, else
    the one-line error naming the fix."""
    error = ""
    for seconds in _PROBE_SECONDS:
        log = scratch / "pyspy-probe.log"
        program = [sys.executable, "-c", f"import time; time.sleep({seconds})"]
        child = run_child(
            record_command(settings, scratch / "probe.folded", program),
            log=log,
            timeout=_PROBE_TIMEOUT,
        )
        if child.ok:
            return None
        denied = permission_problem(log.read_text(encoding="utf-8", errors="replace"))
        if denied:
            return denied
        error = f"py-spy cannot sample here (exit {child.returncode}): {tail(log, 3)}"
    return error


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
    settings: PySpySettings,
) -> ToolReport:
    """Run the workload under py-spy into ``folder``; never raises for a tool failure."""
    report = ToolReport("py-spy", version, data=settings.as_json())
    folded = folder / "pyspy.folded"
    result_path = folder / "pyspy-driver.json"
    log = folder / "pyspy.log"
    spec = write_spec(
        scratch / "pyspy-spec.json",
        {**workload.spec(), **budget.spec(), "result": str(result_path)},
    )
    program = [sys.executable, str(driver_path()), "profile", str(spec)]
    with progress.step(f"py-spy: sampling stacks at {settings.rate} Hz") as step:
        child = run_child(record_command(settings, folded, program), log=log, timeout=timeout)
        result = read_json(result_path)
        report.run = driver_record(child, result)
        report.files["pyspy_log"] = log.name
        if result is not None:
            report.files["pyspy_driver"] = result_path.name
        text = log.read_text(encoding="utf-8", errors="replace")
        stacks = parse_folded(folded.read_text(encoding="utf-8")) if folded.exists() else []
        denied = None if stacks else permission_problem(text)
        report.errors += _errors(child.returncode, result, log, denied, bool(stacks), timeout)
        if report.errors:
            step.fail(report.errors[0])
    if denied:
        report.data["denied"] = denied
    if folded.exists():
        report.files["pyspy_folded"] = folded.name
    if stacks:
        own = workload_stacks(stacks)
        ranked = top_frames(own, top)
        _summarise(report, stacks, ranked, text)
        with progress.step("py-spy: CPU flame graph"):
            page = folder / "pyspy-flamegraph.html"
            _write_page(page, report, workload, settings, own, ranked["self"])
            report.files["pyspy_flamegraph"] = page.name
    return report


def _errors(
    returncode: int | None,
    result: dict[str, Any] | None,
    log: Path,
    denied: str | None,
    sampled: bool,
    timeout: float,
) -> list[str]:
    """The capture's error, if any: the timeout, ``denied`` (py-spy could not read the
    process), the workload's or py-spy's failure, or no sample at all."""
    if returncode is None:
        return [f"py-spy: killed after the {timeout:g} s timeout"]
    problem = denied or _run_problem(returncode, result, log, sampled)
    if problem:
        return [problem]
    return (
        [] if sampled else ["py-spy took no sample: the workload ran too briefly; raise --duration"]
    )


def _run_problem(
    returncode: int, result: dict[str, Any] | None, log: Path, sampled: bool
) -> str | None:
    """What went wrong with the profiled process (the workload raised, it never ran, py-spy
    failed), or None."""
    if result is not None and result.get("error"):
        kept = "; the partial stacks are kept" if sampled else ""
        return f"py-spy: the workload raised {result['error']}{kept}"
    if result is None:
        return f"py-spy: the workload did not run (exit {returncode}): {tail(log, _LOG_LINES)}"
    if returncode != 0:
        return f"py-spy: exit code {returncode}: {tail(log, _LOG_LINES)}"
    return None


def _summarise(
    report: ToolReport,
    stacks: list[tuple[Any, int]],
    ranked: dict[str, list[dict[str, Any]]],
    log_text: str,
) -> None:
    """The figures summary.json keeps beside the settings ``capture`` put in ``report.data``."""
    counts = _COUNTS.findall(log_text)
    report.data.update(
        {
            "top_frames_self": ranked["self"],
            "top_frames_total": ranked["total"],
            "samples": sum(count for _, count in stacks),
            "sampling_errors": int(counts[-1][1]) if counts else None,
        }
    )


def _write_page(
    path: Path,
    report: ToolReport,
    workload: Workload,
    settings: PySpySettings,
    own: list[tuple[Any, int]],
    top_self: list[dict[str, Any]],
) -> None:
    samples = report.data["samples"]
    idle = "idle threads included" if settings.idle else "idle threads excluded"
    native = ", native frames" if settings.native else ""
    meta = [
        f"workload {workload.func}"
        + (f" (benchmark {workload.benchmark})" if workload.benchmark else ""),
        f"{samples:,} samples at {settings.rate} Hz by py-spy {report.version}{native}; {idle}",
        "frame width: samples on the frame or below; click a frame to zoom, hover for counts",
    ]
    rows = [{**row, "where": f"{normalize_file(row['file'])}:{row['line']}"} for row in top_self]
    tree = build_tree(own).as_json()
    write_page(path, cpu_page(f"CPU flame graph: {workload.target}", meta, tree, rows))


def summary_fields(report: ToolReport | None) -> dict[str, Any]:
    """What py-spy adds to summary.json (version 2): the top frames (empty lists when py-spy
    did not run, like ``top_cpu`` without scalene) and, when it ran, its settings."""
    if report is None:
        return {"top_frames_self": [], "top_frames_total": []}
    data = report.data
    return {
        "top_frames_self": data.get("top_frames_self", []),
        "top_frames_total": data.get("top_frames_total", []),
        "pyspy": {
            key: data.get(key) for key in ("rate", "native", "idle", "samples", "sampling_errors")
        },
    }
