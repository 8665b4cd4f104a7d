"""The regression gate's evaluation rows: one ``evaluations`` row per rule and injected percent
(table from migration ``0002_regression_gate``).

The gate measures its own false-alarm rate and power (``perfkit_report._gate``) and hands the
figures over as ``EvaluationRow``; this module writes them, all in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from perfkit_report._history._transaction import write_transaction

__all__ = ["EvaluationRow", "insert_evaluations"]


@dataclass(frozen=True, slots=True)
class EvaluationRow:
    """One rule at one injection level of one evaluation."""

    evaluation: str
    """The evaluation's label (shared by its rows)."""
    created: str
    method: str
    injected_percent: float
    checks: int
    pairs_per_check: int
    benchmarks: int
    flagged_checks: int
    rate: float
    details: Mapping[str, Any]
    """Per-benchmark figures and settings; stored as JSON."""


def insert_evaluations(db: Database, label: str, rows: Sequence[EvaluationRow]) -> int:
    """Insert every row in one transaction; return how many. ``label`` names the evaluation in
    a lock-timeout message."""
    records = [
        {
            "evaluation": row.evaluation,
            "created": row.created,
            "method": row.method,
            "injected_percent": row.injected_percent,
            "checks": row.checks,
            "pairs_per_check": row.pairs_per_check,
            "benchmarks": row.benchmarks,
            "flagged_checks": row.flagged_checks,
            "rate": row.rate,
            "details": json.dumps(row.details, sort_keys=True, allow_nan=False),
        }
        for row in rows
    ]
    with write_transaction(db, f"storing evaluation {label}"):
        db.table("evaluations").insert_all(records)
    return len(records)
