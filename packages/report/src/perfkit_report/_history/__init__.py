"""The history store: history.db and everything that reads a result into it.

The room the other two stand on. It owns every SQL statement of the package (the store, its
migrations, transactions, retention, the profile and check rows) and the reading of what goes
in (pyperf result files, per-result statistics, profile summaries). It imports no other room:
the gate and the renderers import it, never the other way round (``tests/test_layering.py``).

Other modules import the names below from ``perfkit_report._history``, not from the private
modules behind them.
"""

from __future__ import annotations

from perfkit_report._history._checks import CheckRow
from perfkit_report._history._contract import ParsedResult, ParsedRun
from perfkit_report._history._evaluations import EvaluationRow
from perfkit_report._history._formats import read_one_run, read_results
from perfkit_report._history._ingest import read_result_file
from perfkit_report._history._integrity import Diagnosis, diagnose
from perfkit_report._history._migrations import MIGRATIONS, Migration
from perfkit_report._history._profiles import (
    PROFILE_SUMMARY_VERSION,
    Hotspot,
    ProfileCapture,
    ProfileIngestResult,
    ProfileRecord,
    read_profile_summary,
)
from perfkit_report._history._records import (
    Baseline,
    IngestResult,
    RecordedCheck,
    ResultRecord,
    ResultRow,
    RunHeader,
    RunRecord,
    VerdictRecord,
)
from perfkit_report._history._retention import PruneResult
from perfkit_report._history._statistics import SampleSummary, summarize
from perfkit_report._history._store import DEFAULT_BUSY_TIMEOUT, History
from perfkit_report._history._timestamps import format_timestamp, now_utc, parse_timestamp

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "MIGRATIONS",
    "PROFILE_SUMMARY_VERSION",
    "Baseline",
    "CheckRow",
    "Diagnosis",
    "EvaluationRow",
    "History",
    "Hotspot",
    "IngestResult",
    "Migration",
    "ParsedResult",
    "ParsedRun",
    "ProfileCapture",
    "ProfileIngestResult",
    "ProfileRecord",
    "PruneResult",
    "RecordedCheck",
    "ResultRecord",
    "ResultRow",
    "RunHeader",
    "RunRecord",
    "SampleSummary",
    "VerdictRecord",
    "diagnose",
    "format_timestamp",
    "now_utc",
    "parse_timestamp",
    "read_one_run",
    "read_profile_summary",
    "read_result_file",
    "read_results",
    "summarize",
]
