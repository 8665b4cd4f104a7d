"""The regression gate's rows: one ``checks`` row per check and one ``verdicts`` row per
benchmark and channel (tables from migration ``0002_regression_gate``).

The gate decides what a check is (``perfkit_report._gate``); this module only writes and reads
its rows, so the history store stays the one owner of SQL. A verdict is anything with the
detector's verdict fields (``StoredVerdict``): the store does not import the gate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlite_utils import Database

from perfkit_report._history._records import VerdictRecord, as_float
from perfkit_report._history._timestamps import format_timestamp, now_utc

__all__ = ["CheckRow", "StoredVerdict", "insert_check", "load_verdicts"]

_VERDICT_COLUMNS = (
    "run_id",
    "base_run_id",
    "benchmark",
    "channel",
    "effect",
    "ci_low",
    "ci_high",
    "p",
    "q",
    "verdict",
    "severity",
    "check_id",
    "mde_percent",
    "n_base",
    "n_head",
    "paired",
    "test",
    "threshold",
    "direction",
)


@dataclass(frozen=True, slots=True)
class CheckRow:
    """What one check stores in its ``checks`` row (the run ids are added when its runs are)."""

    kind: str
    """``ab``, ``baseline`` or ``files``."""
    base_label: str
    head_label: str
    base_commit: str | None
    head_commit: str | None
    baseline: str | None
    """The baseline's name when the base is a stored baseline."""
    exit_code: int
    settings: Mapping[str, Any]
    """The detector's knobs and the files read; stored as JSON with the run ids added."""
    markdown: str
    """The PR comment."""
    json_path: str
    """verdict.json (absolute path)."""

    @property
    def outcome(self) -> str:
        """``fail`` when the check failed the gate, else ``pass``."""
        return "fail" if self.exit_code else "pass"


class StoredVerdict(Protocol):
    """The fields of one verdict that its ``verdicts`` row holds (the detector's verdict)."""

    @property
    def benchmark(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def verdict(self) -> str: ...
    @property
    def severity(self) -> str | None: ...
    @property
    def effect(self) -> float | None: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def p(self) -> float | None: ...
    @property
    def q(self) -> float | None: ...
    @property
    def mde_percent(self) -> float | None: ...
    @property
    def n_base(self) -> int: ...
    @property
    def n_head(self) -> int: ...
    @property
    def paired(self) -> bool: ...
    @property
    def test(self) -> str | None: ...
    @property
    def threshold(self) -> float: ...
    @property
    def direction(self) -> str: ...


def insert_check(
    db: Database, check: CheckRow, run_ids: Mapping[str, int], verdicts: Sequence[StoredVerdict]
) -> int:
    """Insert the ``checks`` row and one ``verdicts`` row per verdict; return the check's id.
    Runs inside the caller's transaction (``History.store_check``)."""
    checks = db.table("checks")
    checks.insert(
        {
            "created": format_timestamp(now_utc()),
            "kind": check.kind,
            "base_run_id": run_ids.get("base"),
            "head_run_id": run_ids.get("head"),
            "base_label": check.base_label,
            "head_label": check.head_label,
            "base_commit": check.base_commit,
            "head_commit": check.head_commit,
            "baseline": check.baseline,
            "outcome": check.outcome,
            "exit_code": check.exit_code,
            "settings": json.dumps(
                {**check.settings, "run_ids": dict(run_ids)},
                sort_keys=True,
                separators=(",", ":"),
                allow_nan=False,
            ),
            "markdown": check.markdown,
            "json_path": check.json_path,
        }
    )
    check_id = checks.last_rowid
    assert check_id is not None
    rows = [_verdict_row(verdict, run_ids, int(check_id)) for verdict in verdicts]
    db.conn.executemany(
        f"INSERT INTO verdicts ({', '.join(_VERDICT_COLUMNS)}) "
        f"VALUES ({', '.join('?' * len(_VERDICT_COLUMNS))})",
        rows,
    )
    return int(check_id)


def _verdict_row(
    verdict: StoredVerdict, run_ids: Mapping[str, int], check_id: int
) -> tuple[Any, ...]:
    return (
        run_ids["head"],
        run_ids.get("base"),
        verdict.benchmark,
        verdict.channel,
        verdict.effect,
        verdict.ci_low,
        verdict.ci_high,
        verdict.p,
        verdict.q,
        verdict.verdict,
        verdict.severity,
        check_id,
        verdict.mde_percent,
        verdict.n_base,
        verdict.n_head,
        int(verdict.paired),
        verdict.test,
        verdict.threshold,
        verdict.direction,
    )


def load_verdicts(db: Database, run_id: int) -> tuple[VerdictRecord, ...]:
    """The verdicts recorded for a (head) run, by benchmark; damaged numbers read as None."""
    return tuple(
        VerdictRecord(
            benchmark=str(row["benchmark"]),
            channel=row["channel"],
            effect=as_float(row["effect"]),
            ci_low=as_float(row["ci_low"]),
            ci_high=as_float(row["ci_high"]),
            p=as_float(row["p"]),
            q=as_float(row["q"]),
            verdict=row["verdict"],
            severity=row["severity"],
        )
        for row in db.query(
            "SELECT * FROM verdicts WHERE run_id = ? ORDER BY benchmark, id", [run_id]
        )
    )
