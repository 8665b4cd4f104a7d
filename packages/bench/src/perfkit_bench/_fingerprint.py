"""The environment a run happened in: git state, CPU, kernel, Python, load and library versions.

Collected once at the start of a run and stored as ``perfkit_*`` metadata on every benchmark, so
a result file explains itself when compared with another one months later.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from perfkit_bench._spec import MetadataValue

__all__ = ["LIBRARIES", "Fingerprint", "collect"]

# Distributions whose versions decide what was measured: the perfkit packages, the libraries the
# runtime uses or is compared with (reference benchmarks), and the measuring tools themselves.
LIBRARIES: tuple[str, ...] = (
    "perfkit-runtime",
    "perfkit-bench",
    "perfkit-profile",
    "perfkit-report",
    "pykka",
    "orjson",
    "msgpack",
    "pyperf",
    "rich",
)

# git answers in milliseconds; a hung git (network filesystem, lock) must not stall a run.
_GIT_TIMEOUT = 5.0
# Twelve hex digits stay unique in large repositories; git's own --short grows past 7 there.
SHORT_COMMIT = 12


@dataclass(frozen=True)
class Fingerprint:
    """What :func:`collect` found. Empty strings mean "unknown" (outside a git repository...)."""

    commit: str
    branch: str
    dirty: bool | None
    cpu_model: str
    cpu_count: int
    kernel: str
    python: str
    load_avg: str
    libraries: dict[str, str] = field(default_factory=dict, hash=False)

    @property
    def short_commit(self) -> str:
        return self.commit[:SHORT_COMMIT]

    def metadata(self) -> dict[str, MetadataValue]:
        """The environment ``perfkit_*`` keys. pyperf rejects empty metadata strings, so unknown
        values (commit, branch and dirty outside a git repository) are left out."""
        meta: dict[str, MetadataValue] = {
            "perfkit_commit": self.commit,
            "perfkit_branch": self.branch,
            "perfkit_cpu_model": self.cpu_model,
            "perfkit_cpu_count": self.cpu_count,
            "perfkit_kernel": self.kernel,
            "perfkit_python": self.python,
            "perfkit_load_avg": self.load_avg,
            "perfkit_libraries": json.dumps(self.libraries, sort_keys=True),
        }
        if self.dirty is not None:
            meta["perfkit_dirty"] = "true" if self.dirty else "false"
        return {key: value for key, value in meta.items() if value != ""}


def collect(repo_dir: str | Path = ".") -> Fingerprint:
    """Fingerprint this machine, and the git checkout holding ``repo_dir``."""
    commit = _git(repo_dir, "rev-parse", "HEAD")
    branch = _git(repo_dir, "symbolic-ref", "--short", "-q", "HEAD") if commit else ""
    dirty: bool | None = None
    if commit:
        # Untracked files are ignored: results/ and scratch files must not mark a clean checkout
        # as dirty; a modified tracked file does.
        status = _git(repo_dir, "status", "--porcelain", "--untracked-files=no", strip=False)
        dirty = bool(status.strip())
    return Fingerprint(
        commit=commit,
        branch=branch,
        dirty=dirty,
        cpu_model=_cpu_model(),
        cpu_count=os.cpu_count() or 1,
        kernel=f"{platform.system()} {platform.release()}".strip(),
        python=_python(),
        load_avg=_load_avg(),
        libraries=_libraries(),
    )


def _git(repo_dir: str | Path, *args: str, strip: bool = True) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo_dir), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    if done.returncode != 0:
        return ""
    return done.stdout.strip() if strip else done.stdout


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model"):
                    return " ".join(value.split())
    except OSError:
        pass
    return " ".join(platform.processor().split()) or platform.machine()


def _python() -> str:
    build_name, build_date = platform.python_build()
    return " ".join(
        f"{platform.python_implementation()} {platform.python_version()} "
        f"({build_name}, {build_date}) [{platform.python_compiler()}]".split()
    )


def _load_avg() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return ""
    return f"{one:.2f},{five:.2f},{fifteen:.2f}"


def _libraries() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found
