"""perfkit-report: the history store (history.db) and what is built on it.

This release: ingest pyperf result files and profile captures, prune raw samples, pin baselines,
summarise a run against targets.toml, and render the offline HTML dashboard, the Markdown report
and the generated analysis with trend detection; the regression detector (``detect``) and
``compare`` of two result files. The command line is ``perfkit-report``
(``python -m perfkit_report``).
"""

from __future__ import annotations

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
from perfkit_report._gate import (
    COMPARE_FORMAT_VERSION,
    BenchmarkSamples,
    BenchmarkVerdict,
    Comparison,
    MoreSamples,
    compare_files,
    detect,
    failing_verdicts,
    needs_more,
)
from perfkit_report._history import (
    DEFAULT_BUSY_TIMEOUT,
    MIGRATIONS,
    PROFILE_SUMMARY_VERSION,
    Baseline,
    History,
    Hotspot,
    IngestResult,
    Migration,
    ParsedResult,
    ParsedRun,
    ProfileCapture,
    ProfileIngestResult,
    ProfileRecord,
    PruneResult,
    ResultRecord,
    RunRecord,
    SampleSummary,
    read_profile_summary,
    read_result_file,
    summarize,
)
from perfkit_report._render import RenderedReport, render_report
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
