"""Every error perfkit-bench raises, under one root.

::

    PerfkitBenchError
    ├── DeclarationError   a @benchmark declaration is invalid (id, kind, params, grid)   exit 2
    ├── DiscoveryError     a suite path is missing, a suite file fails to import,
    │                      or two benchmarks share an id                                 exit 2
    ├── SelectionError     --suite / --target / -k matched no benchmark                  exit 2
    ├── OutputExistsError  the result file exists and --force was not given              exit 2
    ├── UsageError         an option value is invalid (e.g. --affinity)                 exit 2
    ├── MissingToolError   a tool a command needs is not installed (valgrind)           exit 2
    ├── SideError          ab: a side's interpreter cannot list its benchmarks, or the
    │                      base side failed every benchmark it ran (no verdict possible)  exit 2
    ├── GateError          regression: the gate cannot give a verdict (dirty tree, unknown
    │                      ref, a base that does not build, a tool that crashed)          exit 2
    ├── WorkerError        a worker process was given a benchmark it cannot run          exit 1
    └── RunFailed          every selected benchmark failed: nothing to write             exit 1

A benchmark that raises or hangs is not an exception of the run: it is recorded in the result
file's ``perfkit_failed`` metadata and the run goes on. Only ``perfkit_bench._cli.main`` turns
these errors into exit codes; messages are one line that names the fix.
"""

from __future__ import annotations

__all__ = [
    "DeclarationError",
    "DiscoveryError",
    "GateError",
    "MissingToolError",
    "OutputExistsError",
    "PerfkitBenchError",
    "RunFailed",
    "SelectionError",
    "SideError",
    "UsageError",
    "WorkerError",
    "one_line",
]


class PerfkitBenchError(Exception):
    """Root of every error raised by perfkit-bench."""


class DeclarationError(PerfkitBenchError, ValueError):
    """A ``@benchmark`` declaration is invalid."""


class DiscoveryError(PerfkitBenchError):
    """Suites could not be found or imported, or their ids collide."""


class SelectionError(PerfkitBenchError):
    """The filters matched no benchmark."""


class OutputExistsError(PerfkitBenchError, FileExistsError):
    """The result file already exists and overwriting was not allowed."""


class UsageError(PerfkitBenchError, ValueError):
    """A command-line option has a value that cannot work."""


class SideError(PerfkitBenchError):
    """``perfkit-bench ab``: one side (interpreter + suites) cannot be measured at all."""


class GateError(PerfkitBenchError):
    """``perfkit-bench regression``: no verdict can be given (exit 2, nothing claimed)."""


class MissingToolError(PerfkitBenchError):
    """An external program the command needs (valgrind for ``instructions``) is not installed."""


class WorkerError(PerfkitBenchError):
    """A worker process cannot run the benchmark it was given."""


class RunFailed(PerfkitBenchError):
    """Every selected benchmark failed, so there is no result to write."""

    def __init__(self, message: str, failures: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.failures = failures


def one_line(exc: BaseException) -> str:
    """``"Type: message"`` on one line: the last line of a traceback, fit for metadata and logs
    (pyperf metadata values may not contain newlines)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
