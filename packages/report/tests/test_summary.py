"""The run summary: values, rates, ratios, goals, and escaping of everything a file supplied."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from perfkit_report import History, parse_targets
from perfkit_report._escape import escape_markdown, escape_terminal
from perfkit_report._render._summary import (
    render_json,
    render_markdown,
    render_rich,
    render_text,
    summarize_run,
)

TARGETS = """
version = 1
[[target]]
id = "routing.tell.direct"
max = 1e-6
[[target]]
id = "routing.tell.vs_*"
ratio_max = 0.6
[[target]]
id = "memory.*"
unit = "byte"
max = 1000
"""


def _summary(tmp_path: Path, path: Path, targets: str | None = TARGETS) -> Any:
    with History.open(tmp_path / "h.db") as history:
        run = history.run(history.ingest(path).run_id)
        return summarize_run(
            history, run, parse_targets(targets, "targets.toml") if targets else None
        )


def test_rows_carry_values_rates_ratios_and_goals(
    tmp_path: Path, perfkit_file: Callable[..., Path]
) -> None:
    summary = _summary(tmp_path, perfkit_file())
    rows = {row.benchmark: row for row in summary.rows}
    direct = rows["routing.tell.direct"]
    assert (direct.value_text, direct.rate_text, direct.check.status) == (
        "1.25 µs",
        "800k ops/s",
        "missed",
    )
    assert direct.check.reasons == ("1.25 µs > max 1.00 µs",)
    vs = rows["routing.tell.vs_queue"]
    assert vs.ratio == pytest.approx(0.5) and vs.ratio_text == "0.5x"
    assert (vs.check.status, vs.rule) == ("met", "routing.tell.vs_*")
    memory = rows["memory.history.per_message"]
    assert (memory.value_text, memory.rate, memory.check.status) == ("516 B", None, "met")
    latency = rows["load.tell.p99"]
    assert (latency.metric, latency.rate, latency.check.status) == ("p99", None, "none")


def test_text_table(tmp_path: Path, perfkit_file: Callable[..., Path]) -> None:
    text = render_text(
        _summary(tmp_path, perfkit_file(failed=[{"id": "x.y", "kind": "time", "error": "boom"}]))
    )
    lines = text.splitlines()
    assert "run 1" in lines[0] and "status partial" in lines[0] and "branch main" in lines[0]
    assert lines[1] == "targets: targets.toml"
    header = next(line for line in lines if line.startswith("benchmark"))
    assert header.split() == ["benchmark", "value", "ops/s", "unit", "target", "met?", "ratio"]
    direct = next(line for line in lines if line.startswith("routing.tell.direct"))
    assert direct.split() == [
        "routing.tell.direct",
        "1.25",
        "µs",
        "800k",
        "ops/s",
        "second",
        "routing",
        "missed",
    ]
    assert "- routing.tell.direct: 1.25 µs > max 1.00 µs" in lines
    assert "- x.y: failed (time): boom" in lines


EVIL_NAME = "evil|name`<script>alert(1)</script>&[link](http://x)@here*_"
EVIL_BRANCH = "<img src=x onerror=alert(1)>|"


def _evil_file(perfkit_file: Callable[..., Path], make_bench: Any) -> Path:
    return perfkit_file(
        benches=[
            make_bench(EVIL_NAME, [[1e-6]]),
            make_bench("[bold red]markup[/] \x1b[31mansi", [[2e-6]]),
        ],
        branch=EVIL_BRANCH,
        failed=[{"id": "a|b", "kind": "time", "error": "line one <b>|</b>"}],
    )


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def test_markdown_escapes_everything_from_the_file(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any
) -> None:
    markdown = render_markdown(_summary(tmp_path, _evil_file(perfkit_file, make_bench), None))
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 4
    assert all(_unescaped_pipes(line) == 8 for line in table)  # 7 columns, nothing added
    for raw in ("<script>", "<img", "<b>", "[link](http", "@here", "`<"):
        assert raw not in markdown
    assert (
        "evil\\|name\\`&lt;script&gt;alert(1)&lt;/script&gt;&amp;\\[link\\](http\\://x)@&#8288;here\\*\\_"
        in markdown
    )
    assert "\x1b" not in markdown and "\\x1b" in markdown
    assert "&lt;img src=x onerror=alert(1)&gt;\\|" in markdown


def test_escape_markdown_handles_newlines_and_backslashes() -> None:
    assert escape_markdown("a\nb\r\nc") == "a<br>b<br>c"
    assert escape_markdown("a\\|b") == "a\\\\\\|b"
    assert escape_terminal("ok") == "ok"
    assert escape_terminal("a\x1b[2Jb\n") == "a\\x1b[2Jb\\n"


def test_rich_output_never_reads_file_text_as_markup(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any
) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=250, color_system=None, force_terminal=False)
    render_rich(_summary(tmp_path, _evil_file(perfkit_file, make_bench), None), console)
    out = buffer.getvalue()
    assert "[bold red]markup[/]" in out
    assert "\x1b" not in out and "\\x1b[31mansi" in out
    assert EVIL_BRANCH in out
    assert "evil|name`<script>" in out


def test_json_output(tmp_path: Path, perfkit_file: Callable[..., Path]) -> None:
    document = json.loads(render_json(_summary(tmp_path, perfkit_file())))
    assert document["run"]["id"] == 1 and document["run"]["branch"] == "main"
    assert document["targets"] == "targets.toml"
    rows = {row["benchmark"]: row for row in document["rows"]}
    assert rows["routing.tell.direct"]["status"] == "missed"
    assert rows["routing.tell.direct"]["rate"] == pytest.approx(800_000)
    assert rows["routing.tell.vs_queue"]["ratio"] == pytest.approx(0.5)
    assert rows["routing.tell.vs_queue"]["reference"] == "routing.tell.asyncio_queue"


def test_missing_reference_is_noted(
    tmp_path: Path, perfkit_file: Callable[..., Path], make_bench: Any
) -> None:
    path = perfkit_file(benches=[make_bench("a.b", [[1e-6]], reference="a.gone")])
    (row,) = _summary(tmp_path, path, None).rows
    assert row.ratio is None
    assert row.check.reasons == ("reference 'a.gone' is not in this run",)
