"""Real third-party data: pyperf's mult_list files (the same three timeit benchmarks on CPython
3.6, 3.7 and 3.8, one machine) ingested as a three-run history and rendered.

What the data shows (medians of 60 values each): ``[1,2]*1000`` 3.70 -> 5.25 -> 3.16 µs and
``[1,2,3]*1000`` 4.58 -> 6.03 -> 4.15 µs, i.e. 3.7 regressed both by a third or more and 3.8
recovered; ``[1]*1000`` stayed within 2 % (2.11, 2.08, 2.12 µs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown
import pytest

from perfkit_report import History
from perfkit_report._render._report import render_report

DATA = Path(__file__).parent / "data" / "pyperf"
FILES = [DATA / f"mult_list_py3{minor}.json" for minor in (6, 7, 8)]
NAMES = ("[1]*1000", "[1,2]*1000", "[1,2,3]*1000")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("real")
    with History.open(folder / "history.db") as history:
        history.ingest_many(FILES)
        return render_report(history, folder / "out")


def test_the_three_runs_and_benchmarks_are_listed(rendered: Any) -> None:
    dashboard = rendered.dashboard
    assert dashboard.run_count == 3
    assert sorted(view.id for view in dashboard.benchmarks) == sorted(NAMES)
    text = rendered.markdown.read_text(encoding="utf-8")
    for name in NAMES:
        escaped = name.replace("[", "\\[").replace("]", "\\]").replace("*", "\\*")
        assert f"| {escaped} |" in text  # a table row, Markdown-escaped
    html = rendered.html.read_text(encoding="utf-8")
    for name in NAMES:
        assert f">{name}</h3>" in html


def test_three_runs_are_too_few_for_a_trend_and_say_so(rendered: Any) -> None:
    """Three runs cannot tell a step from the noise between runs (there is no estimate of it):
    no change point, and the report says why. Two files are compare's question."""
    for view in rendered.dashboard.benchmarks:
        assert view.trend_basis == "none"
        assert view.changes == ()
        assert any("3 runs: no trend yet" in note for note in view.notes)


def test_the_reports_recommend_more_runs(rendered: Any) -> None:
    analysis = rendered.analysis.read_text(encoding="utf-8")
    assert "3 benchmark(s) have too few runs in their series for a trend" in analysis
    report = rendered.markdown.read_text(encoding="utf-8")
    assert analysis.strip() in report  # the analysis is a section of report.md
    html = rendered.html.read_text(encoding="utf-8")
    assert markdown.markdown(analysis, extensions=["tables"]) in html


def test_compare_finds_the_python_37_regression(run_cli: Callable[..., Any]) -> None:
    result = run_cli("compare", FILES[0], FILES[1])
    assert result.returncode == 1, result.stderr
    assert "regressed" in result.stdout


def test_a_row_without_a_trend_says_too_few_points(rendered: Any) -> None:
    report = rendered.markdown.read_text(encoding="utf-8")
    row = next(line for line in report.splitlines() if line.startswith("| \\[1\\]\\*1000 | 2."))
    assert "too few points" in row


def test_cli_renders_the_same_history(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    assert run_cli("ingest", *FILES).returncode == 0
    result = run_cli("render", "--out", "reports")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(Path("reports") / name) for name in ("index.html", "report.md", "analysis.md")
    ]
