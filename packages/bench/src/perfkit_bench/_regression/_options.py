"""What the gate is asked (``GateOptions``: today's ``nox -s regression --`` options) and where it
works (``Workspace``: the checkout, its suites and targets, what each side's environment holds;
the composition root, noxfile.py, passes these)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

__all__ = ["DEFAULT_PAIRS", "FailOn", "GateOptions", "InstallerChoice", "Workspace"]

FailOn: TypeAlias = Literal["minor", "major", "critical"]
InstallerChoice: TypeAlias = Literal["auto", "uv", "pip"]

# 12 process pairs of slices: Yuen's test cuts 2 pairs at each end and keeps 8 (7 degrees of
# freedom), so one or two wild pairs cannot decide, and the quick check's A/A gave minimum
# detectable effects of 0.5-1.3 % with 100 slices a pair; inconclusive benchmarks get more pairs
# while the budget lasts (docs/regression.md, "Slices").
DEFAULT_PAIRS = 12
# Seconds for the whole check: a pull request's job should end within about 10 minutes here;
# the quick check (tell/ask, time channel only) within about 2.
FULL_BUDGET = 600.0
QUICK_BUDGET = 120.0


@dataclass(frozen=True)
class GateOptions:
    """One check: which revisions, which benchmarks, how long, and what fails it."""

    base: str | None = None
    against_baseline: str | None = None
    aa: bool = False
    main_branch: str = "main"
    quick: bool = False
    pairs: int | None = None
    budget: float | None = None
    suites: tuple[str, ...] = ()
    target: str | None = None
    pattern: str | None = None
    fail_on: FailOn = "minor"
    fail_on_inconclusive: bool = False
    out: Path = Path("reports/regression")
    db: Path = Path("history.db")
    no_store: bool = False
    no_instructions: bool = False
    allow_dirty: bool = False
    profile_regressions: bool = False
    include_references: bool = False
    affinity: str | None = None
    seed: int | None = None
    inject_head: float | None = None
    collect_only: bool = False

    @property
    def pairs_wanted(self) -> int:
        return self.pairs or DEFAULT_PAIRS

    @property
    def budget_seconds(self) -> float:
        return self.budget or (QUICK_BUDGET if self.quick else FULL_BUDGET)

    @property
    def counts_instructions(self) -> bool:
        """The full check counts instructions; quick checks and evaluation runs do not."""
        return not (self.no_instructions or self.collect_only or self.quick)


@dataclass(frozen=True)
class Workspace:
    """The head checkout and how to build an environment for a side.

    ``measured`` are package folders (relative to a checkout, extras allowed) that each side
    installs from its own revision; ``install`` are installed the same on both sides (a folder
    of this checkout, or a requirement). ``quick_only`` and ``default_suites`` are the benchmarks
    of the quick and the full check when no filter is given."""

    repo: Path = Path()
    suites: Path = Path("benchmarks")
    targets: Path = Path("benchmarks/targets.toml")
    work_dir: Path = Path(".nox/regression")
    head_python: Path = field(default_factory=lambda: Path(sys.executable))
    measured: tuple[str, ...] = ()
    install: tuple[str, ...] = ()
    profile_install: tuple[str, ...] = ()
    quick_only: tuple[str, ...] = ()
    default_suites: tuple[str, ...] = ()
    installer: InstallerChoice = "auto"
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    reproduce: str = "perfkit-bench regression"

    def head_suites(self) -> Path:
        return (self.repo / self.suites).resolve()
