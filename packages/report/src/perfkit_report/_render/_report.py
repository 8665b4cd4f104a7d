"""The report folder: ``index.html``, ``report.md`` and ``analysis.md`` from one history.

::

    DIR/
      index.html    the dashboard: one self-contained page (charts, data and code inlined)
      report.md     the same content as GitHub-flavoured Markdown, analysis included
      analysis.md   the generated analysis alone (also a section of both files above)

Each file is written to a temporary name in DIR and renamed over the old one, so a page left
open in a browser never reloads half a report.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from perfkit_report._exceptions import InputError
from perfkit_report._history import History
from perfkit_report._render._analysis import render_analysis
from perfkit_report._render._dashboard import Dashboard, build_dashboard
from perfkit_report._render._html_report import render_html_report
from perfkit_report._render._markdown_report import render_markdown_report
from perfkit_report._render._trend import DEFAULT_ENGINE, engine_available
from perfkit_report._targets import Targets

__all__ = ["RenderedReport", "render_report"]

HTML_NAME = "index.html"
MARKDOWN_NAME = "report.md"
ANALYSIS_NAME = "analysis.md"


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """The files ``render_report`` wrote, and what they show."""

    html: Path
    markdown: Path
    analysis: Path
    dashboard: Dashboard


def render_report(
    history: History,
    out_dir: str | Path,
    targets: Targets | None = None,
    *,
    engine: str = DEFAULT_ENGINE,
) -> RenderedReport:
    """Write the dashboard, the Markdown report and the analysis into ``out_dir`` (created);
    ``engine`` finds the change points (``ruptures``, or ``otava`` with perfkit-report[otava])."""
    if not engine_available(engine):
        raise InputError(
            f"the change-point engine {engine!r} is not installed; "
            f"pip install 'perfkit-report[{engine}]', or leave --change-points at its default"
        )
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder; pass --out with a folder path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{folder}: cannot create the report folder ({exc.strerror}); pass --out with a "
            "writable path"
        ) from exc
    dashboard = build_dashboard(history, targets, engine=engine)
    analysis = render_analysis(dashboard, folder, level=2)
    markdown_text = render_markdown_report(dashboard, folder)
    html_text = render_html_report(dashboard, analysis, folder)
    paths = (folder / HTML_NAME, folder / MARKDOWN_NAME, folder / ANALYSIS_NAME)
    for path, text in zip(paths, (html_text, markdown_text, analysis), strict=True):
        _write_atomically(path, text)
    return RenderedReport(*paths, dashboard=dashboard)


def _write_atomically(path: Path, text: str) -> None:
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(
            f"{path}: cannot write the report ({exc.strerror}); pass --out with a writable folder"
        ) from exc
