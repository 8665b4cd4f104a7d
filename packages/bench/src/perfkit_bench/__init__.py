"""perfkit-bench: declare benchmark suites, run them in pyperf worker processes, write one pyperf
JSON file per run. See the package README for the CLI and the metadata keys it writes."""

from __future__ import annotations

import importlib.metadata

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
    "KINDS",
    "BenchmarkSpec",
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
]

try:
    __version__ = importlib.metadata.version("perfkit-bench")
except importlib.metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
