"""Bad input: the report still renders and says what is missing; a missing history or an
unusable --out is a one-line error naming the fix (exit 2)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from perfkit_report import History
from perfkit_report._render._report import render_report


def _data(html: str) -> Any:
    match = re.search(r'id="perfkit-data">(.*?)</script>', html, re.S)
    assert match is not None
    return json.loads(match.group(1))


def test_missing_history_is_exit_2_with_the_fix(
    tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    result = run_cli("render", "--db", "nothing.db", "--out", "out")
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "nothing.db: no history database here" in line
    assert "perfkit-report ingest --db nothing.db FILE" in line
    assert not (tmp_path / "nothing.db").exists() and not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_exit_2(
    tmp_path: Path, run_cli: Callable[..., Any], synthetic: Callable[..., Any], series_type: Any
) -> None:
    synthetic(tmp_path / "history.db", [series_type("a.b", [1e-6])])
    (tmp_path / "taken").write_text("x")
    result = run_cli("render", "--out", "taken")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "exists and is not a folder; pass --out with a folder path"
    )


def test_bad_targets_file_is_exit_2(
    tmp_path: Path, run_cli: Callable[..., Any], synthetic: Callable[..., Any], series_type: Any
) -> None:
    synthetic(tmp_path / "history.db", [series_type("a.b", [1e-6])])
    (tmp_path / "t.toml").write_text("version = 1\n[[target]]\nid = 'a.b'\nmaxx = 1\n")
    result = run_cli("render", "--targets", "t.toml")
    assert result.returncode == 2 and "unknown key(s) maxx" in result.stderr


def test_empty_history_renders_and_says_so(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    History.open(tmp_path / "history.db").close()
    result = run_cli("render")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    markdown = (tmp_path / "reports" / "report.md").read_text(encoding="utf-8")
    analysis = (tmp_path / "reports" / "analysis.md").read_text(encoding="utf-8")
    for text in (markdown, analysis):
        assert "The history holds no runs yet" in text
    assert "What is missing" in html and "The history holds no runs yet" in html
    assert _data(html)["charts"] == []
    assert "No profile captures yet" in markdown


def test_one_point_renders_and_says_trends_need_more(
    tmp_path: Path, synthetic: Callable[..., Any], series_type: Any
) -> None:
    synthetic(tmp_path / "h.db", [series_type("a.single", [1e-6])])
    with History.open(tmp_path / "h.db") as history:
        report = render_report(history, tmp_path / "out")
    (view,) = report.dashboard.benchmarks
    assert view.changes == () and view.drift is None and view.trend_basis == "none"
    assert "1 run: no trend yet" in view.notes[0]
    assert "1 run: no trend yet" in report.markdown.read_text(encoding="utf-8")
    html = report.html.read_text(encoding="utf-8")
    assert 'data-points="1"' in html


def test_non_finite_and_zero_values_are_left_out_or_shown(
    tmp_path: Path, synthetic: Callable[..., Any], series_type: Any
) -> None:
    ids = synthetic(
        tmp_path / "h.db", [series_type("a.odd", [1e-6] * 12), series_type("a.zero", [1.0] * 12)]
    )
    conn = sqlite3.connect(tmp_path / "h.db")
    with conn:
        # Damage three rows the way a hand-edited or foreign database could hold them: an
        # infinite median, NaN stored as text, a NaN inside the samples JSON; and a zero.
        conn.execute(
            "UPDATE results SET median = 1e999 WHERE run_id = ? AND benchmark = 'a.odd'", [ids[3]]
        )
        conn.execute(
            "UPDATE results SET median = 'NaN', p95 = 'NaN' WHERE run_id = ? AND benchmark = 'a.odd'",
            [ids[5]],
        )
        conn.execute("UPDATE results SET samples = '[NaN, 1.0]' WHERE run_id = ?", [ids[6]])
        conn.execute("UPDATE results SET median = 0, p5 = 0, p95 = 0 WHERE benchmark = 'a.zero'")
        conn.execute(
            "UPDATE results SET median = 'NaN' WHERE run_id = ? AND benchmark = 'a.odd'", [ids[-1]]
        )
    conn.close()
    with History.open(tmp_path / "h.db") as history:
        report = render_report(history, tmp_path / "out")
    views = {view.id: view for view in report.dashboard.benchmarks}
    odd = views["a.odd"]
    assert (odd.series.runs, odd.series.skipped) == (9, 3)
    assert "3 stored result(s) without a finite median were left out" in odd.notes[0]
    assert odd.latest is not None and odd.latest.median is None
    assert odd.latest.check.reasons == ("the latest value is not a finite number",)
    zero = views["a.zero"]
    assert zero.latest is not None and zero.latest.median == 0.0 and zero.latest.rate is None
    html = report.html.read_text(encoding="utf-8")
    data = _data(html)  # strict JSON: no NaN or Infinity
    assert [len(chart["x"]) for chart in data["charts"]] == [9, 12]
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "without a finite median were left out" in markdown
    assert "| a.zero | 0 ns |" in markdown


def test_missing_profile_files_and_folders_are_reported(
    tmp_path: Path,
    synthetic: Callable[..., Any],
    series_type: Any,
    profile_folder: Callable[..., Path],
) -> None:
    synthetic(tmp_path / "h.db", [series_type("mt.a", [1e-6] * 3, target="routing")])
    routing = profile_folder(
        tmp_path / "profiles" / "cap-routing",
        files={"memray_flamegraph": "flame.html", "scalene_html": "scalene.html"},
    )
    load = profile_folder(tmp_path / "profiles" / "cap-load", target="load")
    with History.open(tmp_path / "h.db") as history:
        history.ingest_profiles([routing, load])
        shutil.rmtree(load)
        report = render_report(history, tmp_path / "out")
    markdown = report.markdown.read_text(encoding="utf-8")
    assert "scalene\\_html file scalene.html is missing" in markdown
    assert "the capture folder" in markdown and "cap-load is missing" in markdown
    assert "[memray peak memory](../profiles/cap-routing/flame.html)" in markdown
    html = report.html.read_text(encoding="utf-8")
    assert 'href="../profiles/cap-routing/flame.html"' in html
    assert "scalene_html file scalene.html is missing" in html
    assert 'scalene.html"' not in html  # no link to the file that is not there
