"""What gets profiled: :class:`Workload`, resolved from a target name or ``MODULE:FUNCTION``.

- A name without a colon is a *target*: the registry maps it to one benchmark (its default, or
  ``--benchmark ID``), whose ``func`` and ``call_kwargs`` become the workload.
- ``MODULE:FUNCTION`` names a plain function. ``MODULE`` is a dotted module name found on the
  child's ``sys.path`` (the suites folder, then the current directory), or a path to a ``.py``
  file (``bench/x.py:work``), whose folder is then put first on ``sys.path``.

The function is called in a child process by ``_driver.py``: ``time`` workloads as
``f(loops, **kwargs)``, ``call`` workloads as ``f(**kwargs)``; ``auto`` (plain functions) lets the
driver decide from the signature.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from perfkit_profile._child import driver_path, read_json, run_child, tail, write_spec
from perfkit_profile._exceptions import WorkloadError
from perfkit_profile._registry import RegistryEntry, default_entry, find_entry

__all__ = ["Workload", "check_workload", "from_entry", "from_function", "is_function_spec"]

_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

# Importing a suite is quick; one that builds a large fixture at import time still fits.
_CHECK_TIMEOUT = 120.0

# Registry kinds: time benchmarks take ``loops``; bytes, count and latency ones take nothing.
_DRIVER_KIND = {"time": "time", "bytes": "call", "count": "call", "latency": "call"}


@dataclass(frozen=True)
class Workload:
    """One function to run in a profiled child process."""

    func: str
    target: str
    kind: str = "auto"
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    paths: tuple[str, ...] = ()
    benchmark: str | None = None

    @property
    def label(self) -> str:
        """The target as a file-name part (``module:function`` becomes ``module.function``)."""
        return _UNSAFE.sub("-", self.target.replace(":", ".")).strip("-.") or "workload"

    def spec(self) -> dict[str, Any]:
        """The driver's view of the workload (see ``_driver.py``)."""
        return {
            "workload": self.func,
            "paths": list(self.paths),
            "kwargs": dict(self.kwargs),
            "kind": self.kind,
        }


def is_function_spec(text: str) -> bool:
    return ":" in text


def from_entry(
    entries: Sequence[RegistryEntry],
    target: str,
    *,
    suites: Path,
    benchmark: str | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> Workload:
    """The workload of ``target`` (its default benchmark, or ``benchmark``)."""
    entry = find_entry(entries, target, benchmark) if benchmark else default_entry(entries, target)
    if not suites.is_dir():
        raise WorkloadError(
            f"the suites folder {suites} does not exist; pass --suites DIR (the folder the "
            "registry was listed from)"
        )
    return Workload(
        func=entry.func,
        target=target,
        kind=_DRIVER_KIND.get(entry.kind, "auto"),
        kwargs={**entry.call_kwargs, **(kwargs or {})},
        paths=(str(suites.resolve()), str(Path.cwd())),
        benchmark=entry.id,
    )


def from_function(
    text: str, *, suites: Path | None, kwargs: Mapping[str, Any] | None = None
) -> Workload:
    """A workload from ``MODULE:FUNCTION`` or ``path/to/file.py:FUNCTION``."""
    module, _, function = text.rpartition(":")
    if not _DOTTED.fullmatch(function):
        raise WorkloadError(
            f"{text!r}: expected MODULE:FUNCTION, e.g. message_throughput:tell_sync or x.py:work"
        )
    paths: list[str] = []
    if module.endswith(".py") or "/" in module or "\\" in module:
        path = Path(module)
        if not path.is_file():
            raise WorkloadError(f"{text!r}: the file {module} does not exist")
        paths.append(str(path.resolve().parent))
        module = path.stem
    if not _DOTTED.fullmatch(module):
        raise WorkloadError(
            f"{text!r}: {module!r} is not a module name; expected MODULE:FUNCTION or FILE.py:FUNCTION"
        )
    if suites is not None and suites.is_dir():
        paths.append(str(suites.resolve()))
    paths.append(str(Path.cwd()))
    return Workload(
        func=f"{module}:{function}",
        target=f"{module}:{function}",
        kind="auto",
        kwargs=dict(kwargs or {}),
        paths=tuple(dict.fromkeys(paths)),
    )


def check_workload(workload: Workload, scratch: Path) -> Workload:
    """Import the workload in a child process (no profiler) and return it with its kind
    resolved; raises :class:`WorkloadError` when it cannot be imported or is not callable."""
    result_path = scratch / "check-result.json"
    spec = write_spec(scratch / "check-spec.json", {**workload.spec(), "result": str(result_path)})
    child = run_child(
        [sys.executable, str(driver_path()), "check", str(spec)],
        log=scratch / "check.log",
        timeout=_CHECK_TIMEOUT,
    )
    result = read_json(result_path) or {}
    if child.ok and result.get("kind") in ("time", "call"):
        return replace(workload, kind=result["kind"])
    error = result.get("error") or tail(child.log) or f"exit code {child.returncode}"
    where = ", ".join(workload.paths) or "(no folders)"
    raise WorkloadError(
        f"cannot load the workload {workload.func}: {error}; searched {where} first on sys.path "
        "(pass --suites DIR, or run from the folder holding the module)"
    )
