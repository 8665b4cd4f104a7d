"""The verdict of a check: ``perfkit-report check`` with ``--needs-more`` while the budget lasts
(inconclusive time benchmarks get more pairs between two checks), then the final check, which
writes verdict.json and comment.md and records the check in history.db."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit_bench._regression._options import GateOptions, Workspace
from perfkit_bench._regression._pairs import Pairs
from perfkit_bench._regression._tools import Clock, log, run_tool

__all__ = ["Check", "MoreWanted", "check_until_conclusive", "more_wanted"]

# Below this many seconds left, another round of pairs and checks is not worth starting; the
# appended pairs stop this much before the budget so the final check still fits in it.
_LAST_ROUND = 30.0
_CHECK_MARGIN = 15.0


@dataclass(frozen=True)
class Check:
    """``perfkit-report check`` of one check, run by the head's interpreter."""

    options: GateOptions
    workspace: Workspace
    head_label: str
    inputs: tuple[str, ...] = ()

    def command(self, *extra: str) -> list[str]:
        command = [
            str(self.workspace.head_python),
            "-m",
            "perfkit_report",
            "check",
            "--targets",
            str(self.workspace.targets),
            "--db",
            str(self.options.db),
            "--out-dir",
            str(self.options.out),
            "--head-label",
            self.head_label,
            "--fail-on",
            self.options.fail_on,
        ]
        if self.options.fail_on_inconclusive:
            command.append("--fail-on-inconclusive")
        return [*command, *self.inputs, *extra]

    def with_inputs(self, *inputs: str) -> Check:
        return Check(self.options, self.workspace, self.head_label, (*self.inputs, *inputs))

    def run(self, *extra: str) -> int:
        return run_tool("perfkit-report check", self.command(*extra))

    def final(self) -> int:
        """The check that counts: stored in history.db unless ``--no-store``."""
        return self.run(*(["--no-store"] if self.options.no_store else []))


@dataclass(frozen=True)
class MoreWanted:
    """What a ``--needs-more`` file asks for: the time benchmarks to extend, and by how many
    pairs (the largest suggestion minus the pairs they have)."""

    ids: list[str]
    extra: int


def more_wanted(path: Path, pairs: int) -> MoreWanted:
    """Read perfkit-report's ``--needs-more`` file (version 1: ``{"benchmarks": [...]}``; a bare
    list is read too)."""
    wanted: Any = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    if isinstance(wanted, dict):
        wanted = wanted.get("benchmarks", [])
    if not wanted:
        return MoreWanted([], 0)
    ids = sorted(
        {str(item["benchmark"]) for item in wanted if item.get("channel", "time") == "time"}
    )
    extra = max(int(item.get("suggested", pairs)) for item in wanted) - pairs
    return MoreWanted(ids, extra)


def check_until_conclusive(check: Check, pairs: Pairs, clock: Clock) -> int:
    """Check; while the budget lasts and inconclusive time benchmarks would take more pairs,
    add them and check again; then the final check. Its exit code."""
    needs = check.options.out / "needs-more.json"
    have = check.options.pairs_wanted
    while True:
        needs.unlink(missing_ok=True)
        code = check.run("--no-store", "--needs-more", str(needs))
        more = more_wanted(needs, have)
        remaining = clock.remaining()
        if code == 2 or remaining < _LAST_ROUND or not more.ids or more.extra <= 0:
            break
        log(
            f"{len(more.ids)} inconclusive benchmark(s): up to {more.extra} more pairs each "
            f"within {remaining:.0f} s"
        )
        pairs.append(more.ids, more.extra, remaining - _CHECK_MARGIN)
        have += more.extra
    return check.final()
