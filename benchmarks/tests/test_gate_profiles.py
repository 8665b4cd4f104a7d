"""The gate's --profile-regressions step for real: a copy of a benchmark whose ``route`` was made
three times slower on purpose is profiled on both sides by perfkit-profile (scalene, memray,
py-spy), diffed as JSON with its differential flame graph in the gate's out folder, and
perfkit-report appends the comment's section: the page's place in the artifact and ``route`` as
the function whose CPU self time grew most. The verdict is written here (the A/B detection is
test_gate.py's); everything after it is the gate's own code and the tools as processes."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from perfkit_bench._regression._profiles import profile_regressions

SHOP = """
import time

from perfkit_bench import benchmark

ROUTE = {route}


def parse():
    total = 0
    for i in range(300):
        total += i ^ 3
    return total


def route():
    total = 0
    for i in range(ROUTE):
        total += i * 7
    return total


def render():
    total = 0
    for i in range(300):
        total += i % 5
    return total


@benchmark("shop.handle", target="shop")
def handle(loops: int) -> float:
    t0 = time.thread_time()
    for _ in range(loops):
        parse()
        route()
        render()
    return time.thread_time() - t0
"""
MARKER = "<!-- perfkit-regression-gate -->"


@pytest.mark.timeout(600)
def test_the_slowed_frame_heads_the_comments_profile_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suites = {}
    for side, route in (("base", 300), ("head", 900)):
        folder = tmp_path / side / "benchmarks"
        folder.mkdir(parents=True)
        (folder / "shop.py").write_text(textwrap.dedent(SHOP.format(route=route)))
        suites[side] = folder
    out = tmp_path / "reports" / "regression"
    out.mkdir(parents=True)
    verdicts = [{"benchmark": "shop.handle", "channel": "time", "verdict": "regressed"}]
    (out / "verdict.json").write_text(json.dumps({"verdicts": verdicts}))
    (out / "comment.md").write_text(f"{MARKER}\n**❌ 1 regression**\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/perfkit")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    python = Path(sys.executable)
    profile_regressions(
        out, {"base": (python, suites["base"]), "head": (python, suites["head"])}, tmp_path
    )
    folder = out / "profile-diffs" / "shop.handle"
    assert (folder / "diff-flamegraph.html").is_file()
    diff = json.loads((folder / "diff.json").read_text(encoding="utf-8"))
    assert diff["frames"]["growing"][0]["function"] == "route"
    comment = (out / "comment.md").read_text(encoding="utf-8")
    assert comment.startswith(MARKER)
    assert "### <code>shop.handle</code>" in comment
    assert (
        "Differential CPU flame graph: <code>profile-diffs/shop.handle/diff-flamegraph.html</code>"
        " in [the `regression-report` artifact](https://github.com/o/perfkit/actions/runs/42)."
    ) in comment
    table = comment[comment.index("CPU self time that grew most") :]
    first_row = next(line for line in table.splitlines() if line.startswith("| <code>"))
    assert first_row.startswith("| <code>route</code> | <code>benchmarks/shop.py:")
