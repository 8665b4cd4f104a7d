"""The regression gate: base against head, one verdict per benchmark, and what it writes.

The detector (pure statistics), the A/B pairs of a ``perfkit-bench ab`` session, ``compare`` of
two result files, the ``check`` (verdict.json, the PR comment, its rows in the history) and the
gate's own evaluation (false alarms and power). It stands on the history store
(``perfkit_report._history``) and never imports the renderers (``tests/test_layering.py``).

Other modules import the names below from ``perfkit_report._gate``, not from the private
modules behind them.
"""

from __future__ import annotations

from perfkit_report._gate._check import CheckOptions, CheckOutcome, add_check_command, run_check
from perfkit_report._gate._comment import COMMENT_MARKER
from perfkit_report._gate._compare import (
    COMPARE_FORMAT_VERSION,
    Comparison,
    add_compare_command,
    compare_files,
)
from perfkit_report._gate._detector import (
    BenchmarkSamples,
    BenchmarkVerdict,
    MoreSamples,
    detect,
    failing_verdicts,
    needs_more,
)
from perfkit_report._gate._evaluate import add_evaluate_command

__all__ = [
    "COMMENT_MARKER",
    "COMPARE_FORMAT_VERSION",
    "BenchmarkSamples",
    "BenchmarkVerdict",
    "CheckOptions",
    "CheckOutcome",
    "Comparison",
    "MoreSamples",
    "add_check_command",
    "add_compare_command",
    "add_evaluate_command",
    "compare_files",
    "detect",
    "failing_verdicts",
    "needs_more",
    "run_check",
]
