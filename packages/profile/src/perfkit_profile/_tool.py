"""The profilers as tools: whether one can run here, its version, the budget, what it produced.

scalene, memray and py-spy are optional (the ``scalene``, ``memray``, ``py-spy`` and ``all``
extras), so :func:`require` is the one place that says which extra to install, or why a tool
cannot run on this machine. scalene and memray run as ``python -m scalene`` / ``python -m
memray`` with this interpreter, py-spy as the program its wheel installs beside it, so they
profile the same environment perfkit-profile was installed into.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from perfkit_profile._exceptions import ProfilerUnavailable

__all__ = ["PROFILERS", "Budget", "ToolReport", "installed_version", "require"]

PROFILERS = ("scalene", "memray", "py-spy")

# The oldest versions whose command lines this package speaks: scalene 2.4 introduced
# `scalene run` / `scalene view --standalone`; memray 1.20 is the first checked with
# `flamegraph --no-web` (the offline flame graph) and `stats --json`; py-spy 0.4 is the first
# that reads CPython 3.12 and the one checked here (`record --format raw --function`).
_MINIMUM = {"scalene": (2, 4), "memray": (1, 20), "py-spy": (0, 4)}
# memray records allocations through LD_PRELOAD-style interposition available on these only.
_MEMRAY_PLATFORMS = ("linux", "darwin")


@dataclass(frozen=True)
class Budget:
    """How long the workload runs: ``duration`` seconds in all, or ``iterations`` calls.

    ``min_call_s`` is the calibration goal for one call of a ``time`` workload (pyperf's idea:
    pick ``loops`` so a call lasts long enough to dwarf the call overhead; 0.1 s also gives a
    sampling profiler ten 10 ms samples per call). ``loops`` skips calibration.
    """

    duration: float | None = 5.0
    iterations: int | None = None
    min_call_s: float = 0.1
    loops: int | None = None

    def spec(self) -> dict[str, Any]:
        return {
            "duration": None if self.iterations is not None else self.duration,
            "iterations": self.iterations,
            "min_call_s": self.min_call_s,
            "loops": self.loops,
        }


@dataclass
class ToolReport:
    """What one profiler produced for a capture.

    ``files`` maps summary keys to paths relative to the capture folder; ``run`` describes the
    profiled process (command, exit code, the driver's loops/calls/operations); ``data`` holds
    the parsed figures that go into summary.json.
    """

    name: str
    version: str
    files: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


# A seam for tests: an environment without a profiler is simulated by replacing this.
_metadata_version: Callable[[str], str] = importlib.metadata.version


def installed_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return _metadata_version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def require(name: str) -> str:
    """The version of profiler ``name``; raises :class:`ProfilerUnavailable` naming the fix."""
    extra = f"pip install 'perfkit-profile[{name}]'"
    version = installed_version(name)
    if version is None:
        raise ProfilerUnavailable(
            f"{name} is not installed in this environment ({sys.executable}): {extra}"
            + (" or pass --profiler scalene" if name != "scalene" else " or pass --profiler memray")
        )
    if name == "memray" and not sys.platform.startswith(_MEMRAY_PLATFORMS):
        raise ProfilerUnavailable(
            f"memray runs on Linux and macOS only, not {sys.platform}: pass --profiler scalene"
        )
    if _parse(version) < _MINIMUM[name]:
        minimum = ".".join(map(str, _MINIMUM[name]))
        raise ProfilerUnavailable(
            f"{name} {version} is too old (perfkit-profile needs {name} >= {minimum}): {extra}"
        )
    return version


def _parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:2])
