"""The gate's revisions, on real git repositories made in tmp_path: the head (dirty or not), the
base (--base, the merge-base with main or origin/$GITHUB_BASE_REF, HEAD^ on main) and its
worktree."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from perfkit_bench import PerfkitBenchError
from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._revisions import Git, base_worktree, head_revision, resolve_base


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def commit(repo: Path, name: str, text: str = "x") -> str:
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", name)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """main: a -> b; feature (checked out): b -> c -> d."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit(path, "a")
    commit(path, "b")
    git(path, "checkout", "-q", "-b", "feature")
    commit(path, "c")
    commit(path, "d")
    return path


def test_gate_errors_are_perfkit_bench_errors() -> None:
    assert issubclass(GateError, PerfkitBenchError)


def test_head_is_labelled_with_its_branch(repo: Path) -> None:
    head = head_revision(Git(repo), allow_dirty=False)
    assert head.sha == git(repo, "rev-parse", "HEAD")
    assert head.label == f"feature@{head.sha[:8]}"


def test_a_dirty_tree_is_refused_unless_allowed(repo: Path) -> None:
    (repo / "a").write_text("changed")
    with pytest.raises(GateError, match="uncommitted changes; commit or stash them"):
        head_revision(Git(repo), allow_dirty=False)
    assert head_revision(Git(repo), allow_dirty=True).sha == git(repo, "rev-parse", "HEAD")


def test_untracked_files_do_not_make_the_tree_dirty(repo: Path) -> None:
    (repo / "scratch.txt").write_text("notes")
    head_revision(Git(repo), allow_dirty=False)


def test_the_default_base_is_the_merge_base_with_main(repo: Path) -> None:
    base = resolve_base(Git(repo), None, "main", environ={})
    assert base.sha == git(repo, "rev-parse", "main")
    assert base.label == "merge-base(main)"


def test_a_pull_request_takes_the_merge_base_with_its_base_branch(repo: Path) -> None:
    git(repo, "branch", "release", "feature~1")
    git(repo, "update-ref", "refs/remotes/origin/release", "release")
    base = resolve_base(Git(repo), None, "main", environ={"GITHUB_BASE_REF": "release"})
    assert base.sha == git(repo, "rev-parse", "feature~1")
    assert base.label == "merge-base(origin/release)"


def test_on_main_the_base_is_the_previous_commit(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    base = resolve_base(Git(repo), None, "main", environ={})
    assert base.sha == git(repo, "rev-parse", "main~1")
    assert base.label == "HEAD^"


def test_the_first_commit_of_main_has_no_base(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, "a")
    with pytest.raises(GateError, match="first commit of the main branch"):
        resolve_base(Git(tmp_path), None, "main", environ={})


def test_a_named_base(repo: Path) -> None:
    base = resolve_base(Git(repo), "HEAD~2", "main", environ={})
    assert base.sha == git(repo, "rev-parse", "HEAD~2")
    assert base.label == "HEAD~2"


def test_an_unknown_base_names_the_fix(repo: Path) -> None:
    with pytest.raises(GateError, match="--base 'nope' is not a commit here"):
        resolve_base(Git(repo), "nope", "main", environ={})


def test_no_main_branch_names_the_fix(repo: Path) -> None:
    with pytest.raises(GateError, match=r"tried origin/trunk, trunk\); pass --base REF"):
        resolve_base(Git(repo), None, "trunk", environ={})


def test_the_base_worktree_is_made_then_reused(repo: Path, tmp_path: Path) -> None:
    sha = git(repo, "rev-parse", "main")
    work = tmp_path / "work"
    path = base_worktree(Git(repo), sha, work)
    assert path == (work / f"base-{sha[:12]}").resolve()
    assert git(path, "rev-parse", "HEAD") == sha
    assert not (path / "c").exists()  # the base's files, not the head's
    (path / "marker").write_text("kept")
    assert base_worktree(Git(repo), sha, work) == path
    assert (path / "marker").read_text() == "kept"


def test_a_worktree_moved_to_another_commit_is_made_again(repo: Path, tmp_path: Path) -> None:
    sha = git(repo, "rev-parse", "main")
    path = base_worktree(Git(repo), sha, tmp_path / "work")
    git(path, "checkout", "-q", "--detach", "feature")
    assert base_worktree(Git(repo), sha, tmp_path / "work") == path
    assert git(path, "rev-parse", "HEAD") == sha
