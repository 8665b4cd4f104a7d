"""py-spy captures: folded stacks, the CPU flame graph, its options, and a kernel that says no."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_profile import load_summary
from perfkit_profile._folded import DRIVER, build_tree, parse_folded, workload_stacks
from perfkit_profile._offline import external_references
from perfkit_profile._pyspy import PySpySettings, permission_problem, record_command

RunCli = Callable[..., subprocess.CompletedProcess[str]]

NOPTRACE = Path(__file__).with_name("noptrace.py")

# A call workload that computes for 0.15 s, then sleeps for 0.3 s.
NAPPER = """
import time


def busy_then_nap():
    end = time.process_time() + 0.15
    while time.process_time() < end:
        sum(i * i for i in range(500))
    nap()


def nap():
    time.sleep(0.3)
"""

# py-spy 0.4.3's own words: a container whose seccomp profile denies ptrace, and macOS.
DOCKER_LOG = """\
py-spy> Sampling process 100 times a second. Press Control-C to exit.

Error: Failed to suspend process

Caused by:
    0: EPERM: Operation not permitted
    1: EPERM: Operation not permitted
"""
MACOS_LOG = (
    "Error: This program requires root on OSX.\\nTry running again with elevated permissions"
)


def _folder(done: subprocess.CompletedProcess[str], root: Path) -> Path:
    folder = Path(done.stdout.strip().splitlines()[-1])
    return folder if folder.is_absolute() else root / folder


def test_permission_problems_name_every_fix() -> None:
    message = permission_problem(DOCKER_LOG)
    assert message is not None
    assert "(Failed to suspend process: EPERM: Operation not permitted)" in message
    for fix in ("run as root", "--cap-add SYS_PTRACE", "kernel.yama.ptrace_scope"):
        assert fix in message
    assert "\\n" not in message
    assert permission_problem(MACOS_LOG) is not None
    assert permission_problem("Error: Failed to find python version from target process") is None


def test_record_command_passes_the_options_through() -> None:
    plain = record_command(PySpySettings(), Path("out.folded"), ["python", "x.py"])
    assert plain[1:] == [
        "record", "--format", "raw", "--function", "--full-filenames", "--rate", "100",
        "--output", "out.folded", "--", "python", "x.py",
    ]  # fmt: skip
    every = record_command(PySpySettings(250, native=False, idle=True), Path("o"), ["p"])
    assert every[every.index("--rate") + 1] == "250"
    assert "--idle" in every
    assert "--native" not in every


@pytest.mark.slow
def test_pyspy_capture(project: Path, run_cli: RunCli) -> None:
    done = run_cli(
        "run", "tiny:churn", "--profiler", "py-spy", "--duration", "1", "--rate", "200",
        "--out", "out", "-q", cwd=project,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = _folder(done, project)
    summary = load_summary(folder)
    assert summary["profilers"] == ["py-spy"]
    assert set(summary["tools"]) == {"py-spy", "python"}
    assert summary["files"]["pyspy_folded"] == "pyspy.folded"
    assert summary["files"]["pyspy_flamegraph"] == "pyspy-flamegraph.html"
    assert summary["pyspy"] == {
        "rate": 200,
        "native": False,
        "idle": False,
        "samples": summary["pyspy"]["samples"],
        "sampling_errors": summary["pyspy"]["sampling_errors"],
    }
    stacks = parse_folded((folder / "pyspy.folded").read_text())
    assert sum(count for _, count in stacks) == summary["pyspy"]["samples"] > 100
    assert any(frame.function == "churn" for frames, _ in stacks for frame in frames)
    # In the graph the workload is a root, and the driver (importing it, bookkeeping) is one
    # small frame.
    tree = build_tree(workload_stacks(stacks))
    churn = tree.children[("churn", "benchmarks/tiny.py")]
    assert churn.total > 0.7 * tree.total
    driver = tree.children.get(DRIVER.key)
    assert driver is None or driver.total < 0.3 * tree.total
    command = summary["runs"]["py-spy"]["command"]
    assert command[command.index("--rate") + 1] == "200"
    html = (folder / "pyspy-flamegraph.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html[:2000]
    assert external_references(html) == []
    assert len(html) < 200_000  # the renderer is ~129 KiB; the tree of a tiny workload is small


@pytest.mark.slow
def test_idle_threads_are_left_out_unless_asked(project: Path, run_cli: RunCli) -> None:
    (project / "benchmarks" / "napper.py").write_text(textwrap.dedent(NAPPER))
    naps = {}
    for flag in ([], ["--idle"]):
        done = run_cli(
            "run", "napper:busy_then_nap", "--profiler", "py-spy", "--iterations", "3",
            "--out", "out", "-q", *flag, cwd=project,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        summary = load_summary(_folder(done, project))
        assert summary["pyspy"]["idle"] is bool(flag)
        nap = [row for row in summary["top_frames_self"] if row["function"] == "nap"]
        naps[bool(flag)] = nap[0]["self_samples"] if nap else 0
    # 0.9 s asleep in nap: about 90 samples with --idle, (almost) none without.
    assert naps[True] > 40
    assert naps[False] < naps[True] / 4


@pytest.mark.slow
def test_native_frames_where_py_spy_unwinds_them(project: Path, run_cli: RunCli) -> None:
    done = run_cli(
        "run", "tiny:churn", "--profiler", "py-spy", "--duration", "1", "--native",
        "--out", "out", "-q", cwd=project,
    )  # fmt: skip
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        assert done.returncode == 2
        assert "drop --native" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    folder = _folder(done, project)
    assert load_summary(folder)["pyspy"]["native"] is True
    files = {frame.file for frames, _ in parse_folded((folder / "pyspy.folded").read_text())
             for frame in frames}  # fmt: skip
    assert any(".so" in file for file in files), sorted(files)[:10]


def _blocked(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """perfkit-profile in a process where the kernel refuses ptrace (see noptrace.py)."""
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        pytest.skip("the seccomp filter of noptrace.py is written for x86-64 Linux")
    return subprocess.run(
        [sys.executable, str(NOPTRACE), sys.executable, "-m", "perfkit_profile", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_without_ptrace_py_spy_alone_is_exit_2_and_writes_nothing(project: Path) -> None:
    done = _blocked("run", "tiny:churn", "--profiler", "py-spy", "--out", "out", "-q", cwd=project)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("perfkit-profile: error: py-spy cannot read the workload's process")
    assert "EPERM" in lines[0]
    for fix in ("run as root", "--cap-add SYS_PTRACE", "kernel.yama.ptrace_scope"):
        assert fix in lines[0]
    assert not (project / "out").exists()


@pytest.mark.slow
def test_without_ptrace_the_other_profilers_still_run(project: Path) -> None:
    done = _blocked(
        "run", "tiny:churn", "--kwargs", '{"size": 100}', "--duration", "0.4", "--out", "out",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    folder = _folder(done, project)
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["profilers"] == ["scalene", "memray"]
    assert (folder / "scalene.html").is_file()
    assert (folder / "memray-flamegraph.html").is_file()
    assert not (folder / "pyspy.folded").exists()
    assert len(summary["errors"]) == 1
    assert "--cap-add SYS_PTRACE" in summary["errors"][0]
    assert summary["top_frames_self"] == [] and "pyspy" not in summary
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("perfkit-profile: error: py-spy cannot read the workload's process")
    assert error.endswith(f"the other profilers' outputs are in {done.stdout.strip()}")


def test_pyspy_pair_fixture_is_sane(pyspy_pair: dict[str, Any]) -> None:
    for side in ("base", "head"):
        assert load_summary(pyspy_pair[side])["pyspy"]["rate"] == 200
