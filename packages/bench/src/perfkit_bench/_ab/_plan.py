"""Which benchmarks an A/B session runs: the union of both sides' benchmarks through the
filters, each with what earlier sessions (``--append``) recorded for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from perfkit_bench._ab._model import SIDES, ABOptions, Entry, Side, SideName, is_reference
from perfkit_bench._exceptions import SelectionError
from perfkit_bench._selection import select
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["plan"]


def plan(
    base: list[BenchmarkSpec],
    head: list[BenchmarkSpec],
    sides: dict[SideName, Side],
    options: ABOptions,
    recorded: dict[str, Any],
) -> list[Entry]:
    """One entry per selected benchmark, head's order first, then what only the base has."""
    by_side: dict[SideName, dict[str, BenchmarkSpec]] = {
        "base": {spec.id: spec for spec in base},
        "head": {spec.id: spec for spec in head},
    }
    union = list(head) + [spec for spec in base if spec.id not in by_side["head"]]
    if not union:
        raise SelectionError(
            f"no benchmarks found in {sides['base'].suites} or "
            f"{sides['head'].suites}: declare some with @benchmark"
        )
    entries = []
    for spec in _chosen(union, options):
        specs = {side: by_side[side][spec.id] for side in SIDES if spec.id in by_side[side]}
        if len({s.kind for s in specs.values()}) > 1:
            raise SelectionError(
                f"{spec.id} is kind {specs['base'].kind!r} on the base side and "
                f"{specs['head'].kind!r} on the head side: a changed kind is a new benchmark, "
                "give it a new id (or leave it out with -k / --only)"
            )
        entries.append(_restored(Entry(spec.id, specs), recorded.get(spec.id)))
    return entries


def _chosen(union: list[BenchmarkSpec], options: ABOptions) -> list[BenchmarkSpec]:
    chosen = select(union, suites=options.suites, targets=options.targets, pattern=options.pattern)
    if options.exclude_references:
        chosen = [spec for spec in chosen if not is_reference(spec.id)]
    if options.only:
        wanted = {_only_id(name, union) for name in options.only}
        chosen = [spec for spec in chosen if spec.id in wanted]
    if not chosen:
        raise SelectionError(
            "the filters leave no benchmark to run; run 'perfkit-bench list' on each side "
            "to see the ids"
        )
    return chosen


def _restored(entry: Entry, old: dict[str, Any] | None) -> Entry:
    """``entry`` carrying on from what an earlier session recorded for it in ab.json."""
    if old:
        entry.pairs = entry.earlier_pairs = int(old.get("pairs", 0))
        entry.orders = list(old.get("orders", []))
        entry.loops = old.get("loops")
        entry.calibrated_on = old.get("calibrated_on")
        entry.seconds_per_op = old.get("calibration_seconds_per_op")
        entry.seconds = float(old.get("seconds", 0.0))
        entry.slices = old.get("slices")
    return entry


def _only_id(name: str, specs: Sequence[BenchmarkSpec]) -> str:
    """``--only`` takes ids, or the metric names of a latency benchmark (``<id>.p99``), which is
    what a report lists; both select the benchmark."""
    for spec in specs:
        if spec.id == name or (spec.kind == "latency" and name.startswith(f"{spec.id}.")):
            return spec.id
    raise SelectionError(
        f"--only {name}: no such benchmark on either side; run 'perfkit-bench list' to see the ids"
    )
