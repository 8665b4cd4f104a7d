"""perfkit-profile diff: growth tables from two summaries, as text and as JSON (never Markdown)."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_profile import diff_summaries
from perfkit_profile._cli import main
from perfkit_profile._diff_json import diff_json
from perfkit_profile._frames import normalize_file

RunCli = Callable[..., subprocess.CompletedProcess[str]]

BASE_SITE = "/tmp/base/.nox/profile/lib/python3.11/site-packages/perfkit_runtime/_router.py"
HEAD_SRC = "/work/main/packages/runtime/src/perfkit_runtime/_router.py"


def summary(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": 1,
        "target": "routing",
        "workload": "message_throughput:tell_sync",
        "kwargs": {},
        "captured": "2026-11-27T10:00:00+00:00",
        "commit": "a" * 40,
        "branch": "main",
        "command": ["perfkit-profile", "run", "routing"],
        "duration_s": 30.0,
        "tools": {"scalene": "2.4.0", "memray": "1.20.0", "python": "3.11.7"},
        "peak_memory_bytes": 1000,
        "allocations": 10_000,
        "top_cpu": [
            {"function": "route", "file": BASE_SITE, "line": 10, "cpu_percent": 20.0},
            {
                "function": "tell",
                "file": "/tmp/base/benchmarks/x.py",
                "line": 5,
                "cpu_percent": 50.0,
            },
        ],
        "top_lines": [],
        "top_alloc": [
            {"function": "route", "file": BASE_SITE, "line": 12, "bytes": 1000, "count": 10},
            {"function": "route", "file": BASE_SITE, "line": 14, "bytes": 1000, "count": 10},
        ],
        "files": {},
        "runs": {"memray": {"operations": 100}},
        "errors": [],
    }
    base.update(changes)
    return base


def head() -> dict[str, Any]:
    """The head of a regression: ``route`` takes more CPU and allocates more per operation; it
    also ran twice the operations (a time budget), which must not count as growth by itself."""
    return summary(
        commit="b" * 40,
        top_cpu=[
            {"function": "route", "file": HEAD_SRC, "line": 11, "cpu_percent": 35.0},
            {
                "function": "tell",
                "file": "/work/main/benchmarks/x.py",
                "line": 5,
                "cpu_percent": 40.0,
            },
            {"function": "new_hot|spot", "file": HEAD_SRC, "line": 40, "cpu_percent": 5.0},
        ],
        top_alloc=[
            {"function": "route", "file": HEAD_SRC, "line": 12, "bytes": 6000, "count": 40},
            {
                "function": "tell",
                "file": "/work/main/benchmarks/x.py",
                "line": 6,
                "bytes": 200,
                "count": 20,
            },
        ],
        allocations=40_000,
        runs={"memray": {"operations": 200}},
    )


def test_files_match_across_checkouts_and_environments() -> None:
    assert normalize_file(BASE_SITE) == normalize_file(HEAD_SRC) == "perfkit_runtime/_router.py"
    assert normalize_file("/usr/lib/python3.11/asyncio/events.py") == "asyncio/events.py"
    assert normalize_file("/a/b/benchmarks/x.py") == normalize_file("/c/benchmarks/x.py")
    assert normalize_file("<frozen runpy>") == "<frozen runpy>"


def test_growth_per_metric_largest_first() -> None:
    diff = diff_summaries(summary(), head())
    cpu = diff.changes["cpu_percent"]
    assert [(c.function, c.before, c.after) for c in cpu] == [
        ("route", 20.0, 35.0),
        ("new_hot|spot", 0.0, 5.0),
    ]  # tell shrank: not listed
    assert diff.per_operation
    allocated = diff.changes["bytes"]
    # route: 2000 bytes / 100 ops before (two lines summed), 6000 / 200 ops after.
    assert [(c.function, c.before, c.after) for c in allocated] == [
        ("route", 20.0, 30.0),
        ("tell", 0.0, 1.0),
    ]
    count = diff.changes["count"]
    # route: 20 allocations / 100 ops before, 40 / 200 after: no growth per operation.
    assert [(c.function, c.before, c.after) for c in count] == [("tell", 0.0, 0.1)]
    assert ("allocations per operation", 100.0, 200.0) in diff.headline


def test_without_operation_counts_totals_are_compared() -> None:
    before = summary(runs={})
    diff = diff_summaries(before, head())
    assert not diff.per_operation
    assert diff.changes["bytes"][0].before == 2000
    assert diff_json(diff, "no stacks")["per_operation"] is False


def test_json_keeps_names_from_outside_raw() -> None:
    # perfkit-report escapes them for Markdown; the JSON carries what the profiler wrote.
    nasty = "f|`x`<script>&[y](z)\n_b_"
    after = head()
    after["top_cpu"].append({"function": nasty, "file": HEAD_SRC, "line": 1, "cpu_percent": 9.0})
    after["branch"] = "feat/<b>|x"
    document = diff_json(diff_summaries(summary(), after), "A has no py-spy stacks")
    assert document["after"]["branch"] == "feat/<b>|x"
    assert nasty in [row["function"] for row in document["functions"]["cpu_percent"]]
    assert document["frames"] is None
    assert document["frames_missing"] == "A has no py-spy stacks"
    assert json.loads(json.dumps(document)) == document


def _write(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_cli_json_from_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path / "a", summary())
    b = _write(tmp_path / "b", head())
    assert main(["diff", str(a), str(b / "summary.json"), "--format", "json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["version"] == 1
    assert document["target"] == "routing"
    assert document["per_operation"] is True
    assert document["functions"]["cpu_percent"][0] == {
        "function": "route",
        "file": "perfkit_runtime/_router.py",
        "before": 20.0,
        "after": 35.0,
    }
    assert document["frames"] is None  # these summaries have no py-spy stacks
    assert "has no py-spy stacks" in document["frames_missing"]
    assert "no differential flame graph" in captured.err


def test_markdown_is_perfkit_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path / "a", summary())
    assert main(["diff", str(a), str(a), "--format", "md"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert "perfkit-report append-profile-diffs" in lines[0]
    assert "--format json" in lines[0]


def test_cli_text_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path / "a", summary())
    after = head()
    after["top_cpu"].append(
        {"function": "[bold]markup[/bold]", "file": HEAD_SRC, "line": 1, "cpu_percent": 1.0}
    )
    b = _write(tmp_path / "b", after)
    assert main(["diff", str(a), str(b), "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "Profile diff: routing" in out
    assert "route" in out and "+15.0 pts" in out
    assert "[bold]markup[/bold]" in out  # shown literally, not as rich markup
    assert "\x1b[" not in out  # no colour codes when stdout is not a terminal


def test_cli_bad_summaries_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write(tmp_path / "a", summary())
    future = _write(tmp_path / "future", summary(version=3))
    assert main(["diff", str(a), str(future)]) == 2
    assert (
        "summary version 3; this perfkit-profile reads versions 1 and 2" in capsys.readouterr().err
    )
    assert main(["diff", str(a), str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    broken = _write(tmp_path / "broken", {"version": 1})
    assert main(["diff", str(a), str(broken)]) == 2
    assert "lacks target" in capsys.readouterr().err


@pytest.mark.slow
def test_diff_of_a_real_capture(
    capture_all: dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    folder: Path = capture_all["folder"]
    grown = json.loads((folder / "summary.json").read_text())
    slower = copy.deepcopy(grown)
    for item in slower["top_cpu"]:
        if item["function"] == "churn":
            item["cpu_percent"] += 10
    for item in slower["top_alloc"]:
        item["bytes"] *= 3
    other = _write(tmp_path / "other", slower)
    done = run_cli("diff", str(folder), str(other), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "│ churn " in done.stdout
    assert "+10.0 pts" in done.stdout
