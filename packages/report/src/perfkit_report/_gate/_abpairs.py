"""The two result files of one ``perfkit-bench ab`` session, read as per-benchmark pairs.

``perfkit-bench ab`` writes an out-dir with ``base.json`` and ``head.json``: ordinary pyperf
suites holding one pyperf run per worker process, **in pair order** (process ``i`` of base ran
back to back with process ``i`` of head, in a randomised order within the pair). Each benchmark's
metadata says which side it is and which session it came from:

- ``perfkit_ab_side``: ``"base"`` or ``"head"``;
- ``perfkit_ab_seed``: the seed of the session's randomised order (equal on both sides);
- ``perfkit_ab_pairs``: the number of pairs the session planned;
- ``perfkit_injected_percent`` (head side, optional): the head workload was slowed by a
  calibrated busy-wait of that many percent (the gate's built-in evaluation, injection mode).

``load_pairs`` reads both files with ``read_result_file`` (the same validation as ``ingest``;
no second JSON parser) and returns, per benchmark, each side's per-process medians
(``SampleSummary.process_medians``, the unit of the gate's statistics) and whether they may be
treated as pairs; for slice-interleaved pairs also each pair's within-pair estimate of head /
base, the median of its adjacent slice ratios (``ratios``), which the detector then tests
across pairs.

Pairing is claimed only when the files prove it: both benchmarks carry ``perfkit_ab_side``
``base`` / ``head`` respectively, the same ``perfkit_ab_seed``, and the same number of processes.
Anything else (two ordinary pyperf files, files of two different sessions, a side that lost a
worker) is read as unpaired samples: wrongly pairing two unrelated runs would hide their drift,
wrongly unpairing a real session only costs power. Processes without values (pyperf calibration
runs) are not samples and are skipped by ``summarize``; ``perfkit-bench ab`` records none.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfkit_report._exceptions import InputError
from perfkit_report._history import ParsedResult, ResultRecord, read_result_file

__all__ = [
    "AB_SIDE_KEY",
    "INJECTED_KEY",
    "MODE_KEY",
    "PAIRS_KEY",
    "SEED_KEY",
    "SLICES_KEY",
    "PairedSamples",
    "load_pairs",
    "result_key",
    "within_pair_ratios",
]

AB_SIDE_KEY = "perfkit_ab_side"
SEED_KEY = "perfkit_ab_seed"
PAIRS_KEY = "perfkit_ab_pairs"
INJECTED_KEY = "perfkit_injected_percent"
MODE_KEY = "perfkit_ab_mode"
SLICES_KEY = "perfkit_ab_slices"


@dataclass(frozen=True, slots=True)
class PairedSamples:
    """One benchmark of an A/B session: per-process medians of each side, in pair order."""

    benchmark: str
    channel: str
    """What was measured (``time``, ``bytes``, ``count``, a latency percentile): the result's
    metric, the detector's channel."""
    unit: str
    """The pyperf unit (``second``, ``byte``, ``integer``)."""
    base: tuple[float, ...] | None
    """One median per base worker process, in pair order (None: the benchmark is on the head
    side only)."""
    head: tuple[float, ...] | None
    """One median per head worker process, in pair order (None: the benchmark is on the base
    side only)."""
    paired: bool
    """True only when ``base[i]`` and ``head[i]`` provably ran back to back: both files are the
    two sides of one A/B session (side metadata base/head, equal seeds) with as many processes on
    each side."""
    injected_percent: float = 0.0
    """The calibrated slowdown injected into the head workload, percent (0: none)."""
    seed: str | None = None
    """The session's ``perfkit_ab_seed`` when both sides agree on it."""
    ratios: tuple[float, ...] | None = None
    """Slice-interleaved pairs only: per process pair, the median of the ratios head / base of
    its adjacent slices (None for process pairs and unpaired samples)."""

    @property
    def n_pairs(self) -> int:
        """The number of (base, head) pairs (0 unless ``paired``)."""
        return len(self.base or ()) if self.paired else 0


def load_pairs(base_path: str | Path, head_path: str | Path) -> dict[str, PairedSamples]:
    """Per benchmark name (base file's order, then head-only ones), both sides' per-process
    medians and whether they are pairs.

    Raises ``ResultFileError`` (an ``InputError``) for a file ``ingest`` would refuse, and
    ``InputError`` when the two files share no benchmark, a benchmark changes unit or channel
    between them, or a ``perfkit_ab_*`` / ``perfkit_injected_percent`` value is malformed.
    """
    base_run = read_result_file(base_path)
    head_run = read_result_file(head_path)
    base_results = _by_name(base_run.results)
    head_results = _by_name(head_run.results)
    if not base_results.keys() & head_results.keys():
        raise InputError(
            f"{base_path} and {head_path} have no benchmark in common; pass the base.json and "
            "head.json of one perfkit-bench ab out-dir"
        )
    names = list(base_results) + [name for name in head_results if name not in base_results]
    pairs: dict[str, PairedSamples] = {}
    for name in names:
        old, new = base_results.get(name), head_results.get(name)
        if old is not None and new is not None and (old.unit, old.metric) != (new.unit, new.metric):
            raise InputError(
                f"benchmark {name!r} is {old.metric} in {old.unit} in {base_path} but "
                f"{new.metric} in {new.unit} in {head_path}; compare two sides of the same suite"
            )
        either = old or new
        assert either is not None
        _side(old, base_path)
        _side(new, head_path)
        seed = _session_seed(old, new, base_path, head_path)
        pairs[name] = PairedSamples(
            benchmark=either.benchmark,
            channel=either.metric,
            unit=either.unit,
            base=None if old is None else old.summary.process_medians,
            head=None if new is None else new.summary.process_medians,
            paired=seed is not None,
            injected_percent=_injected(new, head_path),
            seed=seed,
            ratios=within_pair_ratios(old, new) if seed is not None else None,
        )
    return pairs


def _by_name(results: tuple[ParsedResult, ...]) -> dict[str, ParsedResult]:
    """Results by their name in the file: a CPU-time result (metric ``cpu_time``, which
    ``perfkit-bench run`` writes as ``<id>.cpu_time`` beside ``<id>`` in wall time, and ingest
    reads as benchmark ``<id>``) keeps its ``.cpu_time`` suffix here, so both are compared."""
    return {result_key(result): result for result in results}


def result_key(result: ParsedResult | ResultRecord) -> str:
    """The name a result has in its file: ``<id>``, or ``<id>.cpu_time`` for CPU time."""
    if result.metric == "cpu_time":
        return f"{result.benchmark}.cpu_time"
    return result.benchmark


def within_pair_ratios(
    base: ParsedResult | None, head: ParsedResult | None
) -> tuple[float, ...] | None:
    """Per process pair, ``exp(median_j(log head_j - log base_j))`` over its slices, when both
    sides say they are slice-interleaved with the same slice count and every run holds exactly
    that many values; else None (the pairs are then compared on their process medians)."""
    if base is None or head is None:
        return None
    shapes = {_slice_shape(base), _slice_shape(head)}
    if len(shapes) != 1 or None in shapes:
        return None
    (shape,) = shapes
    assert shape is not None
    pairs, slices = shape
    ratios = []
    for index in range(pairs):
        chunk = slice(index * slices, (index + 1) * slices)
        logs = [
            math.log(new) - math.log(old)
            for old, new in zip(base.samples[chunk], head.samples[chunk], strict=True)
        ]
        ratios.append(math.exp(statistics.median(logs)))
    return tuple(ratios)


def _slice_shape(result: ParsedResult) -> tuple[int, int] | None:
    """(runs, values per run) of a slice-interleaved benchmark, or None."""
    if result.metadata.get(MODE_KEY) != "slices":
        return None
    try:
        slices = int(str(result.metadata.get(SLICES_KEY)))
    except ValueError:
        return None
    runs = len(result.summary.process_medians)
    if slices < 1 or runs * slices != len(result.samples):
        return None
    return runs, slices


def _side(result: ParsedResult | None, path: str | Path) -> str | None:
    if result is None or AB_SIDE_KEY not in result.metadata:
        return None
    side = str(result.metadata[AB_SIDE_KEY])
    if side not in ("base", "head"):
        raise InputError(
            f"{path}: benchmark {result.benchmark!r} has {AB_SIDE_KEY} {side!r}; it must be "
            "base or head (re-run perfkit-bench ab)"
        )
    return side


def _session_seed(
    old: ParsedResult | None, new: ParsedResult | None, base_path: str | Path, head_path: str | Path
) -> str | None:
    """The shared seed when ``old`` and ``new`` are the two sides of one session, else None."""
    if old is None or new is None:
        return None
    if _side(old, base_path) != "base" or _side(new, head_path) != "head":
        return None
    base_seed, head_seed = old.metadata.get(SEED_KEY), new.metadata.get(SEED_KEY)
    if base_seed is None or head_seed is None or str(base_seed) != str(head_seed):
        return None
    if len(old.summary.process_medians) != len(new.summary.process_medians):
        return None
    return str(base_seed)


def _injected(result: ParsedResult | None, path: str | Path) -> float:
    if result is None:
        return 0.0
    value: Any = result.metadata.get(INJECTED_KEY)
    if value is None:
        return 0.0
    try:
        percent = float(value)
    except (TypeError, ValueError):
        percent = math.nan
    if not (math.isfinite(percent) and percent >= 0):
        raise InputError(
            f"{path}: benchmark {result.benchmark!r} has {INJECTED_KEY} {value!r}; it must be a "
            "percentage >= 0 (re-run the injection with perfkit-bench ab)"
        )
    return percent
