"""What the history store hands out: one frozen record per row (or per row's columns read).

The store's queries build these from SQLite rows (``run_record``, ``result_record``, ...); the
rest of the package reads them and never a row. JSON columns are decoded and packed float arrays
unpacked (``_packed``) on the way out.

The light records (``RunHeader``, ``ResultRow``) are the columns the reports read for every run
and result of a long history, without raw samples; values that are not finite numbers in them (a
damaged row) read as None (``as_float``) rather than failing the whole report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from perfkit_report._history._packed import unpack_floats

__all__ = [
    "Baseline",
    "IngestResult",
    "RecordedCheck",
    "ResultRecord",
    "ResultRow",
    "RunHeader",
    "RunRecord",
    "VerdictRecord",
    "as_float",
    "baseline_record",
    "result_record",
    "run_record",
]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One row of ``runs``; JSON columns decoded."""

    id: int
    run_key: str
    source: str
    started: str | None
    finished: str | None
    commit_sha: str | None
    branch: str | None
    dirty: bool | None
    mode: str | None
    fingerprint: Mapping[str, Any]
    tool_versions: Mapping[str, Any]
    failed: tuple[Mapping[str, Any], ...]
    status: str
    ingested_at: str


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One row of ``results``; ``samples`` and ``process_medians`` are None once pruned."""

    id: int
    run_id: int
    benchmark: str
    metric: str
    unit: str
    target: str | None
    suite: str
    n: int
    median: float
    mean: float
    stdev: float | None
    min: float
    max: float
    p5: float
    p95: float
    mad: float
    samples: tuple[float, ...] | None
    process_medians: tuple[float, ...] | None
    metadata: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Baseline:
    """A named, pinned run (its raw samples are never pruned)."""

    name: str
    run_id: int
    pinned: bool
    created: str
    note: str | None
    branch: str | None = None
    """The branch the baseline tracks (``baseline set NAME --branch B``), or None."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What ``History.ingest`` did with one file."""

    run_id: int
    run_key: str
    source: str
    benchmarks: tuple[str, ...]
    status: str
    skipped: bool
    """True when a run with this run_key was already stored; nothing was written."""


@dataclass(frozen=True, slots=True)
class RunHeader:
    """The columns of a ``runs`` row that a report reads for every run."""

    id: int
    started: str | None
    ingested_at: str
    commit_sha: str | None
    branch: str | None
    fingerprint: Mapping[str, Any]
    """Decoded; empty when the stored text is not a JSON object (a damaged row)."""
    mode: str | None = None
    """perfkit-bench's mode (fast, default, rigorous, custom); None for other files."""
    dirty: bool | None = None
    """True when the checkout had uncommitted changes."""


@dataclass(frozen=True, slots=True)
class ResultRow:
    """The columns of one ``results`` row that the report reads (no raw samples)."""

    benchmark: str
    run_id: int
    metric: str
    unit: str
    target: str | None
    suite: str
    median: float | None
    p5: float | None
    p95: float | None


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """One row of ``verdicts`` (written by the regression gate's check)."""

    benchmark: str
    channel: str | None
    effect: float | None
    """Ratio of medians, head / base (the gate's effect)."""
    ci_low: float | None
    ci_high: float | None
    p: float | None
    q: float | None
    verdict: str | None
    severity: str | None

    @property
    def percent(self) -> float | None:
        """The effect as a relative change in percent."""
        return None if self.effect is None else 100.0 * (self.effect - 1.0)


@dataclass(frozen=True, slots=True)
class RecordedCheck:
    """What ``History.store_check`` wrote: the check's id and its runs' ids by role."""

    check_id: int
    run_ids: Mapping[str, int]
    """``base`` / ``head`` -> run id (the base: the baseline's run when there is one)."""


def as_float(value: object) -> float | None:
    """A finite float, or None (NULL, NaN, infinities, text that is not a number)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def run_record(row: Mapping[str, Any]) -> RunRecord:
    """A ``runs`` row (every column) as a RunRecord."""
    return RunRecord(
        id=row["id"],
        run_key=row["run_key"],
        source=row["source"],
        started=row["started"],
        finished=row["finished"],
        commit_sha=row["commit_sha"],
        branch=row["branch"],
        dirty=None if row["dirty"] is None else bool(row["dirty"]),
        mode=row["mode"],
        fingerprint=json.loads(row["fingerprint"]),
        tool_versions=json.loads(row["tool_versions"]),
        failed=tuple(json.loads(row["failed"])),
        status=row["status"],
        ingested_at=row["ingested_at"],
    )


def result_record(row: Mapping[str, Any]) -> ResultRecord:
    """A ``results`` row (every column) as a ResultRecord."""
    return ResultRecord(
        id=row["id"],
        run_id=row["run_id"],
        benchmark=row["benchmark"],
        metric=row["metric"],
        unit=row["unit"],
        target=row["target"],
        suite=row["suite"],
        n=row["n"],
        median=row["median"],
        mean=row["mean"],
        stdev=row["stdev"],
        min=row["min"],
        max=row["max"],
        p5=row["p5"],
        p95=row["p95"],
        mad=row["mad"],
        samples=unpack_floats(row["samples"]),
        process_medians=unpack_floats(row["process_medians"]),
        metadata=json.loads(row["metadata"]),
    )


def baseline_record(row: Mapping[str, Any]) -> Baseline:
    """A ``baselines`` row as a Baseline."""
    return Baseline(
        name=row["name"],
        run_id=row["run_id"],
        pinned=bool(row["pinned"]),
        created=row["created"],
        note=row["note"],
        branch=row["branch"],
    )
