"""Every error perfkit-profile raises, under one root.

::

    PerfkitProfileError
    ├── InputError              bad usage or bad input; nothing was run                     exit 2
    │   ├── UsageError          an option value cannot work (budget, --kwargs JSON, ...)
    │   ├── RegistryError       no benchmark registry, or one that is not `perfkit-bench list --json`
    │   ├── UnknownTargetError  the target (or --benchmark id) is not in the registry;
    │   │                       the message lists the valid ones
    │   ├── WorkloadError       MODULE:FUNCTION is malformed, or a suite folder does not exist
    │   ├── ProfilerUnavailable scalene or memray is not installed or cannot run here;
    │   │                       the message names the extra to install, or the reason
    │   └── SummaryError        a summary.json is missing, unreadable or of an unknown version
    └── RunError                the command ran and found a failure                         exit 1
        ├── CaptureFailed       a profile was captured with errors (the workload crashed, a tool
        │                       failed); the folder, partial outputs and summary.json are kept
        ├── WorkloadFailed      the workload process failed (leaks, overhead)
        └── LeakFound           retained bytes per iteration above the threshold

Only ``perfkit_profile._cli.main`` turns these into exit codes (130 for Ctrl-C); messages are
one line that names the fix.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CaptureFailed",
    "InputError",
    "LeakFound",
    "PerfkitProfileError",
    "ProfilerUnavailable",
    "RegistryError",
    "RunError",
    "SummaryError",
    "UnknownTargetError",
    "UsageError",
    "WorkloadError",
    "WorkloadFailed",
]


class PerfkitProfileError(Exception):
    """Root of every error raised by perfkit-profile."""


class InputError(PerfkitProfileError):
    """Bad usage or bad input: the command could not start."""


class UsageError(InputError, ValueError):
    """A command-line option has a value that cannot work."""


class RegistryError(InputError):
    """The benchmark registry is missing or malformed."""


class UnknownTargetError(InputError, LookupError):
    """The target or benchmark id is not in the registry."""


class WorkloadError(InputError):
    """The workload cannot be located (malformed MODULE:FUNCTION, missing suite folder)."""


class ProfilerUnavailable(InputError):
    """A requested profiler is not installed or cannot run on this machine."""


class SummaryError(InputError):
    """A summary.json cannot be read."""


class RunError(PerfkitProfileError):
    """The command ran and found a failure."""


class CaptureFailed(RunError):
    """A capture finished with errors; what the tools produced is kept in ``folder``."""

    def __init__(self, message: str, folder: Path, errors: list[str]) -> None:
        super().__init__(message)
        self.folder = folder
        self.errors = errors


class WorkloadFailed(RunError):
    """The workload's process failed."""


class LeakFound(RunError):
    """The workload retained more bytes per iteration than allowed."""
