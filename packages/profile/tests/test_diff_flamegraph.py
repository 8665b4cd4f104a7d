"""The differential flame graph on a real change: a frame made slower on purpose is found."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_profile._diff_json import DIFF_JSON_VERSION
from perfkit_profile._offline import external_references

RunCli = Callable[..., subprocess.CompletedProcess[str]]

pytestmark = pytest.mark.slow


def test_the_slowed_frame_is_the_hottest_growing_frame(pyspy_pair: dict[str, Any]) -> None:
    frames = pyspy_pair["diff"]["frames"]
    assert frames is not None, pyspy_pair["stderr"]
    assert frames["per_operation"] is True
    growing = frames["growing"]
    top = growing[0]
    assert (top["function"], top["file"]) == ("route", "benchmarks/shop.py")
    # route was about a third of A's time per operation (its loop costs a little more than
    # parse's and render's) and became three times as slow: about +65 % of A's time per
    # operation. Every other stage stayed where it was. Sampling on a loaded machine has read
    # +116 %, so the band only rules out a frame that did not grow or a unit error.
    assert 40 < top["change_percent"] < 200, growing
    others = [row for row in growing[1:] + frames["shrinking"] if row["function"] != "route"]
    assert all(abs(row["change_percent"]) < top["change_percent"] / 3 for row in others), others
    assert top["after_samples"] > top["before_samples"]


def test_diff_json_document(pyspy_pair: dict[str, Any]) -> None:
    document = pyspy_pair["diff"]
    assert document["version"] == DIFF_JSON_VERSION == 1
    assert document["target"] == "shop:handle"
    assert document["before"]["workload"] == document["after"]["workload"] == "shop:handle"
    assert set(document["functions"]) == {"cpu_percent", "bytes", "count"}
    assert document["frames_missing"] is None
    page = Path(document["frames"]["page"])
    assert page == pyspy_pair["head"] / "diff-flamegraph.html"
    assert set(document["frames"]["growing"][0]) == {
        "function", "file", "line", "before_samples", "after_samples", "before_percent",
        "after_percent", "change_percent",
    }  # fmt: skip


def test_the_page_is_written_into_b_and_sealed(pyspy_pair: dict[str, Any]) -> None:
    html = (pyspy_pair["head"] / "diff-flamegraph.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html[:2000]
    assert external_references(html) == []
    assert pyspy_pair["hostile"] not in html  # only ever as escaped JSON, shown as text


def test_out_folder_and_text_output(
    pyspy_pair: dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    base, head = str(pyspy_pair["base"]), str(pyspy_pair["head"])
    done = run_cli("diff", base, head, "--out", str(tmp_path / "pages"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pages" / "diff-flamegraph.html").is_file()
    # Per operation when both sides counted their operations, else in shares of samples (a side
    # that finished no operation within its budget on a loaded machine); the table either way.
    text = " ".join(done.stdout.split())
    assert re.search(
        r"CPU self time \(% of (A's time per operation|samples)\): functions that grew most", text
    ), done.stdout
    assert "│ route " in done.stdout
    assert f"Differential flame graph: {tmp_path / 'pages' / 'diff-flamegraph.html'}" in (
        done.stdout.replace("\n", "")
    )


def test_a_capture_without_py_spy_gets_no_page(
    pyspy_pair: dict[str, Any], capture_all: dict[str, Any], tmp_path: Path, run_cli: RunCli
) -> None:
    old = json.loads((capture_all["folder"] / "summary.json").read_text())
    old["version"] = 1
    for key in ("top_frames_self", "top_frames_total", "pyspy"):
        old.pop(key, None)
    old["files"] = {k: v for k, v in old["files"].items() if not k.startswith("pyspy")}
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "summary.json").write_text(json.dumps(old))
    done = run_cli(
        "diff", str(tmp_path / "v1"), str(pyspy_pair["head"]), "--format", "json",
        "--out", str(tmp_path / "none"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # a version 1 summary still reads
    document = json.loads(done.stdout)
    assert document["frames"] is None
    assert (
        "has no py-spy stacks (capture with --profiler py-spy or all)"
        in (document["frames_missing"])
    )
    assert "no differential flame graph" in done.stderr
    assert not (tmp_path / "none").exists()
