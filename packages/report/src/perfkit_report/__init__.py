"""perfkit-report: the history store (history.db) and what is built on it.

This release: ingest pyperf result files and profile captures, prune raw samples, pin baselines,
summarise a run against targets.toml, and render the offline HTML dashboard, the Markdown report
and the generated analysis with trend detection; the regression detector (``detect``) and
``compare`` of two result files. The command line is ``perfkit-report``
(``python -m perfkit_report``).
"""

from __future__ import annotations

from perfkit_report._compare import COMPARE_FORMAT_VERSION, Comparison, compare_files
from perfkit_report._detector import (
    BenchmarkSamples,
    BenchmarkVerdict,
    MoreSamples,
    detect,
    failing_verdicts,
    needs_more,
)
from perfkit_report._exceptions import (
    InputError,
    PerfkitReportError,
    ProfileSummaryError,
    ResultFileError,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    TargetsFileError,
    UnknownBaseline,
    UnknownRun,
)
from perfkit_report._ingest import ParsedResult, ParsedRun, read_result_file
from perfkit_report._migrations import MIGRATIONS, Migration
from perfkit_report._profiles import (
    PROFILE_SUMMARY_VERSION,
    Hotspot,
    ProfileCapture,
    ProfileIngestResult,
    ProfileRecord,
    read_profile_summary,
)
from perfkit_report._report import RenderedReport, render_report
from perfkit_report._retention import PruneResult
from perfkit_report._statistics import SampleSummary, summarize
from perfkit_report._store import (
    DEFAULT_BUSY_TIMEOUT,
    Baseline,
    History,
    IngestResult,
    ResultRecord,
    RunRecord,
)
from perfkit_report._targets import (
    TARGETS_FORMAT_VERSION,
    SeverityBands,
    TargetCheck,
    TargetRule,
    Targets,
    load_targets,
    parse_targets,
)

__version__ = "0.1.0"

__all__ = [
    "COMPARE_FORMAT_VERSION",
    "DEFAULT_BUSY_TIMEOUT",
    "MIGRATIONS",
    "PROFILE_SUMMARY_VERSION",
    "TARGETS_FORMAT_VERSION",
    "Baseline",
    "BenchmarkSamples",
    "BenchmarkVerdict",
    "Comparison",
    "History",
    "Hotspot",
    "IngestResult",
    "InputError",
    "Migration",
    "MoreSamples",
    "ParsedResult",
    "ParsedRun",
    "PerfkitReportError",
    "ProfileCapture",
    "ProfileIngestResult",
    "ProfileRecord",
    "ProfileSummaryError",
    "PruneResult",
    "RenderedReport",
    "ResultFileError",
    "ResultRecord",
    "RunRecord",
    "SampleSummary",
    "SchemaTooNew",
    "SeverityBands",
    "StoreBusy",
    "StoreCorrupt",
    "StoreError",
    "TargetCheck",
    "TargetRule",
    "Targets",
    "TargetsFileError",
    "UnknownBaseline",
    "UnknownRun",
    "__version__",
    "compare_files",
    "detect",
    "failing_verdicts",
    "load_targets",
    "needs_more",
    "parse_targets",
    "read_profile_summary",
    "read_result_file",
    "render_report",
    "summarize",
]
