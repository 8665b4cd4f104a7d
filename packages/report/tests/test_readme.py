"""Every command in the README's quick start runs, and its targets example is valid."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import parse_targets

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_targets_example_is_valid() -> None:
    (example,) = _blocks("toml")
    targets = parse_targets(example, "README.md")
    assert [rule.pattern for rule in targets.rules] == [
        "agent_spawning.spawn.*",
        "message_throughput.tell.asyncio",
        "concurrent_load.*.throughput",
    ]


def test_readme_quick_start_commands_run(
    tmp_path: Path, perfkit_file: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    quick_start = _blocks("console")[0]
    commands = [
        shlex.split(line.removeprefix("$ perfkit-report "))
        for line in quick_start.splitlines()
        if line.startswith("$ perfkit-report ")
    ]
    assert [c[0] for c in commands] == [
        "ingest",
        "summary",
        "summary",
        "baseline",
        "baseline",
        "prune",
        "render",
    ]
    perfkit_file("results.json")
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "targets.toml").write_text(_blocks("toml")[0], encoding="utf-8")
    for command in commands:
        result = run_cli(*command)
        assert result.returncode == 0, (command, result.stderr)
        assert result.stdout
    assert (tmp_path / "reports" / "index.html").is_file()


def test_readme_python_example_runs(
    tmp_path: Path, perfkit_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    (example,) = _blocks("python")
    perfkit_file("results.json")
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "targets.toml").write_text(_blocks("toml")[0], encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(example, "README.md", "exec"), namespace)
    assert namespace["run"].id == namespace["result"].run_id
    assert len(namespace["rows"]) == 1
    assert len(namespace["targets"].rules) == 3
