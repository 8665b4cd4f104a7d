"""perfkit-bench: declare benchmark suites, run them in pyperf worker processes, write one pyperf
JSON file per run. See the package README for the CLI and the metadata keys it writes."""

from __future__ import annotations

import typing

from perfkit_bench._clock import CLOCKS, Clock, timer
from perfkit_bench._discovery import discover
from perfkit_bench._exceptions import (
    DeclarationError,
    DiscoveryError,
    OutputExistsError,
    PerfkitBenchError,
    RunFailed,
    SelectionError,
    UsageError,
    WorkerError,
)
from perfkit_bench._registry import benchmark
from perfkit_bench._spec import KINDS, BenchmarkSpec, Kind

__all__ = [
    "CLOCKS",
    "KINDS",
    "BenchmarkSpec",
    "Clock",
    "DeclarationError",
    "DiscoveryError",
    "Kind",
    "OutputExistsError",
    "PerfkitBenchError",
    "RunFailed",
    "SelectionError",
    "UsageError",
    "WorkerError",
    "__version__",
    "benchmark",
    "discover",
    "timer",
]

# __version__ is looked up on first use, not at import: importlib.metadata costs ~160 M
# instructions to import (1.5 s per process under valgrind, where the instructions channel counts
# every suite, which imports this package, twice per repeat), and few importers need the version.
if typing.TYPE_CHECKING:
    __version__: str
else:

    def __getattr__(name: str) -> str:
        if name != "__version__":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib.metadata

        try:
            version = importlib.metadata.version("perfkit-bench")
        except importlib.metadata.PackageNotFoundError:  # a source tree without install
            version = "0+unknown"
        globals()["__version__"] = version
        return version
