"""The description of one benchmark: :class:`BenchmarkSpec`, its kinds, units and id rules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from perfkit_bench._clock import CLOCK_METADATA, CLOCKS, Clock

__all__ = [
    "ID_PATTERN",
    "KINDS",
    "LATENCY_REQUIRED",
    "NAME_PATTERN",
    "UNITS",
    "BenchmarkSpec",
    "Kind",
    "MetadataValue",
    "ParamValue",
    "latency_metric_unit",
]

Kind: TypeAlias = Literal["time", "bytes", "count", "latency"]
KINDS: tuple[Kind, ...] = ("time", "bytes", "count", "latency")

# pyperf knows three units (pyperf/_formatter.py UNIT_FORMATTERS): second, byte, integer.
UNITS: Mapping[Kind, str] = {
    "time": "second",
    "bytes": "byte",
    "count": "integer",
    "latency": "second",
}

# A latency benchmark returns at least these percentiles, in seconds.
LATENCY_REQUIRED: tuple[str, ...] = ("p50", "p95", "p99")
_PERCENTILE = re.compile(r"p\d+")

# Ids are stable keys in the history store: lowercase dot-separated words, at least
# "<suite>.<scenario>". Only [a-z0-9_] so an id is also a valid module name for its suite part
# and never needs escaping in file names, SQL or Markdown.
ID_PATTERN = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)+")
# One word of an id; also the rule for suite, target, channel and latency key names.
NAME_PATTERN = re.compile(r"[a-z0-9_]+")

ParamValue: TypeAlias = str | int | float | bool
# pyperf accepts only these types as metadata values (pyperf/_metadata.py METADATA_VALUE_TYPES).
MetadataValue: TypeAlias = str | int | float


def latency_metric_unit(key: str) -> str:
    """Unit of one key a latency benchmark returns: ``p<N>`` percentiles are seconds, the rest
    (throughput, counts) are plain numbers, which pyperf calls ``integer``."""
    return "second" if _PERCENTILE.fullmatch(key) else "integer"


@dataclass(frozen=True)
class BenchmarkSpec:
    """One registered benchmark, as ``@benchmark`` declared it.

    ``func`` is the ``"module:function"`` path of the workload, so other tools can import and
    call the same function. ``call_kwargs`` are the keyword arguments the function is called
    with: the grid point for a ``params_grid`` declaration, empty otherwise. ``params`` is the
    descriptive parameter set recorded as metadata (declared ``params`` plus the grid point).
    """

    id: str
    suite: str
    target: str
    kind: Kind
    unit: str
    inner_loops: int
    params: Mapping[str, ParamValue] = field(hash=False)
    reference: str | None
    channels: tuple[str, ...]
    timeout: float | None
    func: str
    description: str
    call_kwargs: Mapping[str, ParamValue] = field(default_factory=dict, hash=False)
    clock: Clock = "wall"
    """The clock a time benchmark is measured on (``_clock``: thread, process or wall)."""
    fresh_process: bool = False
    """The A/B gate must measure it in fresh worker processes (process pairs), not in slices
    of long-lived workers."""

    def metadata(self) -> dict[str, MetadataValue]:
        """The per-benchmark ``perfkit_*`` metadata keys (documented in the README)."""
        meta: dict[str, MetadataValue] = {
            "perfkit_target": self.target,
            "perfkit_suite": self.suite,
            "perfkit_kind": self.kind,
            "perfkit_params": json.dumps(dict(self.params), sort_keys=True),
            "perfkit_channels": ",".join(self.channels),
            "perfkit_func": self.func,
            "perfkit_inner_loops": self.inner_loops,
        }
        if self.reference:
            meta["perfkit_reference"] = self.reference
        if self.call_kwargs:
            meta["perfkit_call_kwargs"] = json.dumps(dict(self.call_kwargs), sort_keys=True)
        if self.kind == "time":
            meta["perfkit_clock"] = CLOCK_METADATA[self.clock]
        return meta

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready view, used by ``perfkit-bench list --json``."""
        return {
            "id": self.id,
            "suite": self.suite,
            "target": self.target,
            "kind": self.kind,
            "unit": self.unit,
            "inner_loops": self.inner_loops,
            "params": dict(self.params),
            "call_kwargs": dict(self.call_kwargs),
            "reference": self.reference,
            "channels": list(self.channels),
            "timeout": self.timeout,
            "func": self.func,
            "description": self.description,
            "clock": self.clock,
            "fresh_process": self.fresh_process,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BenchmarkSpec:
        """The spec :meth:`as_json` described: how ``perfkit-bench ab`` reads the benchmarks of a
        side it lists in that side's own interpreter (``list --json``), without importing them.
        Raises ``KeyError`` / ``TypeError`` / ``ValueError`` on a malformed item."""
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        timeout = data.get("timeout")
        reference = data.get("reference")
        clock = str(data.get("clock") or "wall")
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}")
        return cls(
            id=str(data["id"]),
            suite=str(data["suite"]),
            target=str(data["target"]),
            kind=kind,  # narrowed by the KINDS check above
            unit=str(data["unit"]),
            inner_loops=int(data["inner_loops"]),
            params=dict(data.get("params") or {}),
            reference=None if reference is None else str(reference),
            channels=tuple(str(channel) for channel in data.get("channels") or ()),
            timeout=None if timeout is None else float(timeout),
            func=str(data["func"]),
            description=str(data.get("description") or ""),
            call_kwargs=dict(data.get("call_kwargs") or {}),
            clock=clock,  # narrowed by the CLOCKS check above
            fresh_process=bool(data.get("fresh_process", False)),
        )
