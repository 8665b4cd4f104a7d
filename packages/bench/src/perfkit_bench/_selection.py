"""Choosing benchmarks by suite, target and id pattern (``--suite``, ``--target``, ``-k``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfkit_bench._discovery import discover_suites
from perfkit_bench._exceptions import SelectionError
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["Discovered", "discover_declared", "matches_pattern", "select"]

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class Discovered:
    """Every benchmark the suites under some paths declare, and each suite's file by name."""

    specs: list[BenchmarkSpec]
    suite_paths: dict[str, Path]

    def select(
        self, suites: Sequence[str] = (), targets: Sequence[str] = (), pattern: str | None = None
    ) -> list[BenchmarkSpec]:
        return select(self.specs, suites=suites, targets=targets, pattern=pattern)


def discover_declared(paths: Sequence[str | Path] | None) -> Discovered:
    """Import the suites under ``paths`` (default ``benchmarks/``): what ``list``, ``run`` and
    ``instructions`` choose from."""
    suites = discover_suites(paths or None)
    specs = [spec for _, declared in suites for spec in declared]
    return Discovered(specs, {path.stem: path for path, _ in suites})


def matches_pattern(bench_id: str, pattern: str) -> bool:
    """``-k``: a glob (``fnmatch``) when the pattern holds ``*``, ``?`` or ``[``; else a substring."""
    if _GLOB_CHARS.intersection(pattern):
        return fnmatch.fnmatchcase(bench_id, pattern)
    return pattern in bench_id


def select(
    specs: Sequence[BenchmarkSpec],
    *,
    suites: Sequence[str] = (),
    targets: Sequence[str] = (),
    pattern: str | None = None,
) -> list[BenchmarkSpec]:
    """The specs that match every given filter (several ``suites`` or ``targets`` are alternatives).

    An unknown suite or target, or filters that leave nothing, raise :class:`SelectionError`
    listing the valid choices. No filter at all returns ``specs`` as they are, even if empty.
    """
    _check_known("suite", suites, sorted({s.suite for s in specs}))
    _check_known("target", targets, sorted({s.target for s in specs}))
    chosen = [
        spec
        for spec in specs
        if (not suites or spec.suite in suites)
        and (not targets or spec.target in targets)
        and (pattern is None or matches_pattern(spec.id, pattern))
    ]
    if not chosen and (suites or targets or pattern is not None):
        given = [f"--suite {s}" for s in suites] + [f"--target {t}" for t in targets]
        if pattern is not None:
            given.append(f"-k {pattern}")
        raise SelectionError(
            f"no benchmark matches {' '.join(given)}; run 'perfkit-bench list' to see the ids"
        )
    return chosen


def _check_known(what: str, asked: Sequence[str], valid: list[str]) -> None:
    unknown = [name for name in asked if name not in valid]
    if unknown:
        raise SelectionError(
            f"unknown {what} {', '.join(repr(u) for u in unknown)}; "
            f"valid {what}s: {', '.join(valid) or '(none found)'}"
        )
