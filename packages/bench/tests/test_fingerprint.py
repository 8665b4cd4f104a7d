"""The environment fingerprint: git state through subprocess, machine facts, library versions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from perfkit_bench._fingerprint import collect


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
    )


def test_outside_git_commit_and_branch_are_empty(tmp_path: Path) -> None:
    found = collect(tmp_path)
    assert (found.commit, found.branch, found.dirty, found.short_commit) == ("", "", None, "")
    meta = found.metadata()
    assert "perfkit_commit" not in meta
    assert "perfkit_branch" not in meta
    assert "perfkit_dirty" not in meta


def test_machine_facts(tmp_path: Path) -> None:
    meta = collect(tmp_path).metadata()
    assert isinstance(meta["perfkit_cpu_count"], int)
    assert meta["perfkit_cpu_count"] >= 1
    assert meta["perfkit_cpu_model"]
    assert str(meta["perfkit_kernel"]).startswith("Linux ")
    assert re.fullmatch(r"CPython 3\.\d+\.\d+ \(.+\) \[.+\]", str(meta["perfkit_python"]))
    assert re.fullmatch(r"\d+\.\d\d,\d+\.\d\d,\d+\.\d\d", str(meta["perfkit_load_avg"]))
    libraries = json.loads(str(meta["perfkit_libraries"]))
    assert "pyperf" in libraries
    assert "perfkit-bench" in libraries
    assert "no-such-library" not in libraries
    assert all(isinstance(v, str) and v for v in meta.values() if isinstance(v, str))


@pytest.mark.skipif(
    subprocess.run(["git", "--version"], capture_output=True, check=False).returncode != 0,
    reason="git is not installed",
)
def test_inside_git(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "perf-branch")
    (tmp_path / "a.txt").write_text("1")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-q", "-m", "one")
    (tmp_path / "untracked.txt").write_text("ignored for dirty")
    clean = collect(tmp_path)
    assert re.fullmatch(r"[0-9a-f]{40}", clean.commit)
    assert clean.short_commit == clean.commit[:12]
    assert clean.branch == "perf-branch"
    assert clean.metadata()["perfkit_dirty"] == "false"

    (tmp_path / "a.txt").write_text("2")
    assert collect(tmp_path).metadata()["perfkit_dirty"] == "true"

    git(tmp_path, "checkout", "-q", "--detach")
    detached = collect(tmp_path)
    assert detached.branch == ""
    assert "perfkit_branch" not in detached.metadata()
