"""The time channel of a check: ``perfkit-bench ab`` between the two sides' interpreters, and
``--append`` sessions that add pairs to the benchmarks the check could not decide yet."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from perfkit_bench._exceptions import GateError
from perfkit_bench._regression._options import GateOptions
from perfkit_bench._regression._tools import Clock, log, run_tool

__all__ = ["Pairs"]

# The timed pairs get at least this many seconds, even when counting instructions spent the
# budget: a check with no pair has no time channel at all.
_MIN_SECONDS = 60.0
# Pairs of the benchmarks measured in process pairs (bytes, counts, latency: one call per fresh
# process): byte metrics repeat to the byte or nearly, and 4 pairs decide them; a worker process
# costs ~0.3 s of start-up, which the slices need more. More pairs come with --needs-more.
PROCESS_PAIRS = 4


@dataclass(frozen=True)
class Pairs:
    """The A/B session of one check, in ``out/ab``."""

    base: tuple[Path, Path]
    head: tuple[Path, Path]
    out: Path
    selection: list[str]
    options: GateOptions
    affinity: str | None = None
    """The CPUs of the timed slices (default: ``--affinity``, else the last CPU, ab's choice)."""

    @property
    def directory(self) -> Path:
        return self.out / "ab"

    def command(self) -> list[str]:
        (base_python, base_suites), (head_python, head_suites) = self.base, self.head
        command = [
            str(head_python),
            "-m",
            "perfkit_bench",
            "ab",
            "--base-python",
            str(base_python),
            "--base-suites",
            str(base_suites),
            "--head-python",
            str(head_python),
            "--head-suites",
            str(head_suites),
            "--out-dir",
            str(self.directory),
            *self.selection,
        ]
        if not self.options.include_references:
            command.append("--exclude-references")
        command += ["--process-pairs", str(PROCESS_PAIRS)]
        for flag, value in (
            ("--affinity", self.affinity or self.options.affinity),
            ("--seed", self.options.seed),
            ("--inject-head", self.options.inject_head),
        ):
            if value is not None:
                command += [flag, str(value)]
        return command

    def run(self, clock: Clock) -> None:
        """A fresh session of ``pairs`` pairs within what is left of the budget;
        :class:`GateError` when it produced no result."""
        if self.directory.exists():
            shutil.rmtree(self.directory)
        remaining = clock.remaining()
        if remaining < _MIN_SECONDS:
            log("the budget is spent before the timed pairs; giving them 60 s anyway")
            remaining = _MIN_SECONDS
        pairs = ["--pairs", str(self.options.pairs_wanted), "--budget", f"{remaining:.0f}"]
        code = run_tool("perfkit-bench ab", [*self.command(), *pairs])
        if code == 2 or not (self.directory / "base.json").exists():
            raise GateError("the A/B run produced no result (see above); no verdict")

    def append(self, ids: list[str], pairs: int, seconds: float) -> None:
        """Up to ``pairs`` more pairs of the benchmarks ``ids``, within ``seconds``."""
        only = [arg for bench_id in ids for arg in ("--only", bench_id)]
        more = ["--append", *only, "--pairs", str(pairs), "--budget", f"{seconds:.0f}"]
        run_tool("perfkit-bench ab", [*self.command(), *more])
