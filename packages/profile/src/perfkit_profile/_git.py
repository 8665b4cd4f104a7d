"""The git state a capture belongs to: commit, branch and whether tracked files were modified."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GitState", "git_state"]

# git answers in milliseconds; a hung git (network filesystem, lock) must not stall a capture.
_TIMEOUT = 5.0
# Twelve hex digits, like perfkit-bench's result names: unique in large repositories, where
# git's own --short grows past 7.
_SHORT = 12


@dataclass(frozen=True)
class GitState:
    """Empty strings and None mean unknown (outside a git repository, detached HEAD)."""

    commit: str = ""
    branch: str = ""
    dirty: bool | None = None

    @property
    def short_commit(self) -> str:
        return self.commit[:_SHORT] if self.commit else "nocommit"


def git_state(where: Path) -> GitState:
    """The checkout holding ``where``."""
    commit = _git(where, "rev-parse", "HEAD")
    if not commit:
        return GitState()
    branch = _git(where, "symbolic-ref", "--short", "-q", "HEAD") or ""
    status = _git(where, "status", "--porcelain", "--untracked-files=no")
    return GitState(commit, branch, None if status is None else bool(status))


def _git(where: Path, *args: str) -> str | None:
    """git's stdout, or None when git is missing, fails or hangs."""
    try:
        done = subprocess.run(
            ["git", "-C", str(where), *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()
