"""The perfkit-bench command line: list output, argument errors and their exit codes."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from perfkit_bench._cli import main
from perfkit_bench._run._orchestrator import RunOptions, _pyperf_args

RunCli = Callable[..., subprocess.CompletedProcess[str]]
WriteSuite = Callable[..., Path]

SUITE = """
from perfkit_bench import benchmark

@benchmark("routing.tell.asyncio", target="routing", inner_loops=10)
def tell(loops):
    return 1.0

@benchmark("routing.footprint", target="spawning", kind="bytes")
def footprint():
    return 1.0

@benchmark("routing.load", target="load", kind="latency")
def load():
    return {"p50": 1.0, "p95": 1.0, "p99": 1.0}
"""


@pytest.fixture
def suites(write_suite: WriteSuite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_suite("routing", SUITE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_list_table(suites: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "ID                    TARGET    KIND     UNIT",
        "routing.tell.asyncio  routing   time     second",
        "routing.footprint     spawning  bytes    byte",
        "routing.load          load      latency  second",
    ]


def test_list_json_with_filters(suites: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "benchmarks", "--target", "routing", "--target", "load", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["id"] for item in listed] == ["routing.tell.asyncio", "routing.load"]
    assert listed[0]["inner_loops"] == 10
    assert listed[0]["func"] == "routing:tell"


def test_unknown_suite_is_exit_2_with_the_valid_names(
    suites: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["list", "--suite", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("perfkit-bench: error: unknown suite 'nope'; valid suites: routing")
    assert err.count("\n") == 1


def test_unknown_target_on_run_is_exit_2(suites: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--target", "nope"]) == 2
    assert "valid targets: load, routing, spawning" in capsys.readouterr().err


def test_missing_suite_path_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_default_path_missing_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["list"]) == 2
    assert "'benchmarks' does not exist" in capsys.readouterr().err


def test_no_benchmarks_to_run_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["run", str(tmp_path / "empty")]) == 2
    assert "no benchmarks found" in capsys.readouterr().err


def test_broken_suite_is_exit_2(
    write_suite: WriteSuite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_suite("broken", "1 / 0\n")
    assert main(["run", str(path.parent)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "ZeroDivisionError" in err


def test_bad_affinity_is_exit_2(suites: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--affinity", "zero"]) == 2
    assert "--affinity 'zero'" in capsys.readouterr().err


def test_bad_knob_is_exit_2(suites: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--processes", "0"])
    assert info.value.code == 2


def test_fast_and_rigorous_exclude_each_other(suites: Path) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--fast", "--rigorous"])
    assert info.value.code == 2


def test_no_command_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_existing_output_refused_before_running(
    suites: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (suites / "taken.json").write_text("{}")
    assert main(["run", "-o", "taken.json"]) == 2
    err = capsys.readouterr().err
    assert "will not overwrite without --force: taken.json" in err
    assert (suites / "taken.json").read_text() == "{}"


def test_python_dash_m_and_console_script(run_cli: RunCli, tmp_path: Path) -> None:
    done = run_cli("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "list" in done.stdout
    assert "run" in done.stdout
    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert scripts["perfkit-bench"].value == "perfkit_bench._cli:main"


# The default mode's own numbers (see _pyperf_args: pyperf's defaults take over an hour here).
DEFAULT = ["--processes", "10", "--values", "3", "--min-time", "0.05"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (RunOptions(), DEFAULT),
        (
            RunOptions(mode="fast"),
            ["--processes", "3", "--values", "2", "--warmups", "0", "--min-time", "0.02"],
        ),
        (RunOptions(mode="rigorous"), ["--rigorous"]),
        # pyperf --fast would overwrite explicit counts, so counts replace the mode.
        (RunOptions(mode="fast", processes=2), ["--processes", "2"]),
        (
            RunOptions(values=2, warmups=0, min_time=0.001, loops=3, affinity="0"),
            [
                "--values",
                "2",
                "--warmups",
                "0",
                "--min-time",
                "0.001",
                "--loops",
                "3",
                "--affinity=0",
            ],
        ),
        (RunOptions(inherit_environ=("A", "B")), [*DEFAULT, "--inherit-environ", "A,B"]),
        (RunOptions(inherit_environ=("A",), copy_env=True), [*DEFAULT, "--copy-env"]),
    ],
)
def test_pyperf_arguments(options: RunOptions, expected: list[str]) -> None:
    assert _pyperf_args(options) == expected


def test_recorded_mode() -> None:
    assert RunOptions().recorded_mode == "default"
    assert RunOptions(mode="rigorous").recorded_mode == "rigorous"
    assert RunOptions(mode="fast", warmups=0).recorded_mode == "custom"
    assert RunOptions(affinity="0").recorded_mode == "default"
