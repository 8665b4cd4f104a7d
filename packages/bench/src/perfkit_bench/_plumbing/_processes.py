"""Worker processes: how every measuring command starts, bounds, logs and kills them.

A worker leads a new session, so killing its process group also kills every process it spawned
(pyperf's workers, valgrind's child); the group is killed whatever happens, so no worker outlives
its benchmark. stdout and stderr go to files: a pipe nobody reads could block a chatty worker.
Workers get the stripped environment pyperf gives its own workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from perfkit_bench._spec import BenchmarkSpec

__all__ = [
    "DEFAULT_TIMEOUT",
    "KEPT_ENVIRON",
    "Failure",
    "failed",
    "kill_group",
    "last_line",
    "pythonpath",
    "run_process",
    "start_process",
    "stripped_environ",
    "timed_out",
]

# Ten minutes: the slowest real scenario (a load test at --rigorous) takes a few minutes on the
# 2-core CI machine; anything past that is a hang, not a measurement.
DEFAULT_TIMEOUT = 600.0

# The variables pyperf's create_environ() keeps for its workers (pyperf/_utils.py), so sampled
# workers see the same stripped environment as time workers.
KEPT_ENVIRON = (
    "PATH",
    "HOME",
    "TEMP",
    "COMSPEC",
    "SystemRoot",
    "SystemDrive",
    "PYTHONPATH",
    "PYTHON_CPU_COUNT",
    "PYTHON_GIL",
    "LANG",
    "LC_ADDRESS",
    "LC_ALL",
    "LC_COLLATE",
    "LC_CTYPE",
    "LC_IDENTIFICATION",
    "LC_MEASUREMENT",
    "LC_MESSAGES",
    "LC_MONETARY",
    "LC_NAME",
    "LC_NUMERIC",
    "LC_PAPER",
    "LC_TELEPHONE",
    "LC_TIME",
)


@dataclass(frozen=True)
class Failure:
    """A benchmark that did not produce values: ``kind`` is ``error`` or ``timeout``."""

    id: str
    kind: Literal["error", "timeout"]
    error: str

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "kind": self.kind, "error": self.error}


def start_process(
    cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` leading a new session, its output in ``<log>.out`` and ``<log>.err``."""
    with open(f"{log}.out", "wb") as stdout, open(f"{log}.err", "wb") as stderr:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def run_process(cmd: list[str], env: dict[str, str], log: Path, deadline: float) -> int | None:
    """Run ``cmd`` until it exits (its exit code) or the deadline passes (``None``); its
    process group is killed either way."""
    proc = start_process(cmd, env, log)
    try:
        return proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:
        return None
    finally:
        kill_group(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def pythonpath(suite_path: Path, current: str | None = None) -> str:
    """``current`` (default: this process's PYTHONPATH) with the suite's folder first, so suites
    can import helper modules next to them."""
    if current is None:
        current = os.environ.get("PYTHONPATH", "")
    parts = [str(suite_path.resolve().parent), *filter(None, current.split(os.pathsep))]
    return os.pathsep.join(dict.fromkeys(parts))


def stripped_environ(inherit: tuple[str, ...] = (), *, copy_env: bool = False) -> dict[str, str]:
    """What pyperf keeps of the environment for its workers, plus ``inherit`` (or everything
    with ``copy_env``)."""
    if copy_env:
        return dict(os.environ)
    names = (*KEPT_ENVIRON, *inherit)
    return {name: os.environ[name] for name in names if name in os.environ}


def timed_out(spec: BenchmarkSpec, timeout: float) -> Failure:
    return Failure(
        spec.id, "timeout", f"no result after {timeout:g} s; killed its worker processes"
    )


def failed(spec: BenchmarkSpec, code: int | None, error_file: Path, log: Path) -> Failure:
    """Why a worker produced nothing: the error it recorded, else the last line it wrote."""
    text = ""
    if error_file.exists():
        text = error_file.read_text(encoding="utf-8", errors="replace").strip()
    if not text:
        # No error recorded (pyperf exited on its own, or the interpreter crashed): the last
        # line it wrote is the best summary available.
        text = last_line(Path(f"{log}.err")) or last_line(Path(f"{log}.out"))
    text = text or "worker wrote no result"
    return Failure(spec.id, "error", f"{text} (exit code {code})")


def last_line(path: Path) -> str:
    """The last non-blank line of ``path``, whitespace folded ("" when unreadable)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip():
            return " ".join(line.split())
    return ""
