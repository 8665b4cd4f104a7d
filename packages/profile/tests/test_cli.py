"""The command line: targets from a registry, bad input and its exit codes, missing profilers."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from perfkit_profile import _tool
from perfkit_profile._cli import main
from perfkit_profile._registry import default_entry, parse_registry

RunCli = Callable[..., subprocess.CompletedProcess[str]]

REAL_LIKE = [
    # Registry order as perfkit-bench lists it: a reference baseline first, then the runtime.
    {"id": "mt.reference.queue", "target": "routing", "kind": "time", "func": "mt:ref"},
    {
        "id": "mt.tell.asyncio",
        "target": "routing",
        "kind": "time",
        "func": "mt:tell",
        "reference": "mt.reference.queue",
    },
    {"id": "mt.footprint", "target": "spawning", "kind": "bytes", "func": "mt:footprint"},
    {"id": "mt.latency", "target": "load", "kind": "latency", "func": "mt:lat"},
]


def test_default_workload_skips_references_and_prefers_time() -> None:
    entries = parse_registry(json.dumps(REAL_LIKE), "test")
    assert default_entry(entries, "routing").id == "mt.tell.asyncio"
    assert default_entry(entries, "spawning").id == "mt.footprint"  # no time benchmark


def test_list_shows_targets_and_defaults(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--registry", "registry.json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TARGET", "BENCHMARKS", "DEFAULT", "WORKLOAD"]
    assert lines[1].split()[:3] == ["churning", "2", "tiny.churn"]
    assert lines[2].split()[:3] == ["crashing", "1", "tiny.crash"]
    assert main(["list", "--registry", "registry.json", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["churning"] == {
        "default": "tiny.churn",
        "func": "tiny:churn",
        "call_kwargs": {"size": 300},
        "benchmarks": ["tiny.churn", "tiny.footprint"],
    }


def test_unknown_target_is_exit_2_listing_valid_targets(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "nope", "--registry", "registry.json"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "perfkit-profile: error: unknown target 'nope'; valid targets: churning, crashing\n"
    )
    assert not (project / "profiles").exists()  # nothing was written


def test_unknown_benchmark_of_a_target_is_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "churning", "--registry", "registry.json", "--benchmark", "x.y"]) == 2
    assert "its benchmarks: tiny.churn, tiny.footprint" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "is not JSON"),
        ('{"id": "x"}', "expected a JSON list"),
        ('[{"id": "a.b", "target": "t", "kind": "time"}]', "entry 0 has no string 'func'"),
        (
            '[{"id": "a.b", "target": "t", "kind": "time", "func": "nocolon"}]',
            "not 'module:function'",
        ),
    ],
)
def test_bad_registry_is_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    (project / "bad.json").write_text(content)
    assert main(["run", "t", "--registry", "bad.json"]) == 2
    assert message in capsys.readouterr().err


def test_missing_registry_file_is_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--registry", "missing.json"]) == 2
    assert "perfkit-bench list --json > FILE" in capsys.readouterr().err


def test_no_registry_and_no_perfkit_bench_names_both_fixes(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "perfkit_bench" else real(name, *a),
    )
    assert main(["run", "routing"]) == 2
    err = capsys.readouterr().err
    assert "pass --registry FILE" in err
    assert "install perfkit-bench" in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tiny:", "expected MODULE:FUNCTION"),
        ("9bad:f", "is not a module name"),
        ("missing.py:f", "the file missing.py does not exist"),
        ("nosuchmodule:f", "ModuleNotFoundError: No module named 'nosuchmodule'"),
        ("tiny:nosuchfunction", "AttributeError"),
        ("tiny:HELD", "is not callable"),
    ],
)
def test_bad_function_spec_is_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], spec: str, message: str
) -> None:
    assert main(["run", spec, "-q"]) == 2
    assert message in capsys.readouterr().err
    assert not (project / "profiles").exists()


def test_benchmark_option_needs_a_target(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "tiny:churn", "--benchmark", "x"]) == 2
    assert "drop it for MODULE:FUNCTION" in capsys.readouterr().err


def test_bad_option_values_are_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (
        ["run", "x", "--duration", "0"],
        ["run", "x", "--duration", "1", "--iterations", "2"],
        ["run", "x", "--kwargs", "[1]"],
        ["run", "x", "--profiler", "cprofile"],
        ["diff", "a", "b", "--format", "html"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2, argv
    capsys.readouterr()
    assert main([]) == 2


@pytest.mark.parametrize("missing", ["scalene", "memray", "py-spy"])
def test_missing_profiler_names_the_extra(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    missing: str,
) -> None:
    def version(name: str) -> str:
        if name == missing:
            raise importlib.metadata.PackageNotFoundError(name)
        return importlib.metadata.version(name)

    monkeypatch.setattr(_tool, "_metadata_version", version)
    assert main(["run", "churning", "--registry", "registry.json"]) == 2
    err = capsys.readouterr().err
    assert f"{missing} is not installed in this environment" in err
    assert f"pip install 'perfkit-profile[{missing}]'" in err
    assert not (project / "profiles").exists()


def test_too_old_profiler_is_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        _tool, "_metadata_version", lambda name: "1.9.0" if name == "scalene" else "1.20.0"
    )
    assert main(["run", "tiny:churn", "--profiler", "scalene"]) == 2
    assert (
        "scalene 1.9.0 is too old (perfkit-profile needs scalene >= 2.4)" in capsys.readouterr().err
    )


def test_memray_on_an_unsupported_platform_says_why(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_tool.sys, "platform", "win32")
    assert main(["run", "tiny:churn", "--profiler", "memray"]) == 2
    assert "memray runs on Linux and macOS only, not win32" in capsys.readouterr().err


def test_python_dash_m_is_the_same_command(project: Path, run_cli: RunCli) -> None:
    done = run_cli("list", "--registry", "registry.json", cwd=project)
    assert done.returncode == 0
    assert done.stdout.startswith("TARGET")
    done = run_cli("run", "nope", "--registry", "registry.json", cwd=project)
    assert done.returncode == 2
    assert done.stdout == ""
