"""``perfkit-bench run``: every selected benchmark in its own pyperf worker processes, one result
file for the run (``_orchestrator``), and the command's options (``_command``)."""

from __future__ import annotations

from perfkit_bench._run._command import add_run_command, report_failure
from perfkit_bench._run._orchestrator import RESULTS_DIR, Mode, RunOptions, default_output, run

__all__ = [
    "RESULTS_DIR",
    "Mode",
    "RunOptions",
    "add_run_command",
    "default_output",
    "report_failure",
    "run",
]
