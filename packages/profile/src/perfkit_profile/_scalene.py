"""scalene: CPU (Python, native, system), memory and copy volume per line, and its offline HTML.

The driver runs as ``python -m scalene run --profile-all --profile-exclude /threading.py,DRIVER
-o scalene.json DRIVER --- profile SPEC``:

- ``--profile-all``: by default scalene profiles only files next to the program it runs, which
  here is the driver; the workload's suite and the libraries it exercises (an installed
  perfkit-runtime lives in site-packages) would be invisible.
- ``--profile-exclude /threading.py``: with ``--profile-all``, the samples of scalene's own
  helper thread land in ``threading.Thread.run`` (75 % of all CPU on the routing target here),
  which deflates every real share. Excluding the file drops that thread; threads of the workload
  are still attributed to their innermost profiled frame (a worker's handler, a ``wait_idle``).
  The driver itself (calibration, writing its record) is harness, not workload: excluded too.
  Exclusions are substrings of file paths, hence the leading separator and the full driver path.

``scalene view --standalone`` writes ``scalene-profile.html`` into its working directory, with
every script inlined; it is renamed ``scalene.html`` and sealed offline (see ``_offline``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from perfkit_profile._child import (
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

__all__ = ["capture", "parse_profile", "scalene_options"]

# scalene escapes these in source text and function names so its page can embed the JSON.
_ESCAPES = {"\\u003c": "<", "\\u003e": ">", "\\u0026": "&"}


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
    """Run the workload under scalene into ``folder``; never raises for a tool failure."""
    report = ToolReport("scalene", version)
    profile = folder / "scalene.json"
    result_path = folder / "scalene-driver.json"
    log = folder / "scalene.log"
    spec = write_spec(
        scratch / "scalene-spec.json",
        {**workload.spec(), **budget.spec(), "result": str(result_path)},
    )
    command = [
        sys.executable, "-m", "scalene", "run", *scalene_options(),
        "-o", str(profile),
        str(driver_path()), "---", "profile", str(spec),
    ]  # fmt: skip
    with progress.step("scalene: profiling the workload (CPU, memory, copies)") as step:
        child = run_child(command, log=log, timeout=timeout)
        result = read_json(result_path)
        report.run = driver_record(child, result)
        report.files["scalene_log"] = log.name
        if result_path.exists():
            report.files["scalene_driver"] = result_path.name
        data = _load(profile)
        report.errors += _errors(child.returncode, result, data, profile, log, timeout)
        if report.errors:
            step.fail(report.errors[0])
    if profile.exists():
        report.files["scalene_json"] = profile.name
    if data is None:
        return report
    report.data = parse_profile(data, top)
    _standalone_html(report, folder, scratch, log, timeout, progress)
    return report


def _errors(
    code: int | None,
    result: dict[str, Any] | None,
    data: Any,
    profile: Path,
    log: Path,
    timeout: float,
) -> list[str]:
    """What went wrong with the profiling run (none: it worked)."""
    errors = []
    if code is None:
        errors.append(f"scalene: killed after the {timeout:g} s timeout")
    elif result is not None and result.get("error"):
        kept = "; the partial profile is kept" if data is not None else ""
        errors.append(f"scalene: the workload raised {result['error']}{kept}")
    elif result is None:
        errors.append(f"scalene: the workload did not run (exit {code}): {tail(log)}")
    elif code != 0:
        errors.append(f"scalene: exit code {code}: {tail(log)}")
    if data is None:
        if result is not None and result.get("error"):
            why = "the workload failed before scalene took a sample"
        elif profile.exists():
            why = "the workload ran too briefly to be sampled: raise --duration"
        else:
            why = tail(log)
        errors.append(f"scalene wrote no profile: {why}")
    return errors


def _standalone_html(
    report: ToolReport, folder: Path, scratch: Path, log: Path, timeout: float, progress: Progress
) -> None:
    """scalene's self-contained HTML page of the profile, into ``folder/scalene.html``."""
    profile = folder / "scalene.json"
    with progress.step("scalene: offline HTML (view --standalone)") as step:
        html_log = scratch / "scalene-view.log"
        child = run_child(
            [sys.executable, "-m", "scalene", "view", "--standalone", str(profile)],
            log=html_log,
            timeout=timeout,
            cwd=scratch,
        )
        produced = scratch / "scalene-profile.html"
        append_log(log, html_log)
        if child.ok and produced.exists():
            html = folder / "scalene.html"
            shutil.move(produced, html)
            seal_file(html)
            report.files["scalene_html"] = html.name
        else:
            error = f"scalene view --standalone failed (exit {child.returncode}): {tail(html_log)}"
            report.errors.append(error)
            step.fail(error)


def scalene_options() -> list[str]:
    """What to profile: everything but scalene's helper thread and the driver (module docstring)."""
    excluded = [f"{os.sep}threading.py"]
    if "," not in str(driver_path()):  # the option is a comma-separated list
        excluded.append(str(driver_path()))
    return ["--profile-all", "--profile-exclude", ",".join(excluded)]


def _load(path: Path) -> dict[str, Any] | None:
    """scalene's JSON, or None when missing or empty (a too-short run writes ``{}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not data.get("files"):
        return None
    return data


def _text(value: object) -> str:
    text = str(value)
    for escaped, raw in _ESCAPES.items():
        text = text.replace(escaped, raw)
    return text


def _cpu(entry: dict[str, Any]) -> tuple[float, float, float]:
    return (
        float(entry.get("n_cpu_percent_python") or 0.0),
        float(entry.get("n_cpu_percent_c") or 0.0),
        float(entry.get("n_sys_percent") or 0.0),
    )


def parse_profile(data: dict[str, Any], top: int) -> dict[str, Any]:
    """``top_cpu`` (functions) and ``top_lines`` from a scalene JSON profile.

    ``cpu_percent`` is the share of all CPU samples: Python + native + system time, as scalene's
    own page adds them up. Memory (MB allocated) and copy volume (MB/s) ride along per entry.
    """
    functions: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for filename, info in (data.get("files") or {}).items():
        for entry in info.get("functions") or []:
            python, native, system = _cpu(entry)
            functions.append(
                {
                    "function": _text(entry.get("line", "")),
                    "file": filename,
                    "line": int(entry.get("lineno") or 0),
                    "cpu_percent": round(python + native + system, 3),
                    "python_percent": round(python, 3),
                    "native_percent": round(native, 3),
                    "system_percent": round(system, 3),
                    "malloc_mb": round(float(entry.get("n_malloc_mb") or 0.0), 3),
                    "copy_mb_s": round(float(entry.get("n_copy_mb_s") or 0.0), 3),
                }
            )
        for entry in info.get("lines") or []:
            python, native, system = _cpu(entry)
            malloc = float(entry.get("n_malloc_mb") or 0.0)
            if python + native + system <= 0 and malloc <= 0:
                continue
            lines.append(
                {
                    "file": filename,
                    "line": int(entry.get("lineno") or 0),
                    "cpu_percent": round(python + native + system, 3),
                    "code": _text(entry.get("line", "")).strip(),
                    "malloc_mb": round(malloc, 3),
                    "peak_mb": round(float(entry.get("n_peak_mb") or 0.0), 3),
                    "copy_mb_s": round(float(entry.get("n_copy_mb_s") or 0.0), 3),
                }
            )
    functions.sort(key=lambda item: (-item["cpu_percent"], item["file"], item["line"]))
    lines.sort(key=lambda item: (-item["cpu_percent"], -item["malloc_mb"], item["file"]))
    footprint = data.get("max_footprint_mb")
    return {
        "top_cpu": [f for f in functions if f["cpu_percent"] > 0][:top],
        "top_lines": lines[:top],
        "elapsed_s": data.get("elapsed_time_sec"),
        "max_footprint_bytes": int(float(footprint) * 1024 * 1024) if footprint else None,
    }
