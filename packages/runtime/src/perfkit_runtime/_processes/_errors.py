"""The error of processes mode's worker processes."""

from __future__ import annotations

from perfkit_runtime._exceptions import PerfkitRuntimeError

__all__ = ["WorkerError"]


class WorkerError(PerfkitRuntimeError):
    """A worker process could not start, or did not answer."""
