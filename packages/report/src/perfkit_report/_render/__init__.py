"""The renderers: what the history looks like to people.

The dashboard model (computed once from the history and a targets file), the series and trend
analysis behind each chart, and its media: the offline HTML page, the Markdown report, the
generated analysis, and the one-run summary table. It stands on the history store
(``perfkit_report._history``) and never imports the gate (``tests/test_layering.py``).

Other modules import the names below from ``perfkit_report._render``, not from the private
modules behind them.
"""

from __future__ import annotations

from perfkit_report._render._report import RenderedReport, render_report
from perfkit_report._render._summary import (
    render_json,
    render_markdown,
    render_rich,
    render_text,
    summarize_run,
)
from perfkit_report._render._trend import DEFAULT_ENGINE, ENGINES

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "RenderedReport",
    "render_json",
    "render_markdown",
    "render_report",
    "render_rich",
    "render_text",
    "summarize_run",
]
