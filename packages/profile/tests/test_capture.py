"""Real captures under scalene, memray and py-spy: folder layout, summary.json, crash handling."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_profile import SUMMARY_VERSION, load_summary
from perfkit_profile._offline import external_references
from perfkit_profile._summary import FILE_KEYS, REQUIRED_KEYS

RunCli = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.slow


def test_run_prints_the_capture_folder_and_exits_0(capture_all: dict[str, Any]) -> None:
    done = capture_all["done"]
    assert done.returncode == 0, done.stderr
    folder: Path = capture_all["folder"]
    assert done.stdout.strip().endswith(folder.name)
    assert done.stdout.count("\n") == 1  # stdout carries only the folder
    # <UTC time>-<short commit or nocommit>-<target>
    assert re.fullmatch(r"\d{8}T\d{6}Z-(nocommit|[0-9a-f]{12})-churning", folder.name)
    assert folder.parent.name == "profiles"


def test_folder_holds_every_tools_outputs(capture_all: dict[str, Any]) -> None:
    folder: Path = capture_all["folder"]
    names = {path.name for path in folder.iterdir()}
    assert {
        "summary.json",
        "scalene.json",
        "scalene.html",
        "scalene.log",
        "memray.bin",
        "memray-flamegraph.html",
        "memray-leaks.html",
        "memray-stats.json",
        "memray-leaks.json",
        "memray.log",
        "pyspy.folded",
        "pyspy-flamegraph.html",
        "pyspy.log",
        "pyspy-driver.json",
    } <= names


def test_summary_schema(capture_all: dict[str, Any]) -> None:
    folder: Path = capture_all["folder"]
    summary = load_summary(folder)
    assert summary["version"] == SUMMARY_VERSION == 2
    assert set(REQUIRED_KEYS) <= set(summary)
    assert summary["target"] == "churning"
    assert summary["workload"] == "tiny:churn"
    assert summary["benchmark"] == "tiny.churn"  # the target's first time benchmark
    assert summary["kwargs"] == {"size": 300}
    assert summary["kind"] == "time"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", summary["captured"])
    assert isinstance(summary["commit"], str)
    assert isinstance(summary["branch"], str)
    assert summary["command"][:2] == ["perfkit-profile", "run"]
    assert summary["duration_s"] > 0
    assert set(summary["tools"]) == {"scalene", "memray", "py-spy", "python"}
    assert summary["profilers"] == ["scalene", "memray", "py-spy"]
    assert all(isinstance(v, str) and v for v in summary["tools"].values())
    assert summary["errors"] == []
    assert isinstance(summary["peak_memory_bytes"], int)
    assert summary["peak_memory_bytes"] > 0
    assert summary["peak_memory_source"] == "memray"
    assert isinstance(summary["allocations"], int)
    assert summary["allocations"] > 0
    for key in FILE_KEYS:
        assert (folder / summary["files"][key]).is_file(), key
    for path in summary["files"].values():
        assert isinstance(path, str)
        assert not Path(path).is_absolute()
        assert (folder / path).is_file()


def test_summary_names_the_workload_hotspots(capture_all: dict[str, Any]) -> None:
    summary = load_summary(capture_all["folder"])
    cpu = summary["top_cpu"]
    assert cpu, "scalene sampled nothing"
    assert set(cpu[0]) >= {"function", "file", "line", "cpu_percent"}
    assert cpu == sorted(cpu, key=lambda item: -item["cpu_percent"])
    assert any(item["function"] == "churn" and item["file"].endswith("tiny.py") for item in cpu)
    lines = summary["top_lines"]
    assert lines
    assert set(lines[0]) >= {"file", "line", "cpu_percent", "code"}
    assert any("tiny.py" in item["file"] and item["code"] for item in lines)
    alloc = summary["top_alloc"]
    assert alloc
    assert set(alloc[0]) >= {"function", "file", "line", "bytes", "count"}
    tiny = [item for item in alloc if item["file"].endswith("tiny.py")]
    assert tiny, alloc[:5]
    assert all(item["bytes"] > 0 and item["count"] > 0 for item in tiny)
    runs = summary["runs"]
    assert runs["memray"]["operations"] > 0
    assert runs["scalene"]["loops"] >= 1
    assert runs["memray"]["exit_code"] == 0
    assert runs["py-spy"]["exit_code"] == 0
    assert runs["py-spy"]["operations"] > 0


def test_summary_names_the_top_cpu_frames(capture_all: dict[str, Any]) -> None:
    summary = load_summary(capture_all["folder"])
    assert summary["pyspy"]["rate"] == 100
    assert summary["pyspy"]["native"] is False
    assert summary["pyspy"]["idle"] is False
    assert summary["pyspy"]["samples"] > 0
    by_self = summary["top_frames_self"]
    by_total = summary["top_frames_total"]
    assert by_self and by_total
    assert set(by_self[0]) >= {
        "function", "file", "line", "self_samples", "self_percent", "total_samples",
        "total_percent",
    }  # fmt: skip
    assert by_self == sorted(by_self, key=lambda item: -item["self_samples"])
    assert by_total == sorted(by_total, key=lambda item: -item["total_samples"])
    # The workload's function is on (almost) every sample; the driver is not listed at all.
    churn = next(item for item in by_total if item["function"] == "churn")
    assert churn["file"].endswith("tiny.py")
    assert churn["total_percent"] > 60
    assert by_total[0]["function"] == "churn"
    assert not any(item["file"].endswith("_driver.py") for item in by_self + by_total)
    assert all(item["self_samples"] <= item["total_samples"] for item in by_self)


def test_html_reports_are_sealed_offline(capture_all: dict[str, Any]) -> None:
    folder: Path = capture_all["folder"]
    for name in (
        "scalene.html",
        "memray-flamegraph.html",
        "memray-leaks.html",
        "pyspy-flamegraph.html",
    ):
        html = (folder / name).read_text(encoding="utf-8")
        assert "Content-Security-Policy" in html[:5000], name
        assert external_references(html) == [], name


def test_profiler_choice_runs_only_that_tool(project: Path, run_cli: RunCli) -> None:
    done = run_cli(
        "run", "tiny:churn", "--profiler", "memray", "--iterations", "2", "--kwargs",
        '{"size": 50}', "--out", "out", "-q", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    folder = Path(done.stdout.strip())
    folder = folder if folder.is_absolute() else project / folder
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["profilers"] == ["memray"]
    assert set(summary["tools"]) == {"memray", "python"}
    assert summary["top_cpu"] == [] and summary["top_lines"] == []
    assert "scalene_json" not in summary["files"]
    assert summary["target"] == "tiny:churn"
    assert summary["kwargs"] == {"size": 50}
    assert summary["runs"]["memray"]["calls"] >= 2
    assert not (folder / "scalene.json").exists()
    assert folder.name.endswith("-tiny.churn")


def test_crashing_workload_keeps_partial_profiles_and_exits_1(
    project: Path, run_cli: RunCli
) -> None:
    done = run_cli("run", "crashing", "--registry", "registry.json", "--out", "out", cwd=project)
    assert done.returncode == 1, done.stderr
    assert "ValueError: boom: the workload failed on purpose" in done.stderr
    assert "crashy.py" in done.stderr  # where it was raised
    folder = Path(done.stdout.strip())
    folder = folder if folder.is_absolute() else project / folder
    summary = load_summary(folder)
    assert len(summary["errors"]) == 3
    assert summary["errors"][0].startswith("scalene: the workload raised ValueError: boom")
    assert summary["errors"][1].startswith("memray: the workload raised ValueError: boom")
    assert summary["errors"][2].startswith("py-spy: the workload raised ValueError: boom")
    # The tools' output up to the crash is kept and summarised.
    assert summary["files"]["scalene_json"] == "scalene.json"
    assert any(item["function"] == "spin_then_fail" for item in summary["top_cpu"])
    assert summary["files"]["memray_bin"] == "memray.bin"
    assert summary["files"]["memray_flamegraph"] == "memray-flamegraph.html"
    assert (folder / "memray-flamegraph.html").stat().st_size > 0
    assert "Traceback" in (folder / "memray.log").read_text()
    assert summary["files"]["pyspy_folded"] == "pyspy.folded"
    assert any(item["function"] == "spin_then_fail" for item in summary["top_frames_total"])
