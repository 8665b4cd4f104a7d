"""The benchmark registry, read as data: which workload functions belong to which target.

perfkit-profile does not import perfkit-bench (packages talk through files). The registry is the
JSON that ``perfkit-bench list --json`` prints: a list of objects with at least ``id``, ``target``,
``kind`` and ``func`` (``"module:function"``), and optionally ``call_kwargs`` and ``reference``.
It comes from ``--registry FILE``, or, when perfkit-bench is installed in the same environment,
from running ``python -m perfkit_bench list --json SUITES`` as a child process.

A target's default workload is its first ``time`` benchmark, in registry order (suite file, then
declaration order), that is not the reference of another benchmark: references are the bare
baselines (asyncio.Queue, raw sqlite3, pykka) that the runtime is compared with, not the code to
profile. ``--benchmark ID`` picks another.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perfkit_profile._exceptions import RegistryError, UnknownTargetError

__all__ = [
    "RegistryEntry",
    "default_entry",
    "find_entry",
    "load_registry",
    "parse_registry",
    "query_registry",
    "targets",
]

# Listing imports every suite; the database suite builds its fixture lazily, so this is seconds.
_QUERY_TIMEOUT = 120.0


@dataclass(frozen=True)
class RegistryEntry:
    """One benchmark of the registry, reduced to what profiling needs."""

    id: str
    target: str
    kind: str
    func: str
    call_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)
    reference: str | None = None
    suite: str = ""


def load_registry(path: Path) -> list[RegistryEntry]:
    """Read a registry file written by ``perfkit-bench list --json > FILE``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(
            f"cannot read the registry {path}: {exc.strerror or exc}; "
            "write it with: perfkit-bench list --json > FILE"
        ) from None
    return parse_registry(text, str(path))


def query_registry(suites: Path) -> list[RegistryEntry]:
    """Ask perfkit-bench, installed in this environment, for the registry of ``suites``."""
    if importlib.util.find_spec("perfkit_bench") is None:
        raise RegistryError(
            "no benchmark registry: pass --registry FILE (written by "
            "`perfkit-bench list --json > FILE`), or install perfkit-bench in this environment"
        )
    if not suites.exists():
        raise RegistryError(f"the suites folder {suites} does not exist: pass --suites DIR")
    command = [sys.executable, "-m", "perfkit_bench", "list", "--json", str(suites)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_QUERY_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise RegistryError(
            f"`{' '.join(command)}` did not finish in {_QUERY_TIMEOUT:g} s: "
            "write the registry once with perfkit-bench list --json > FILE and pass --registry FILE"
        ) from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RegistryError(f"perfkit-bench list failed (exit {done.returncode}): {last}")
    return parse_registry(done.stdout, "perfkit-bench list --json")


def parse_registry(text: str, source: str) -> list[RegistryEntry]:
    """Validate registry JSON; errors name ``source`` and the entry at fault."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RegistryError(
            f"{source} is not JSON ({exc.msg} at line {exc.lineno}); "
            "write it with: perfkit-bench list --json > FILE"
        ) from None
    if not isinstance(data, list):
        raise RegistryError(
            f"{source}: expected a JSON list of benchmarks (perfkit-bench list --json)"
        )
    entries = []
    for index, item in enumerate(data):
        entries.append(_entry(item, f"{source}: entry {index}"))
    return entries


def _entry(item: object, where: str) -> RegistryEntry:
    if not isinstance(item, dict):
        raise RegistryError(f"{where} is not an object")
    for key in ("id", "target", "kind", "func"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise RegistryError(f"{where} has no string {key!r}")
    if ":" not in item["func"]:
        raise RegistryError(f"{where}: func {item['func']!r} is not 'module:function'")
    kwargs = item.get("call_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise RegistryError(f"{where}: call_kwargs is not an object")
    reference = item.get("reference")
    return RegistryEntry(
        id=item["id"],
        target=item["target"],
        kind=item["kind"],
        func=item["func"],
        call_kwargs=dict(kwargs),
        reference=reference if isinstance(reference, str) else None,
        suite=str(item.get("suite") or ""),
    )


def targets(entries: Sequence[RegistryEntry]) -> dict[str, list[RegistryEntry]]:
    """Entries grouped by target, targets sorted by name, entries in registry order."""
    grouped: dict[str, list[RegistryEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.target, []).append(entry)
    return dict(sorted(grouped.items()))


def default_entry(entries: Sequence[RegistryEntry], target: str) -> RegistryEntry:
    """The documented default workload of ``target`` (see the module docstring)."""
    grouped = targets(entries)
    if target not in grouped:
        valid = ", ".join(grouped) or "none (the registry is empty)"
        raise UnknownTargetError(f"unknown target {target!r}; valid targets: {valid}")
    candidates = grouped[target]
    referenced = {entry.reference for entry in entries if entry.reference}
    for entry in candidates:
        if entry.kind == "time" and entry.id not in referenced:
            return entry
    for entry in candidates:
        if entry.kind == "time":
            return entry
    return candidates[0]


def find_entry(entries: Sequence[RegistryEntry], target: str, benchmark: str) -> RegistryEntry:
    """The entry ``benchmark`` of ``target``; the error lists the target's ids."""
    default_entry(entries, target)  # raises for an unknown target
    ids = [entry.id for entry in entries if entry.target == target]
    for entry in entries:
        if entry.id == benchmark and entry.target == target:
            return entry
    raise UnknownTargetError(
        f"benchmark {benchmark!r} is not in target {target!r}; its benchmarks: {', '.join(ids)}"
    )
