"""perfkit-profile: profile one benchmark workload under scalene and memray into a capture folder
with offline HTML and a versioned summary.json; leak checks; diffs of two captures.

The command line (``perfkit-profile``) is the main interface; see docs/profiling.md. It imports
no other perfkit package: the benchmark registry arrives as JSON.
"""

from __future__ import annotations

import importlib.metadata

from perfkit_profile._diff import ProfileDiff, diff_summaries
from perfkit_profile._exceptions import (
    CaptureFailed,
    InputError,
    LeakFound,
    PerfkitProfileError,
    ProfilerUnavailable,
    RegistryError,
    RunError,
    SummaryError,
    UnknownTargetError,
    UsageError,
    WorkloadError,
    WorkloadFailed,
)
from perfkit_profile._summary import SUMMARY_VERSION, load_summary

__all__ = [
    "SUMMARY_VERSION",
    "CaptureFailed",
    "InputError",
    "LeakFound",
    "PerfkitProfileError",
    "ProfileDiff",
    "ProfilerUnavailable",
    "RegistryError",
    "RunError",
    "SummaryError",
    "UnknownTargetError",
    "UsageError",
    "WorkloadError",
    "WorkloadFailed",
    "__version__",
    "diff_summaries",
    "load_summary",
]

try:
    __version__ = importlib.metadata.version("perfkit-profile")
except importlib.metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"
