"""Every runnable example in the README is exercised, with tiny knobs (STYLE.md habit 3)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyperf

README = Path(__file__).resolve().parents[1] / "README.md"
TINY = ["--processes", "2", "--values", "2", "--warmups", "0", "--loops", "1"]


def code_blocks(language: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def test_example_suite_and_commands_run(tmp_path: Path) -> None:
    [suite] = [block for block in code_blocks("python") if block.startswith("# benchmarks/")]
    relative = suite.splitlines()[0].removeprefix("# ").strip()
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text(suite, encoding="utf-8")

    quickstart = code_blocks("")[0]
    commands = [
        line.split("#")[0].strip()
        for line in quickstart.splitlines()
        if line.startswith("perfkit-bench ")
    ]
    assert commands == ["perfkit-bench list", "perfkit-bench run --fast"]
    for command in commands:
        args = shlex.split(command)[1:]
        if args[0] == "run":
            args += [*TINY, "-o", "result.json", "-q"]
        done = subprocess.run(
            [sys.executable, "-m", "perfkit_bench", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)

    names = pyperf.BenchmarkSuite.load(str(tmp_path / "result.json")).get_benchmark_names()
    assert sorted(names) == sorted(
        [
            "queues.put_get.asyncio",
            "queues.put_get.deque",
            "queues.fill.10",
            "queues.fill.1000",
            "queues.footprint",
            "queues.handoff.p50",
            "queues.handoff.p95",
            "queues.handoff.p99",
            "queues.handoff.throughput",
        ]
    )
