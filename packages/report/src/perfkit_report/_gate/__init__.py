"""The regression gate: base against head, one verdict per benchmark, and what it writes.

The detector (pure statistics), the A/B pairs of a ``perfkit-bench ab`` session, ``compare`` of
two result files, the ``check`` (verdict.json, the PR comment, its rows in the history) and the
gate's own evaluation (false alarms and power). It stands on the history store
(``perfkit_report._history``) and never imports the renderers (``tests/test_layering.py``).

Other modules import the names below from ``perfkit_report._gate``, not from the private
modules behind them.
"""

from __future__ import annotations

from perfkit_report._gate._check import CheckOptions, CheckOutcome, run_check
from perfkit_report._gate._comment import COMMENT_MARKER, MAX_COMMENT_CHARS, headline
from perfkit_report._gate._compare import Comparison, compare_files
from perfkit_report._gate._compare_report import (
    COMPARE_FORMAT_VERSION,
    render_comparison_json,
    render_comparison_markdown,
    render_comparison_rich,
    render_comparison_text,
)
from perfkit_report._gate._detector import (
    DEFAULT_ALPHA,
    DEFAULT_RESAMPLES,
    BenchmarkSamples,
    BenchmarkVerdict,
    MoreSamples,
    detect,
    failing_verdicts,
    needs_more,
)
from perfkit_report._gate._evaluate import evaluate
from perfkit_report._gate._evaluation_report import (
    evaluation_rows,
    render_evaluation_json,
    render_evaluation_markdown,
    render_evaluation_rich,
    render_evaluation_text,
)
from perfkit_report._gate._profile_diffs import (
    PROFILE_DIFF_VERSIONS,
    ProfileDiff,
    append_profile_diffs,
    read_profile_diff,
    render_profile_section,
)

__all__ = [
    "COMMENT_MARKER",
    "COMPARE_FORMAT_VERSION",
    "DEFAULT_ALPHA",
    "DEFAULT_RESAMPLES",
    "MAX_COMMENT_CHARS",
    "PROFILE_DIFF_VERSIONS",
    "BenchmarkSamples",
    "BenchmarkVerdict",
    "CheckOptions",
    "CheckOutcome",
    "Comparison",
    "MoreSamples",
    "ProfileDiff",
    "append_profile_diffs",
    "compare_files",
    "detect",
    "evaluate",
    "evaluation_rows",
    "failing_verdicts",
    "headline",
    "needs_more",
    "read_profile_diff",
    "render_comparison_json",
    "render_comparison_markdown",
    "render_comparison_rich",
    "render_comparison_text",
    "render_evaluation_json",
    "render_evaluation_markdown",
    "render_evaluation_rich",
    "render_evaluation_text",
    "render_profile_section",
    "run_check",
]
