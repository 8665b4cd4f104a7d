"""render: the report folder's files and what they say about a synthetic history with known
steps, targets, references, a baseline, gate verdicts, latency percentiles and memory."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, parse_targets
from perfkit_report._render._html_report import UPLOT_VERSION
from perfkit_report._render._report import render_report

TARGETS = """
version = 1
[defaults]
severity = { minor = 10.0, major = 15.0, critical = 20.0 }
[[target]]
id = "mt.tell.asyncio"
min_rate = 1.75e6
ratio_max = 1.0
[[target]]
id = "mem.footprint"
unit = "byte"
max = 1536
[[target]]
id = "load.fanout.p99"
max = 3e-3
[[target]]
id = "load.fanout.throughput"
direction = "higher"
min = 5000
"""

RUNS = 24
STEP = 16  # tell.asyncio gets 25 % slower from this run on


def _series(series_type: Any) -> list[Any]:
    S = series_type
    return [
        S(
            "mt.tell.asyncio",
            [560e-9 * (1.25 if i >= STEP else 1) for i in range(RUNS)],
            reference="mt.tell.queue",
        ),
        S("mt.tell.queue", [600e-9] * RUNS),
        S(
            "mem.footprint",
            [1400.0] * 10 + [1200.0] * (RUNS - 10),
            unit="byte",
            kind="bytes",
            target="spawning",
            noise=0.001,
        ),
        S("load.fanout.p50", [120e-6] * RUNS, kind="latency", target="load"),
        S("load.fanout.p95", [900e-6] * 12 + [1260e-6] * 12, kind="latency", target="load"),
        S("load.fanout.p99", [2.4e-3] * 12 + [3.36e-3] * 12, kind="latency", target="load"),
        S(
            "load.fanout.throughput",
            [52000.0] * RUNS,
            unit="integer",
            kind="latency",
            target="load",
        ),
        S("mt.retired", [1e-6] * 5, target="routing"),
    ]


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
    synthetic: Callable[..., Any],
    series_type: Any,
    sql: Callable[..., Any],
) -> Any:
    folder = tmp_path_factory.mktemp("report")
    db = folder / "history.db"
    ids = synthetic(db, _series(series_type))
    sql(
        db,
        "INSERT INTO verdicts (run_id, base_run_id, benchmark, channel, effect, ci_low, "
        "ci_high, p, q, verdict, severity) VALUES (?, ?, 'mt.tell.asyncio', 'time', 1.24, "
        "1.18, 1.31, 0.0001, 0.0004, 'regressed', 'critical')",
        [ids[-1], ids[4]],
    )
    with History.open(db) as history:
        history.pin_baseline("release-0.1", ids[4], "first release")
        return render_report(history, folder / "out", parse_targets(TARGETS, "targets.toml"))


def test_the_three_files_are_written(report: Any) -> None:
    assert report.html.name == "index.html" and report.html.stat().st_size > 50_000
    assert report.markdown.name == "report.md"
    assert report.analysis.name == "analysis.md"
    assert report.html.parent == report.markdown.parent == report.analysis.parent


def test_the_step_is_a_critical_regression_at_its_commits(report: Any) -> None:
    view = next(v for v in report.dashboard.benchmarks if v.id == "mt.tell.asyncio")
    (change,) = view.changes
    assert view.trend_basis == "runs"
    assert (change.kind, change.severity) == ("regression", "critical")
    assert change.percent == pytest.approx(25.0, abs=2.0)
    assert change.commit_range == "0015c0ffeec0..0016c0ffeec0"
    assert view.latest is not None and view.latest.check.status == "missed"
    assert view.latest.ratio == pytest.approx(700 / 600, rel=0.03)
    (baseline,) = view.baselines
    assert baseline.name == "release-0.1" and baseline.value == pytest.approx(560e-9, rel=0.03)


def test_memory_improvement_is_not_graded_as_a_regression(report: Any) -> None:
    view = next(v for v in report.dashboard.benchmarks if v.id == "mem.footprint")
    (change,) = view.changes
    assert (change.kind, change.severity) == ("improvement", None)
    assert change.percent == pytest.approx(-14.3, abs=0.5)


def test_markdown_report_has_every_section(report: Any) -> None:
    text = report.markdown.read_text(encoding="utf-8")
    headings = re.findall(r"^(#{1,3} .*)$", text, re.M)
    assert headings[:6] == [
        "# perfkit performance report",
        "## Overview",
        "### Latest run against targets",
        "### Regressions and improvements",
        "### Ratios to references",
        "## Analysis",
    ]
    assert {"## Suite: load", "## Suite: mem", "## Suite: mt", "## Profiles"} <= set(headings)
    # the gate's verdict with its effect and interval, then the change points
    assert (
        "| mt.tell.asyncio | regressed | critical | +24.0 % | +18.0 % … +31.0 % | 0.0004 | time |"
        in text
    )
    assert re.search(r"\| mt\.tell\.asyncio \| \+2\d\.\d % \| regression \| critical \|", text)
    # ratios to references with the goal
    assert re.search(
        r"\| mt\.tell\.asyncio \| mt\.tell\.queue \| 1\.1\dx \| ≤ 1 \| ❌ missed \|", text
    )
    # latency percentiles of the scenario in one table
    assert "Latency percentiles of load.fanout (latest run):" in text
    assert "| p50 | p95 | p99 |" in text
    # the benchmark the latest run no longer measures
    assert "not measured by the latest run" in text


def test_analysis_names_the_gap_the_step_and_a_recommendation(report: Any) -> None:
    text = report.analysis.read_text(encoding="utf-8")
    assert "- **mt.tell.asyncio**: 7" in text
    assert "under min\\_rate 1.75M ops/s" in text
    assert "ratio 1.1" in text and "over ratio\\_max 1" in text
    assert "**load.fanout.p99**: 3.3" in text and "over max 3.00 ms" in text
    assert "Regression gate, latest run: 1 regressed, 0 improved of 1 compared." in text
    assert "effect +24.0 % [95 % CI +18.0 %, +31.0 %], q = 0.0004, time channel" in text
    assert re.search(r"stepped \+2\d\.\d % between 0015c0ffeec0\.\.0016c0ffeec0: bisect", text)


def test_html_embeds_everything_and_counts_points(report: Any) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert f"uPlot {UPLOT_VERSION}" in html and "var uPlot=" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    data = json.loads(re.search(r'id="perfkit-data">(.*?)</script>', html, re.S).group(1))
    charts = {chart["id"]: chart for chart in data["charts"]}
    kinds = sorted(chart["kind"] for chart in charts.values())
    # mt.tell.asyncio, mt.tell.queue, mt.retired, throughput: trend; footprint: memory;
    # p50/p95/p99: one latency chart
    assert kinds == ["latency", "memory", "trend", "trend", "trend", "trend"]
    for chart_id, chart in charts.items():
        div = re.search(rf'data-chart="{chart_id}" data-points="(\d+)"', html)
        assert div is not None and int(div.group(1)) == len(chart["x"])
    latency = next(chart for chart in charts.values() if chart["kind"] == "latency")
    assert [series["label"] for series in latency["series"]] == ["p50", "p95", "p99"]
    assert sorted(mark["label"] for mark in latency["marks"]) == sorted(
        ["release-0.1", *re.findall(r"p9[59] \+\d+\.\d %", json.dumps(latency["marks"]))]
    )


def test_no_network_reference_in_the_page(report: Any) -> None:
    html = report.html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(http" not in html


def test_long_histories_are_shown_per_day(
    tmp_path: Path, synthetic: Callable[..., Any], series_type: Any
) -> None:
    # 3 runs a day for 90 days: 270 runs, over the 200-point limit, so one point per day.
    runs = 270
    synthetic(
        tmp_path / "h.db",
        [series_type("s.long", [1e-6 if i < 150 else 1.3e-6 for i in range(runs)])],
        start="2026-07-01T01:00:00+00:00",
        hours_apart=8.0,
    )
    with History.open(tmp_path / "h.db") as history:
        report = render_report(history, tmp_path / "out")
    (view,) = report.dashboard.benchmarks
    assert (view.series.bucket_days, len(view.series.points), view.series.runs) == (1, 90, 270)
    assert view.trend_basis == "runs"  # the trend reads every run; the chart shows days
    (change,) = view.changes
    assert change.percent == pytest.approx(30, abs=3)
    assert "shown one point per day" in report.markdown.read_text(encoding="utf-8")
    assert "one point per 1 day(s)" in report.html.read_text(encoding="utf-8")


def test_vendored_chart_library_ships_with_its_licence() -> None:
    from importlib import resources

    vendor = resources.files("perfkit_report") / "vendor"
    assert "MIT License" in (vendor / "uPlot.LICENSE").read_text(encoding="utf-8")
    script = (vendor / "uPlot.iife.min.js").read_text(encoding="utf-8")
    assert script.startswith(f"/*! https://github.com/leeoniya/uPlot (v{UPLOT_VERSION}) */")
    assert "</script" not in script.lower()  # safe to inline
