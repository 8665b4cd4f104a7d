"""Retention: raw samples are kept for a window (90 days by default), summaries forever.

``prune_history`` runs in one immediate transaction:

1. Find the runs older than the window (by start time; runs without a date by ingest time).
2. For every UTC day holding at least one such run, (re)compute ``daily_summaries`` for each
   benchmark from *all* runs of that day, pinned ones included: ``n_runs``, and the median, min
   and max of the per-run medians. The per-run medians stay in ``results`` after a prune, so the
   day can be recomputed at any time and the step is idempotent.
3. Set ``results.samples`` and ``results.process_medians`` to NULL for those runs, except runs a
   pinned baseline names: their raw samples are what a later comparison is made against.

Nothing is ever deleted: runs and their summary statistics stay.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from perfkit_report._exceptions import InputError
from perfkit_report._history._timestamps import format_timestamp
from perfkit_report._history._transaction import write_transaction

__all__ = ["PruneResult", "prune_history"]

_RUN_TIME = "COALESCE(runs.started, runs.ingested_at)"


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune did."""

    cutoff: str
    """Runs that started before this moment (ISO 8601, UTC) were old enough."""
    runs_pruned: int
    """Old runs whose raw samples were dropped by this prune."""
    results_pruned: int
    """Result rows whose samples and process medians were set to NULL by this prune."""
    runs_pinned: int
    """Old runs kept intact because a pinned baseline names them."""
    summaries_written: int
    """daily_summaries rows written or rewritten."""


def prune_history(db: Database, days: float, now: datetime) -> PruneResult:
    """Prune raw samples older than ``days`` before ``now``; see the module docstring."""
    if not days >= 0:
        raise InputError(f"--days must be a number >= 0, got {days}; the default is 90")
    cutoff = format_timestamp(now - timedelta(days=days))
    with write_transaction(db, "pruning"):
        old_runs = {
            int(row["id"]): str(row["at"])
            for row in db.query(
                f"SELECT runs.id AS id, {_RUN_TIME} AS at FROM runs WHERE {_RUN_TIME} < ?",
                [cutoff],
            )
        }
        pinned = {
            int(row["run_id"])
            for row in db.query("SELECT DISTINCT run_id FROM baselines WHERE pinned = 1")
        }
        summaries = _daily_summaries(db, {at[:10] for at in old_runs.values()})
        if summaries:
            db.table("daily_summaries").upsert_all(summaries, pk=("day", "benchmark"))

        runs_pruned = 0
        results_pruned = 0
        for run_id in sorted(set(old_runs) - pinned):
            cursor = db.execute(
                "UPDATE results SET samples = NULL, process_medians = NULL "
                "WHERE run_id = ? AND (samples IS NOT NULL OR process_medians IS NOT NULL)",
                [run_id],
            )
            if cursor.rowcount > 0:
                runs_pruned += 1
                results_pruned += cursor.rowcount
    return PruneResult(
        cutoff=cutoff,
        runs_pruned=runs_pruned,
        results_pruned=results_pruned,
        runs_pinned=len(set(old_runs) & pinned),
        summaries_written=len(summaries),
    )


def _daily_summaries(db: Database, days: set[str]) -> list[dict[str, object]]:
    """One row per (day, benchmark) for the given UTC days, from every run of those days."""
    if not days:
        return []
    # Bounded by the last day (exclusive end: the next day), then filtered to the exact days.
    end = (datetime.fromisoformat(max(days)) + timedelta(days=1)).date().isoformat()
    medians: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    runs: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    units: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    rows = db.query(
        f"SELECT substr({_RUN_TIME}, 1, 10) AS day, results.benchmark, results.unit, "
        "results.median, results.run_id FROM results JOIN runs ON runs.id = results.run_id "
        f"WHERE {_RUN_TIME} < ?",
        [end],
    )
    for row in rows:
        if row["day"] not in days:
            continue
        key = (str(row["day"]), str(row["benchmark"]))
        medians[key].append(float(row["median"]))
        runs[key].add(int(row["run_id"]))
        units[key][str(row["unit"])] += 1
    return [
        {
            "day": day,
            "benchmark": benchmark,
            "unit": units[(day, benchmark)].most_common(1)[0][0],
            "n_runs": len(runs[(day, benchmark)]),
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
        }
        for (day, benchmark), values in sorted(medians.items())
    ]
