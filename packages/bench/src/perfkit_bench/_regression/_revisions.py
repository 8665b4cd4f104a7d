"""The revisions a check compares: the head (this checkout, clean unless allowed), the base
(``--base REF``, else the merge-base with the main branch), and the base's git worktree."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from perfkit_bench._exceptions import GateError

__all__ = ["Git", "Revision", "base_worktree", "head_revision", "resolve_base"]


class Git:
    """git in one checkout; a failing command raises :class:`GateError` with git's message."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *args], cwd=cwd or self.repo, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise GateError(f"git {' '.join(args)}: {done.stderr.strip() or 'failed'}")
        return done.stdout.strip()

    def is_commit(self, ref: str) -> bool:
        try:
            self("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GateError:
            return False
        return True


@dataclass(frozen=True)
class Revision:
    """A commit and the name the report gives it."""

    sha: str
    label: str


def head_revision(git: Git, *, allow_dirty: bool) -> Revision:
    """HEAD, labelled ``branch@sha8``; a dirty tree is refused unless ``allow_dirty``."""
    if git("status", "--porcelain", "--untracked-files=no") and not allow_dirty:
        raise GateError(
            "the working tree has uncommitted changes; commit or stash them, or pass "
            "--allow-dirty to measure the working tree as the head"
        )
    sha = git("rev-parse", "HEAD")
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    return Revision(sha, f"{branch}@{sha[:8]}")


def resolve_base(
    git: Git, base: str | None, main_branch: str, environ: Mapping[str, str] = os.environ
) -> Revision:
    """``base`` when given; else the merge-base of HEAD with ``origin/$GITHUB_BASE_REF`` (a
    pull request on GitHub Actions), ``origin/<main>`` or ``<main>``; ``HEAD^`` when HEAD is
    on the main branch itself."""
    if base:
        if not git.is_commit(base):
            raise GateError(
                f"--base {base!r} is not a commit here; pass a branch, tag or sha that "
                "exists (git fetch it first in a shallow clone)"
            )
        return Revision(git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}"), base)
    candidates = []
    if environ.get("GITHUB_BASE_REF"):
        candidates.append(f"origin/{environ['GITHUB_BASE_REF']}")
    candidates += [f"origin/{main_branch}", main_branch]
    for ref in candidates:
        if git.is_commit(ref):
            return _merge_base(git, ref)
    raise GateError(
        f"no main branch to take the merge-base with (tried {', '.join(candidates)}); "
        "pass --base REF or --main-branch NAME"
    )


def _merge_base(git: Git, ref: str) -> Revision:
    sha = git("merge-base", "HEAD", ref)
    if sha != git("rev-parse", "HEAD"):
        return Revision(sha, f"merge-base({ref})")
    # HEAD is on the main branch itself: gate its last commit.
    if not git.is_commit("HEAD^"):
        raise GateError(
            "HEAD is the first commit of the main branch: there is no base to compare "
            "with; pass --base REF or --against-baseline NAME"
        )
    return Revision(git("rev-parse", "HEAD^"), "HEAD^")


def base_worktree(git: Git, sha: str, work_dir: Path) -> Path:
    """A detached worktree of ``sha`` in ``work_dir/base-<sha12>``, reused when it is already
    there at that commit."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = (work_dir / f"base-{sha[:12]}").resolve()
    git("worktree", "prune")
    if path.exists():
        try:
            if git("rev-parse", "HEAD", cwd=path) == sha:
                return path
        except GateError:
            pass
        git("worktree", "remove", "--force", str(path))
    git("worktree", "add", "--detach", "--force", str(path), sha)
    return path
