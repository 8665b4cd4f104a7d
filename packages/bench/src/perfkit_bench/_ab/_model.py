"""What an A/B session is made of: the two sides, the options, the pair order, what each
selected benchmark has so far, and what the session returns (the method is described in
``perfkit_bench._ab``'s docstring)."""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from perfkit_bench._clock import Clock
from perfkit_bench._exceptions import UsageError
from perfkit_bench._plumbing import DEFAULT_TIMEOUT
from perfkit_bench._spec import BenchmarkSpec
from perfkit_bench._worker import parse_cpu_list

__all__ = [
    "AB_VERSION",
    "DEFAULT_MIN_TIME",
    "DEFAULT_PAIR_SECONDS",
    "DEFAULT_SLICES",
    "DEFAULT_SLICE_TIME",
    "DEFAULT_SLICE_WARMUPS",
    "DEFAULT_VALUES",
    "DEFAULT_WARMUPS",
    "MANIFEST",
    "MODES",
    "SIDES",
    "ABFailure",
    "ABOptions",
    "ABResult",
    "Entry",
    "Mode",
    "Side",
    "SideName",
    "is_reference",
    "pair_order",
]

SideName: TypeAlias = Literal["base", "head"]
SIDES: tuple[SideName, SideName] = ("base", "head")

Mode: TypeAlias = Literal["slices", "processes"]
MODES: tuple[Mode, ...] = ("slices", "processes")

# ab.json format history (bump on any change a reader could notice):
#   1 (2026-11-27): first version.
#   2 (2026-12-03): slice-interleaved mode: settings gain mode, slices, slice_warmups, slice_time,
#      pair_seconds; benchmarks gain mode and slices.
AB_VERSION = 2
MANIFEST = "ab.json"

# Defaults chosen so the gate fits its budget on a 2-core machine: a worker process costs about
# 0.3 s of start-up (interpreter, pyperf, the suite's imports) before it measures anything, so
# each process takes few, short values (1 warm-up + 3 values of >= 50 ms), and the statistics
# get their power from the number of pairs instead (the process is the unit anyway).
DEFAULT_VALUES = 3
DEFAULT_WARMUPS = 1
DEFAULT_MIN_TIME = 0.05
# Slice mode (docs/regression.md has the measurements behind these): a slice of 1-5 ms on the
# benchmark's clock is short enough that two adjacent slices see the same moment of the host
# (1-second windows drift by up to 40 % here, adjacent 1 ms slices differ by ~7 %) and long
# enough that the ~0.1 ms round trip to the worker and the timer's own cost stay small beside it.
DEFAULT_SLICE_TIME = 0.002
# Slices per side and process pair: the within-pair estimate is the median of this many adjacent
# log-ratios; the first DEFAULT_SLICE_WARMUPS slices of each side are warm-ups (imports, caches,
# the adaptive interpreter's specialisation, the allocator's first arenas).
DEFAULT_SLICES = 60
DEFAULT_SLICE_WARMUPS = 6
# At most this many seconds of slices per side and pair: a benchmark whose call (set-up
# included) takes 30 ms gets fewer slices rather than a minute per pair.
DEFAULT_PAIR_SECONDS = 1.0


@dataclass(frozen=True)
class Side:
    """One side of the comparison: an interpreter and the suite folder it measures."""

    name: SideName
    python: Path
    suites: Path


@dataclass(frozen=True)
class ABOptions:
    """How many pairs, how hard each worker measures, and which benchmarks."""

    pairs: int
    values: int = DEFAULT_VALUES
    warmups: int = DEFAULT_WARMUPS
    min_time: float = DEFAULT_MIN_TIME
    affinity: str | None = None
    seed: int | None = None
    budget: float | None = None
    inject_head: float = 0.0
    timeout: float = DEFAULT_TIMEOUT
    inherit_environ: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    pattern: str | None = None
    exclude_references: bool = False
    only: tuple[str, ...] = ()
    append: bool = False
    mode: Mode = "slices"
    process_pairs: int | None = None
    """New pairs of the benchmarks measured in process pairs, when fewer than ``pairs``."""
    slices: int = DEFAULT_SLICES
    slice_warmups: int = DEFAULT_SLICE_WARMUPS
    slice_time: float = DEFAULT_SLICE_TIME
    pair_seconds: float = DEFAULT_PAIR_SECONDS

    def __post_init__(self) -> None:
        problems = [*self._count_problems(), *self._time_problems(), *self._slice_problems()]
        if problems:
            raise UsageError("; ".join(problems))
        if self.affinity is not None:
            try:
                parse_cpu_list(self.affinity)
            except ValueError as exc:
                raise UsageError(str(exc)) from None

    def _count_problems(self) -> list[str]:
        problems = []
        if self.pairs < 1:
            problems.append(f"--pairs must be >= 1, got {self.pairs}")
        if self.values < 1:
            problems.append(f"--values must be >= 1, got {self.values}")
        if self.warmups < 0:
            problems.append(f"--warmups must be >= 0, got {self.warmups}")
        return problems

    def _time_problems(self) -> list[str]:
        problems = []
        if not (math.isfinite(self.min_time) and self.min_time > 0):
            problems.append(f"--min-time must be > 0, got {self.min_time}")
        if self.budget is not None and not (math.isfinite(self.budget) and self.budget > 0):
            problems.append(f"--budget must be > 0 seconds, got {self.budget}")
        if not (math.isfinite(self.inject_head) and 0 <= self.inject_head <= 1000):
            problems.append(
                f"--inject-head must be a percentage in 0..1000, got {self.inject_head}"
            )
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            problems.append(f"--timeout must be > 0 seconds, got {self.timeout}")
        return problems

    def wanted(self, entry: Entry) -> int:
        """New pairs ``entry`` is to get in this session."""
        if entry.mode(self) == "processes" and self.process_pairs is not None:
            return min(self.pairs, self.process_pairs)
        return self.pairs

    def _slice_problems(self) -> list[str]:
        problems = []
        if self.mode not in MODES:
            problems.append(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.slices < 1:
            problems.append(f"--slices must be >= 1, got {self.slices}")
        if self.process_pairs is not None and self.process_pairs < 1:
            problems.append(f"--process-pairs must be >= 1, got {self.process_pairs}")
        if self.slice_warmups < 0:
            problems.append(f"--slice-warmups must be >= 0, got {self.slice_warmups}")
        for name, value in (
            ("--slice-time", self.slice_time),
            ("--pair-seconds", self.pair_seconds),
        ):
            if not (math.isfinite(value) and value > 0):
                problems.append(f"{name} must be > 0 seconds, got {value}")
        return problems

    def settings(self) -> dict[str, Any]:
        """What must not change between a session and the ``--append`` sessions after it."""
        return {
            "mode": self.mode,
            "values": self.values,
            "warmups": self.warmups,
            "min_time": self.min_time,
            "slices": self.slices,
            "slice_warmups": self.slice_warmups,
            "slice_time": self.slice_time,
            "pair_seconds": self.pair_seconds,
            "affinity": self.affinity,
            "inject_head_percent": self.inject_head,
        }


@dataclass(frozen=True)
class ABFailure:
    """A worker process of one side that produced no values; its benchmark stopped there.

    ``stage`` is ``calibration`` (the loop calibration before the first pair) or ``pair``."""

    id: str
    side: SideName
    pair: int
    stage: Literal["calibration", "pair"]
    kind: Literal["error", "timeout"]
    error: str

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ABResult:
    """What a session did. ``pairs`` counts the complete pairs each selected benchmark now has
    in the files (earlier sessions included); ``failures`` are this session's."""

    out_dir: Path
    files: dict[str, Path]
    pairs: dict[str, int]
    added: dict[str, int]
    requested: int
    failures: list[ABFailure]
    budget_reached: bool
    duration: float
    short: int = 0
    """Benchmarks that got fewer new pairs than they were to get (a budget ran out)."""


def is_reference(bench_id: str) -> bool:
    """A reference benchmark (a bare baseline or a peer library, ``<suite>.reference.<name>``):
    the same code on both sides of a gate, so ``--exclude-references`` skips it."""
    return "reference" in bench_id.split(".")[1:]


def pair_order(seed: int, bench_id: str, pair: int) -> Literal["base-first", "head-first"]:
    """Which side runs first in pair ``pair`` (1-based) of ``bench_id``.

    Pairs go in blocks of two, (1, 2), (3, 4), ...: one coin flip per block, seeded by the
    session seed, the id and the block, picks the order of the block's first pair, and its second
    pair takes the other order (A B B A or B A A B). Orders are random, yet balanced to within
    one pair, and reproducible from the seed alone, whatever ran before: an ``--append`` session
    continues the same sequence. (``random.Random`` seeded with a str hashes it with SHA-512:
    stable across processes and PYTHONHASHSEED.)
    """
    if pair < 1:
        raise ValueError(f"pairs are numbered from 1, got {pair}")
    block, second = divmod(pair - 1, 2)
    base_first = random.Random(f"perfkit-ab:{seed}:{bench_id}:{block}").random() < 0.5
    if second:
        base_first = not base_first
    return "base-first" if base_first else "head-first"


@dataclass
class Entry:
    """One selected benchmark and what the session knows about it."""

    id: str
    specs: dict[SideName, BenchmarkSpec]
    pairs: int = 0
    earlier_pairs: int = 0
    orders: list[str] = field(default_factory=list)
    loops: int | None = None
    calibrated_on: SideName | None = None
    seconds_per_op: float | None = None
    seconds: float = 0.0
    stopped: bool = False
    slices: int | None = None
    """Slices per side and pair (slice mode), set by the first pair."""

    @property
    def spec(self) -> BenchmarkSpec:
        return self.specs.get("head") or self.specs["base"]

    @property
    def sides(self) -> tuple[SideName, ...]:
        return tuple(side for side in SIDES if side in self.specs)

    @property
    def clock(self) -> Clock:
        """The clock both sides are measured on: the declared one when both sides declare the
        same, else ``wall``, which every workload honours (a side whose workloads still time
        themselves with ``perf_counter`` can only be measured on it)."""
        clocks = {spec.clock for spec in self.specs.values()}
        return clocks.pop() if len(clocks) == 1 else "wall"

    def mode(self, options: ABOptions) -> Mode:
        """How this benchmark is measured: in slices of long-lived workers when the session runs
        slices and it is a time benchmark on both sides that needs no fresh process; in process
        pairs otherwise (bytes, counts and latency are sampled once per fresh process; a
        benchmark on one side only has nothing to interleave with)."""
        if options.mode != "slices" or len(self.specs) != 2:
            return "processes"
        specs = self.specs.values()
        if any(spec.kind != "time" or spec.fresh_process for spec in specs):
            return "processes"
        return "slices"
