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


def test_python_37_regression_and_38_recovery_are_detected(rendered: Any) -> None:
    views = {view.id: view for view in rendered.dashboard.benchmarks}
    for name, rise, fall in (("[1,2]*1000", 42.1, -39.8), ("[1,2,3]*1000", 31.9, -31.1)):
        view = views[name]
        assert view.trend_basis == "processes"  # three runs: per-process medians
        up, down = view.changes
        assert (up.kind, down.kind) == ("regression", "improvement")
        assert up.percent == pytest.approx(rise, abs=1.0)
        assert down.percent == pytest.approx(fall, abs=1.0)
        assert up.commit_range == "run 1 (Python 3.6.12)..run 2 (Python 3.7.9)"
        assert down.commit_range == "run 2 (Python 3.7.9)..run 3 (Python 3.8.5)"
        assert up.point.pvalue < 1e-6
    assert views["[1]*1000"].changes == ()


def test_the_reports_state_the_changes_with_their_numbers(rendered: Any) -> None:
    analysis = rendered.analysis.read_text(encoding="utf-8")
    assert (
        "regression: **\\[1,2\\]\\*1000**: +42.1 % between run 1 (Python 3.6.12)..run 2 "
        "(Python 3.7.9) (2020-10-13): median 3.70 µs → 5.25 µs" in analysis
    )
    assert "improvement: **\\[1,2,3\\]\\*1000**: -31.1 %" in analysis
    assert "from per-process medians of 3 runs" in analysis
    report = rendered.markdown.read_text(encoding="utf-8")
    assert analysis.strip() in report  # the analysis is a section of report.md
    html = rendered.html.read_text(encoding="utf-8")
    assert markdown.markdown(analysis, extensions=["tables"]) in html
    assert "+42.1 %" in html


def test_stable_benchmark_says_so(rendered: Any) -> None:
    report = rendered.markdown.read_text(encoding="utf-8")
    row = next(line for line in report.splitlines() if line.startswith("| \\[1\\]\\*1000 | 2."))
    assert "stable" in row


def test_cli_renders_the_same_history(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    assert run_cli("ingest", *FILES).returncode == 0
    result = run_cli("render", "--out", "reports")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(Path("reports") / name) for name in ("index.html", "report.md", "analysis.md")
    ]
    assert "+31.9 %" in (tmp_path / "reports" / "report.md").read_text(encoding="utf-8")
