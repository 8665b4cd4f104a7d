"""Choosing benchmarks by suite, target and id pattern (``--suite``, ``--target``, ``-k``)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from perfkit_bench._exceptions import SelectionError
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["matches_pattern", "select"]

_GLOB_CHARS = frozenset("*?[")


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
