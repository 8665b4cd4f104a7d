"""Running the tools the gate composes (perfkit-bench, perfkit-report, perfkit-profile, git,
the installers) as processes, and the gate's log lines.

The tools answer with their exit codes: 0, 1 and 2 are answers (pass, regression or failures,
bad input); anything else is a crash of the tool, and the gate then claims no verdict.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from perfkit_bench._exceptions import GateError

__all__ = ["Clock", "log", "run_tool"]

PREFIX = "perfkit-bench regression"


def log(message: str) -> None:
    """One line of the gate's progress, on stderr (stdout is left to the tools)."""
    print(f"{PREFIX}: {message}", file=sys.stderr, flush=True)


def run_tool(
    name: str,
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    started: list[subprocess.Popen[bytes]] | None = None,
) -> int:
    """Run ``command`` (``name`` says which tool in an error) and return its exit code; a code
    other than 0, 1 or 2 raises :class:`GateError`. ``started`` receives the process, so that
    another thread can stop it."""
    argv = [str(arg) for arg in command]
    log(f"$ {shlex.join(argv)}")
    # PYTHONPATH would put one side's code in front of the other side's environment.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    try:
        process = subprocess.Popen(argv, env=env, cwd=cwd)
    except OSError as exc:
        raise GateError(f"{name} cannot be started ({exc})") from None
    if started is not None:
        started.append(process)
    try:
        code = process.wait()
    finally:
        if process.poll() is None:  # interrupted while waiting: the tool goes too
            process.terminate()
            process.wait()
    if code not in (0, 1, 2):
        raise GateError(f"{name} crashed (exit {code}); see above")
    return code


class Clock:
    """The check's time budget, counted from the gate's start."""

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        return self.budget - self.elapsed()
