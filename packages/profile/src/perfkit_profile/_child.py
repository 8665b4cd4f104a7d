"""Child processes: the driver under a profiler, and the profilers' report commands.

Every child runs in its own process group (``start_new_session``) so that a timeout, Ctrl-C or
SIGTERM kills the whole tree (scalene re-executes itself; a workload may start threads or
processes), never a process perfkit-profile did not start. Output goes to a log file, not to the
terminal, so the progress display stays readable and the log is kept next to the profile.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ChildResult",
    "append_log",
    "driver_path",
    "driver_record",
    "read_json",
    "run_child",
    "tail",
    "write_spec",
]


@dataclass(frozen=True)
class ChildResult:
    """How a child process ended. ``returncode`` is None when it was killed at the timeout."""

    command: list[str]
    returncode: int | None
    wall_s: float
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def driver_path() -> Path:
    """The driver script the profilers run (a file, so ``scalene run`` can take it)."""
    return Path(__file__).with_name("_driver.py")


def write_spec(path: Path, spec: Mapping[str, Any]) -> Path:
    path.write_text(json.dumps(dict(spec), indent=2), encoding="utf-8")
    return path


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object written by a child (the driver's result, a report), or None when the
    child never wrote it (killed, not started) or wrote something else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_child(
    command: Sequence[str],
    *,
    log: Path,
    timeout: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> ChildResult:
    """Run ``command`` with stdout and stderr to ``log``; kill its process group on timeout
    or on any exception (KeyboardInterrupt, SystemExit from SIGTERM) and re-raise."""
    started = time.perf_counter()
    with log.open("a" if append else "w", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
        try:
            returncode: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            returncode = None
        except BaseException:
            _kill_group(process)
            raise
    return ChildResult(list(command), returncode, time.perf_counter() - started, log)


def _kill_group(process: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def tail(log: Path, lines: int = 1) -> str:
    """The last non-empty lines of a log, joined by `` | `` (one line for error messages)."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


def append_log(log: Path, part: Path) -> None:
    """Append the log of one step to the tool's log kept in the capture folder."""
    try:
        text = part.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    with log.open("a", encoding="utf-8") as out:
        out.write(text)


def driver_record(child: ChildResult, result: dict[str, Any] | None) -> dict[str, Any]:
    """What summary.json keeps of one profiled process: its command and exit code (None: killed
    at the timeout), and from the driver's result the workload kind, the calibrated loops, the
    calls made, the operations run (loops summed over calls, calibration included), the
    seconds spent inside measured calls and the process's CPU seconds at the end."""
    record: dict[str, Any] = {
        "command": child.command,
        "exit_code": child.returncode,
        "wall_s": round(child.wall_s, 3),
    }
    if result is not None:
        for key in ("kind", "loops", "operations", "workload_s", "cpu_s", "error"):
            record[key] = result.get(key)
        record["calls"] = len(result.get("calls") or [])
    return record
