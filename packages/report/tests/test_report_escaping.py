"""Every string from outside is escaped in report.md, analysis.md and index.html: benchmark
names, suites, targets, references, branch and commit, profile functions and paths."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown
import pytest

from perfkit_report import History
from perfkit_report._escape import escape_markdown
from perfkit_report._render._html_report import script_json
from perfkit_report._render._report import render_report

XSS = "<img src=x onerror=alert(1)>"
HOSTILE = [
    XSS,
    "</script><script>alert(3)</script>",
    "pipes|and*stars_and[brackets]",
    "tick`s and @mention",
    "line\nbreak",
    "sep\u2028arator",
]


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
    synthetic: Callable[..., Any],
    series_type: Any,
    profile_folder: Callable[..., Path],
    sql: Callable[..., Any],
) -> Any:
    folder = tmp_path_factory.mktemp("escaping")
    db = folder / "history.db"
    series = [
        series_type(name, [1e-6] * 6 + [2e-6] * 6, suite=f"suite {name}", target=f"t {name}")
        for name in HOSTILE
    ]
    series.append(series_type("ok.bench", [1e-6] * 12, reference=XSS))
    ids = synthetic(db, series)
    capture = profile_folder(
        folder / "profiles" / "<b>capture</b>",
        target=f"t {XSS}",
        top_cpu=[{"function": XSS, "file": "a|b.py", "line": 1, "cpu_percent": 50.0}],
        files={"memray_flamegraph": "flame.html", "scalene_html": "<x>.html"},
    )
    sql(
        db,
        "UPDATE runs SET branch = ?, commit_sha = ? WHERE id = ?",
        ["<b>evil</b>|`branch`", "`$(rm -rf /)`<i>", ids[-1]],
    )
    with History.open(db) as history:
        history.ingest_profiles([capture])
        return render_report(history, folder / "out")


def _table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_markdown_tables_keep_their_shape(report: Any) -> None:
    text = report.markdown.read_text(encoding="utf-8")
    for block in re.split(r"\n\n", text):
        rows = _table_rows(block)
        if len(rows) < 2:
            continue
        # cells are separated by unescaped pipes only
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in rows}
        assert len(widths) == 1, block


def test_markdown_has_no_raw_html_from_outside(report: Any) -> None:
    for path in (report.markdown, report.analysis):
        text = path.read_text(encoding="utf-8")
        assert "<img" not in text and "<script" not in text and "<b>" not in text
        assert "<i>" not in text and "\u2028" not in text
        assert escape_markdown(XSS) in text
        assert "tick\\`s and @&#8288;mention" in text
        rendered = markdown.markdown(text, extensions=["tables"])
        assert "<img" not in rendered and "<script" not in rendered
        assert "&lt;img src=x onerror=alert(1)&gt;" in rendered


def test_html_escapes_text_and_attributes(report: Any) -> None:
    html = report.html.read_text(encoding="utf-8")
    body = html.split('<script type="application/json"')[0]
    assert "<img" not in body and "<b>evil" not in body and "<i>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert 'data-name="&lt;img src=x onerror=alert(1)&gt;' in body
    # the only script elements are ours: the data, uPlot and the dashboard code
    assert html.count("<script") == 3
    assert "</script><script>alert(3)" not in html


def test_chart_json_cannot_close_its_script_element(report: Any) -> None:
    html = report.html.read_text(encoding="utf-8")
    match = re.search(
        r'<script type="application/json" id="perfkit-data">(.*?)</script>', html, re.S
    )
    assert match is not None
    payload = match.group(1)
    assert "<" not in payload and ">" not in payload and "&" not in payload
    assert "\u2028" not in payload and "\u2029" not in payload
    data = json.loads(payload)
    branches = {run[2] for run in data["runs"].values()}
    assert "<b>evil</b>|`branch`" in branches  # the original text, for textContent


def test_script_json_escapes_the_dangerous_characters() -> None:
    text = script_json({"a": "</script><!-- & \u2028\u2029"})
    assert text == '{"a":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029"}'
    assert json.loads(text) == {"a": "</script><!-- & \u2028\u2029"}
    with pytest.raises(ValueError, match="JSON compliant"):
        script_json({"a": float("nan")})
