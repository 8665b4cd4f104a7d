"""Paired, interleaved A/B runs of two revisions: ``perfkit-bench ab``, the regression gate's runner.

A *side* is a Python interpreter (a virtual environment holding perfkit-bench and one revision's
code) plus that revision's suite folder. This process never imports a side's suites: it asks each
interpreter for its benchmarks (``python -m perfkit_bench list --json DIR``) and its fingerprint
(``python -m perfkit_bench._worker fingerprint``), and every measurement runs in a worker process
of that interpreter, with the stripped environment and process-group handling of ``run``.

For a benchmark both sides have, pair ``i`` runs ONE worker process of each side back to back, in
an order drawn from the seed (:func:`pair_order`). Machine drift then hits both members of a pair
alike, and the pair, not the raw value, becomes the unit of the statistics. Pairs run in rounds
(pair 1 of every benchmark, then pair 2 of every benchmark, ...), so a ``--budget`` that runs out
leaves every benchmark with about the same number of pairs instead of starving the last ones.

- Time benchmarks: the loop count is calibrated once per benchmark (pyperf's ``--worker
  --calibrate-loops`` in one base process, to ``--min-time``); then every worker of both sides
  runs pyperf's worker mode with that same ``--loops``, so the two members of a pair do the same
  work. With ``--inject-head P`` every measured call of a head time worker is followed, inside
  the value pyperf records, by a busy-wait of ``P`` % of that call's duration
  (``_worker.slowed``): the head is really ``P`` % slower.
- Bytes, count and latency benchmarks: one ``_worker sample`` process per side and pair.
- A benchmark on one side only runs there alone (``perfkit_ab_order`` ``base-only`` /
  ``head-only``); the report calls it removed / added.
- Only complete pairs are kept. A side that raises or times out ends its benchmark for both
  sides (the incomplete pair is dropped); the other benchmarks go on.

The out-dir holds ``base.json`` and ``head.json`` (pyperf suites, one run per worker process in
pair order) and ``ab.json`` (the manifest); docs/benchmarks.md, "A/B runs", documents them.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import random
import secrets
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from perfkit_bench._argtypes import (
    exit_on_sigterm,
    non_negative_int,
    positive_finite_float,
    positive_int,
)
from perfkit_bench._exceptions import (
    OutputExistsError,
    RunFailed,
    SelectionError,
    SideError,
    UsageError,
)
from perfkit_bench._fingerprint import Fingerprint, collect
from perfkit_bench._orchestrator import (
    DEFAULT_TIMEOUT,
    Failure,
    RunOptions,
    _failed,
    _last_line,
    _pythonpath,
    _run_process,
    _stripped_environ,
    _timed_out,
    _version,
)
from perfkit_bench._progress import Progress, make_progress
from perfkit_bench._spec import BenchmarkSpec, MetadataValue
from perfkit_bench._worker import PROGRAM_ARGS, parse_cpu_list

__all__ = [
    "AB_VERSION",
    "MANIFEST",
    "ABFailure",
    "ABOptions",
    "ABResult",
    "Side",
    "SideName",
    "add_ab_command",
    "is_reference",
    "pair_order",
    "run_ab",
]

SideName: TypeAlias = Literal["base", "head"]
SIDES: tuple[SideName, SideName] = ("base", "head")

# ab.json format history (bump on any change a reader could notice):
#   1 (2026-11-27): first version.
AB_VERSION = 1
MANIFEST = "ab.json"

# Defaults chosen so the gate fits its budget on a 2-core machine: a worker process costs about
# 0.3 s of start-up (interpreter, pyperf, the suite's imports) before it measures anything, so
# each process takes few, short values (1 warm-up + 3 values of >= 50 ms), and the statistics
# get their power from the number of pairs instead (the process is the unit anyway).
DEFAULT_VALUES = 3
DEFAULT_WARMUPS = 1
DEFAULT_MIN_TIME = 0.05

# Listing a side imports its suites (and whatever they import); a minute is ample.
_LIST_TIMEOUT = 120.0


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

    def __post_init__(self) -> None:
        problems = []
        if self.pairs < 1:
            problems.append(f"--pairs must be >= 1, got {self.pairs}")
        if self.values < 1:
            problems.append(f"--values must be >= 1, got {self.values}")
        if self.warmups < 0:
            problems.append(f"--warmups must be >= 0, got {self.warmups}")
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
        if problems:
            raise UsageError("; ".join(problems))
        if self.affinity is not None:
            try:
                parse_cpu_list(self.affinity)
            except ValueError as exc:
                raise UsageError(str(exc)) from None

    def settings(self) -> dict[str, Any]:
        """What must not change between a session and the ``--append`` sessions after it."""
        return {
            "values": self.values,
            "warmups": self.warmups,
            "min_time": self.min_time,
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
class _Entry:
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

    @property
    def spec(self) -> BenchmarkSpec:
        return self.specs.get("head") or self.specs["base"]

    @property
    def sides(self) -> tuple[SideName, ...]:
        return tuple(side for side in SIDES if side in self.specs)


def run_ab(
    base: Side, head: Side, options: ABOptions, out_dir: Path, progress: Progress
) -> ABResult:
    """Run the A/B session and write ``base.json``, ``head.json`` and ``ab.json`` in ``out_dir``.

    Raises :class:`UsageError` / :class:`OutputExistsError` / :class:`SelectionError` before
    measuring anything, :class:`SideError` when a side cannot list its benchmarks or the base
    side failed every benchmark it ran, :class:`RunFailed` when nothing could be measured.
    """
    return _Session(base, head, options, out_dir, progress).run()


class _Session:
    def __init__(
        self, base: Side, head: Side, options: ABOptions, out_dir: Path, progress: Progress
    ) -> None:
        self.sides: dict[SideName, Side] = {"base": base, "head": head}
        self.options = options
        self.out_dir = out_dir
        self.progress = progress
        self.started = dt.datetime.now(dt.UTC)
        self.clock_started = time.monotonic()
        self.failures: list[ABFailure] = []
        self.base_succeeded = False
        self.results: dict[SideName, dict[str, Any]] = {"base": {}, "head": {}}
        self.manifest: dict[str, Any] = {}
        self.seed = 0

    # -- the session ------------------------------------------------------------------------

    def run(self) -> ABResult:
        for side in self.sides.values():
            _check_side(side)
        self._open_out_dir()
        with tempfile.TemporaryDirectory(prefix="perfkit-ab-") as tmp:
            workdir = Path(tmp)
            specs = {name: self._list(side, workdir) for name, side in self.sides.items()}
            entries = self._plan(specs["base"], specs["head"])
            fingerprints = {
                name: self._fingerprint(side, workdir) for name, side in self.sides.items()
            }
            budget_reached = False
            interrupted = True
            try:
                budget_reached = self._rounds(entries, workdir)
                interrupted = False
            finally:
                # Complete pairs are kept even when interrupted (Ctrl-C, SIGTERM): they are valid.
                base_broken = self._base_broken()
                files = {} if base_broken else self._write_results(fingerprints)
                self._write_manifest(entries, fingerprints, files, budget_reached, interrupted)
        if base_broken:
            first = next(f for f in self.failures if f.side == "base")
            raise SideError(
                f"the base side failed every benchmark it ran (first: {first.id}: {first.error}); "
                f"check its environment: {self.sides['base'].python} -m perfkit_bench run "
                f"{self.sides['base'].suites} -k {first.id} shows the whole error"
            )
        if not files:
            reason = (
                f"the budget of {self.options.budget:g} s ran out before a pair completed; "
                "pass a larger --budget"
                if budget_reached and not self.failures
                else f"every selected benchmark failed ({len(entries)})"
            )
            raise RunFailed(
                f"{reason}; no result file written",
                [
                    {"id": f.id, "kind": f.kind, "error": f"{f.side}: {f.error}"}
                    for f in self.failures
                ],
            )
        return ABResult(
            out_dir=self.out_dir,
            files=files,
            pairs={entry.id: entry.pairs for entry in entries},
            added={entry.id: entry.pairs - entry.earlier_pairs for entry in entries},
            requested=self.options.pairs,
            failures=list(self.failures),
            budget_reached=budget_reached,
            duration=time.monotonic() - self.clock_started,
        )

    def _open_out_dir(self) -> None:
        manifest = self.out_dir / MANIFEST
        if not self.options.append:
            existing = [
                name
                for name in (MANIFEST, "base.json", "head.json")
                if (self.out_dir / name).exists()
            ]
            if existing:
                raise OutputExistsError(
                    f"{self.out_dir} already holds an A/B run ({', '.join(existing)}); pass "
                    "--append to add pairs to it, or remove it or choose another --out-dir"
                )
            self.seed = self.options.seed if self.options.seed is not None else _random_seed()
            return
        if not manifest.exists():
            raise UsageError(
                f"--append: {self.out_dir} holds no {MANIFEST}; run without --append first"
            )
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if data.get("version") != AB_VERSION:
                raise ValueError(f"version {data.get('version')!r}, expected {AB_VERSION}")
            self.seed = int(data["seed"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise UsageError(
                f"--append: {manifest} is not an ab.json this version can extend ({exc}); "
                "start a new --out-dir"
            ) from None
        if self.options.seed is not None and self.options.seed != self.seed:
            raise UsageError(
                f"--append: {self.out_dir} was made with --seed {self.seed}; pass that seed or none"
            )
        recorded = {
            name: {
                key: data.get("sides", {}).get(name, {}).get(key) for key in ("python", "suites")
            }
            for name in SIDES
        }
        current = {
            name: {"python": str(side.python), "suites": str(side.suites)}
            for name, side in self.sides.items()
        }
        if data.get("settings") != self.options.settings() or recorded != current:
            raise UsageError(
                f"--append: {self.out_dir} was made with other sides or settings "
                f"({json.dumps(data.get('settings'))}); use the options of its first session, "
                "or a new --out-dir"
            )
        self.manifest = data
        import pyperf

        for name in SIDES:
            path = self.out_dir / f"{name}.json"
            if path.exists():
                for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
                    self.results[name][str(bench.get_name())] = bench

    def _list(self, side: Side, workdir: Path) -> list[BenchmarkSpec]:
        cmd = [str(side.python), "-m", "perfkit_bench", "list", "--json", str(side.suites)]
        log = workdir / f"list-{side.name}"
        try:
            code = _run_process(
                cmd,
                self._environ(),
                log,
                time.monotonic() + min(_LIST_TIMEOUT, self.options.timeout),
            )
        except OSError as exc:
            raise SideError(
                f"--{side.name}-python {side.python} cannot be started ({exc}); pass the "
                f"interpreter of the {side.name} environment"
            ) from None
        fix = (
            f"check that {side.python} has perfkit-bench and the {side.name} revision's packages "
            f"installed and that its suites import: {side.python} -m perfkit_bench list "
            f"{side.suites}"
        )
        if code is None:
            raise SideError(f"the {side.name} side did not list its benchmarks in time; {fix}")
        if code != 0:
            why = _last_line(Path(f"{log}.err")) or f"exit code {code}"
            raise SideError(f"the {side.name} side cannot list its benchmarks ({why}); {fix}")
        try:
            items = json.loads(Path(f"{log}.out").read_text(encoding="utf-8"))
            return [BenchmarkSpec.from_json(item) for item in items]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SideError(
                f"the {side.name} side listed its benchmarks in a form this perfkit-bench cannot "
                f"read ({exc}); install the same perfkit-bench version on both sides"
            ) from None

    def _fingerprint(self, side: Side, workdir: Path) -> Fingerprint:
        """The side's environment, collected in its own interpreter (its library versions); if
        that fails, this process's view of the side's checkout, without library versions."""
        cmd = [str(side.python), *PROGRAM_ARGS, "fingerprint", "--repo", str(side.suites)]
        log = workdir / f"fingerprint-{side.name}"
        code = _run_process(cmd, self._environ(), log, time.monotonic() + _LIST_TIMEOUT)
        if code == 0:
            try:
                data = json.loads(Path(f"{log}.out").read_text(encoding="utf-8"))
                known = {f.name for f in dataclasses.fields(Fingerprint)}
                return Fingerprint(**{k: v for k, v in data.items() if k in known})
            except (OSError, ValueError, TypeError):
                pass
        return dataclasses.replace(collect(side.suites), libraries={})

    def _plan(self, base: list[BenchmarkSpec], head: list[BenchmarkSpec]) -> list[_Entry]:
        from perfkit_bench._selection import select

        by_side: dict[SideName, dict[str, BenchmarkSpec]] = {
            "base": {spec.id: spec for spec in base},
            "head": {spec.id: spec for spec in head},
        }
        union = list(head) + [spec for spec in base if spec.id not in by_side["head"]]
        if not union:
            raise SelectionError(
                f"no benchmarks found in {self.sides['base'].suites} or "
                f"{self.sides['head'].suites}: declare some with @benchmark"
            )
        chosen = select(
            union,
            suites=self.options.suites,
            targets=self.options.targets,
            pattern=self.options.pattern,
        )
        if self.options.exclude_references:
            chosen = [spec for spec in chosen if not is_reference(spec.id)]
        if self.options.only:
            wanted = {_only_id(name, union) for name in self.options.only}
            chosen = [spec for spec in chosen if spec.id in wanted]
        if not chosen:
            raise SelectionError(
                "the filters leave no benchmark to run; run 'perfkit-bench list' on each side "
                "to see the ids"
            )
        recorded = self.manifest.get("benchmarks", {})
        entries = []
        for spec in chosen:
            specs = {side: by_side[side][spec.id] for side in SIDES if spec.id in by_side[side]}
            entry = _Entry(spec.id, specs)
            kinds = {s.kind for s in specs.values()}
            if len(kinds) > 1:
                raise SelectionError(
                    f"{spec.id} is kind {specs['base'].kind!r} on the base side and "
                    f"{specs['head'].kind!r} on the head side: a changed kind is a new benchmark, "
                    "give it a new id (or leave it out with -k / --only)"
                )
            old = recorded.get(spec.id)
            if old:
                entry.pairs = entry.earlier_pairs = int(old.get("pairs", 0))
                entry.orders = list(old.get("orders", []))
                entry.loops = old.get("loops")
                entry.calibrated_on = old.get("calibrated_on")
                entry.seconds_per_op = old.get("calibration_seconds_per_op")
                entry.seconds = float(old.get("seconds", 0.0))
            entries.append(entry)
        return entries

    def _rounds(self, entries: list[_Entry], workdir: Path) -> bool:
        """Run the pairs, round by round; True when the budget stopped them early."""
        pairs = self.options.pairs
        budget = self.options.budget
        deadline = None if budget is None else self.clock_started + budget
        self.progress.start(len(entries) * pairs, unit="pair")
        step = 0
        try:
            for round_index in range(pairs):
                for position, entry in enumerate(entries):
                    if entry.stopped:
                        continue
                    if deadline is not None and time.monotonic() >= deadline:
                        return True
                    pair = entry.pairs + 1
                    label = (
                        f"{entry.id} (benchmark {position + 1}/{len(entries)}, "
                        f"pair {round_index + 1}/{pairs})"
                    )
                    self.progress.begin(step, label)
                    began = time.monotonic()
                    failure = self._pair(entry, pair, workdir / f"{position:04d}-{pair:04d}")
                    elapsed = time.monotonic() - began
                    entry.seconds += elapsed
                    if failure is not None:
                        self.failures.append(failure)
                        entry.stopped = True
                    error = None if failure is None else f"{failure.side}: {failure.error}"
                    self.progress.finish(label, elapsed, error)
                    step += 1
        finally:
            self.progress.close()
        return False

    def _pair(self, entry: _Entry, pair: int, workdir: Path) -> ABFailure | None:
        workdir.mkdir(parents=True)
        sides = entry.sides
        if len(sides) == 2:
            order: str = pair_order(self.seed, entry.id, pair)
            if order == "head-first":
                sides = ("head", "base")
        else:
            order = f"{sides[0]}-only"
        if entry.spec.kind == "time" and entry.loops is None:
            failure = self._calibrate(entry, sides[0] if len(sides) == 1 else "base", workdir)
            if failure is not None:
                return dataclasses.replace(failure, pair=pair)
        measured: dict[SideName, list[Any]] = {}
        for side in sides:
            outcome = self._measure(entry, side, workdir / side)
            if isinstance(outcome, Failure):
                return ABFailure(entry.id, side, pair, "pair", outcome.kind, outcome.error)
            measured[side] = outcome
        # Commit both sides or neither: a pair is the unit, a half pair is no sample.
        merged: dict[SideName, dict[str, Any]] = {"base": {}, "head": {}}
        try:
            import pyperf

            for side, benches in measured.items():
                for bench in benches:
                    bench.update_metadata({"perfkit_pair": pair, "perfkit_ab_order": order})
                    name = str(bench.get_name())
                    earlier = self.results[side].get(name)
                    runs = [*earlier.get_runs(), *bench.get_runs()] if earlier else bench.get_runs()
                    merged[side][name] = pyperf.Benchmark(runs)
        except ValueError as exc:  # pyperf refuses runs from another interpreter or unit
            return ABFailure(
                entry.id, sides[-1], pair, "pair", "error", f"incompatible with earlier runs: {exc}"
            )
        for side in SIDES:
            self.results[side].update(merged[side])
        entry.pairs = pair
        entry.orders.append(order)
        return None

    def _calibrate(self, entry: _Entry, side: SideName, workdir: Path) -> ABFailure | None:
        """pyperf's loop calibration in one worker of ``side``: the loop count every worker of
        the benchmark then uses."""
        out = workdir / "calibration.json"
        error_file = workdir / "calibration-error.txt"
        spec = entry.specs[side]
        cmd = [
            *self._time_prefix(side, spec, error_file),
            "--calibrate-loops",
            "--min-time",
            repr(self.options.min_time),
            "-o",
            str(out),
        ]
        outcome = self._run(side, spec, cmd, out, error_file, workdir / "calibration")
        if isinstance(outcome, Failure):
            return ABFailure(entry.id, side, 0, "calibration", outcome.kind, outcome.error)
        try:
            run = outcome[0].get_runs()[0]
            loops = int(run.get_metadata().get("calibrate_loops") or run.get_metadata()["loops"])
            per_op = [value for run_loops, value in run.warmups if run_loops == loops]
        except (IndexError, KeyError, ValueError) as exc:
            return ABFailure(
                entry.id, side, 0, "calibration", "error", f"unreadable calibration: {exc}"
            )
        entry.loops = loops
        entry.calibrated_on = side
        entry.seconds_per_op = statistics.median(per_op) if per_op else None
        return None

    def _measure(self, entry: _Entry, side: SideName, workdir: Path) -> list[Any] | Failure:
        workdir.mkdir()
        spec = entry.specs[side]
        out = workdir / "result.json"
        error_file = workdir / "error.txt"
        if spec.kind == "time":
            assert entry.loops is not None
            cmd = [*self._time_prefix(side, spec, error_file), "--loops", str(entry.loops)]
            if side == "head" and self.options.inject_head:
                cmd.extend(("--inject-percent", repr(self.options.inject_head)))
            cmd.extend(("-o", str(out)))
        else:
            cmd = [
                str(self.sides[side].python),
                *PROGRAM_ARGS,
                "sample",
                "--suite-path",
                str(self._suite_file(side, spec)),
                "--bench",
                spec.id,
                "--values",
                str(self.options.values),
                "--warmups",
                str(self.options.warmups),
                "--error-file",
                str(error_file),
                "-o",
                str(out),
            ]
            if self.options.affinity:
                cmd.extend(("--affinity", self.options.affinity))
        return self._run(side, spec, cmd, out, error_file, workdir / "worker")

    def _time_prefix(self, side: SideName, spec: BenchmarkSpec, error_file: Path) -> list[str]:
        """pyperf's worker mode, driven directly: one process, no manager, no calibration."""
        cmd = [
            str(self.sides[side].python),
            *PROGRAM_ARGS,
            "--worker",
            "--quiet",
            "--warmups",
            str(self.options.warmups),
            "--values",
            str(self.options.values),
            "--suite-path",
            str(self._suite_file(side, spec)),
            "--bench",
            spec.id,
            "--error-file",
            str(error_file),
        ]
        if self.options.affinity:
            cmd.append(f"--affinity={self.options.affinity}")
        return cmd

    def _run(
        self,
        side: SideName,
        spec: BenchmarkSpec,
        cmd: list[str],
        out: Path,
        error_file: Path,
        log: Path,
    ) -> list[Any] | Failure:
        import pyperf

        timeout = spec.timeout if spec.timeout is not None else self.options.timeout
        env = self._environ()
        env["PYTHONPATH"] = _pythonpath(self._suite_file(side, spec), env.get("PYTHONPATH"))
        code = _run_process(cmd, env, log, time.monotonic() + timeout)
        if code is None:
            return _timed_out(spec, timeout)
        if code != 0 or not out.exists():
            return _failed(spec, code, error_file, log)
        try:
            benches = list(pyperf.BenchmarkSuite.load(str(out)).get_benchmarks())
        except (OSError, ValueError) as exc:
            return Failure(spec.id, "error", f"unreadable worker result: {exc}")
        if side == "base":
            self.base_succeeded = True
        return benches

    def _environ(self) -> dict[str, str]:
        # The same stripped environment pyperf gives its workers (and `run` its sampled ones).
        return _stripped_environ(RunOptions(inherit_environ=self.options.inherit_environ))

    def _suite_file(self, side: SideName, spec: BenchmarkSpec) -> Path:
        return self.sides[side].suites / f"{spec.suite}.py"

    def _base_broken(self) -> bool:
        return not self.base_succeeded and any(f.side == "base" for f in self.failures)

    # -- the files ----------------------------------------------------------------------------

    def _all_failures(self) -> list[dict[str, Any]]:
        return [*self.manifest.get("failures", []), *(f.as_json() for f in self.failures)]

    def _write_results(self, fingerprints: dict[SideName, Fingerprint]) -> dict[str, Path]:
        import pyperf

        finished = dt.datetime.now(dt.UTC)
        failures = self._all_failures()
        files: dict[str, Path] = {}
        for side in SIDES:
            benches = list(self.results[side].values())
            if not benches:
                continue
            side_failures = [
                {"id": f["id"], "kind": f["kind"], "error": f["error"]}
                for f in failures
                if f["side"] == side
            ]
            metadata: dict[str, MetadataValue] = {
                # A new id whenever the file is written: an appended file is a new result.
                "perfkit_run_id": uuid.uuid4().hex,
                "perfkit_version": _version(),
                "perfkit_mode": "ab",
                "perfkit_started": str(self.manifest.get("started") or _iso(self.started)),
                "perfkit_finished": _iso(finished),
                **fingerprints[side].metadata(),
                "perfkit_failed": json.dumps(side_failures),
                "perfkit_ab_side": side,
                "perfkit_ab_seed": self.seed,
            }
            for bench in benches:
                extra: dict[str, MetadataValue] = {"perfkit_ab_pairs": len(bench.get_runs())}
                if side == "head" and self.options.inject_head:
                    # What the busy-wait reached: time workloads, not sampled metrics.
                    timed = bench.get_metadata().get("perfkit_kind") == "time"
                    extra["perfkit_injected_percent"] = self.options.inject_head if timed else 0.0
                bench.update_metadata({**metadata, **extra})
            path = self.out_dir / f"{side}.json"
            partial = self.out_dir / f".{side}.json.partial"
            self.out_dir.mkdir(parents=True, exist_ok=True)
            pyperf.BenchmarkSuite(benches).dump(str(partial), replace=True)
            os.replace(partial, path)
            files[side] = path
        return files

    def _write_manifest(
        self,
        entries: list[_Entry],
        fingerprints: dict[SideName, Fingerprint],
        files: dict[str, Path],
        budget_reached: bool,
        interrupted: bool,
    ) -> None:
        finished = dt.datetime.now(dt.UTC)
        duration = time.monotonic() - self.clock_started
        benchmarks = dict(self.manifest.get("benchmarks", {}))
        for entry in entries:
            benchmarks[entry.id] = {
                "sides": list(entry.sides),
                "kind": entry.spec.kind,
                "pairs": entry.pairs,
                "orders": entry.orders,
                "loops": entry.loops,
                "calibrated_on": entry.calibrated_on,
                "calibration_seconds_per_op": entry.seconds_per_op,
                "seconds": round(entry.seconds, 3),
            }
        session = {
            "started": _iso(self.started),
            "finished": _iso(finished),
            "duration": round(duration, 3),
            "append": self.options.append,
            "pairs_requested": self.options.pairs,
            "benchmarks": [entry.id for entry in entries],
            "budget": self.options.budget,
            "budget_reached": budget_reached,
            "interrupted": interrupted,
            "failures": len(self.failures),
        }
        sessions = [*self.manifest.get("sessions", []), session]
        manifest = {
            "version": AB_VERSION,
            "perfkit_version": _version(),
            "seed": self.seed,
            "settings": self.options.settings(),
            "sides": {
                name: {
                    "python": str(side.python),
                    "suites": str(side.suites),
                    "commit": fingerprints[name].commit or None,
                    "branch": fingerprints[name].branch or None,
                    "dirty": fingerprints[name].dirty,
                    "python_version": fingerprints[name].python,
                    "libraries": fingerprints[name].libraries,
                }
                for name, side in self.sides.items()
            },
            "started": self.manifest.get("started") or _iso(self.started),
            "finished": _iso(finished),
            "duration": round(sum(float(s["duration"]) for s in sessions), 3),
            "sessions": sessions,
            "files": {
                side: (
                    files[side].name if side in files else self.manifest.get("files", {}).get(side)
                )
                for side in SIDES
            },
            "benchmarks": benchmarks,
            "failures": self._all_failures(),
        }
        self.out_dir.mkdir(parents=True, exist_ok=True)
        partial = self.out_dir / f".{MANIFEST}.partial"
        partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, self.out_dir / MANIFEST)


def _check_side(side: Side) -> None:
    if not side.python.is_file() or not os.access(side.python, os.X_OK):
        raise UsageError(
            f"--{side.name}-python {side.python} is not an executable file; pass the python of "
            f"the {side.name} environment (for example .venv/bin/python)"
        )
    if not side.suites.is_dir():
        raise UsageError(
            f"--{side.name}-suites {side.suites} is not a folder; pass the {side.name} "
            "revision's benchmarks/ folder"
        )


def _only_id(name: str, specs: Sequence[BenchmarkSpec]) -> str:
    """``--only`` takes ids, or the metric names of a latency benchmark (``<id>.p99``), which is
    what a report lists; both select the benchmark."""
    for spec in specs:
        if spec.id == name or (spec.kind == "latency" and name.startswith(f"{spec.id}.")):
            return spec.id
    raise SelectionError(
        f"--only {name}: no such benchmark on either side; run 'perfkit-bench list' to see the ids"
    )


def _random_seed() -> int:
    # 31 bits: readable on a command line and an int in every JSON reader.
    return secrets.randbelow(2**31)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds")


# -- the command ---------------------------------------------------------------------------------


def add_ab_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``perfkit-bench ab`` to the CLI's subcommands."""
    parser = commands.add_parser(
        "ab",
        help="paired, interleaved A/B runs of two revisions (the regression gate's runner)",
        description="Run each benchmark's worker processes on two sides (an interpreter and a "
        "suite folder each), one process per side and pair, in a seeded random order; write "
        "base.json, head.json and ab.json into --out-dir.",
    )
    for side in SIDES:
        parser.add_argument(
            f"--{side}-python",
            type=Path,
            required=True,
            metavar="PATH",
            help=f"python of the {side} environment (perfkit-bench + the {side} revision)",
        )
        parser.add_argument(
            f"--{side}-suites",
            type=Path,
            required=True,
            metavar="DIR",
            help=f"the {side} revision's suite folder (benchmarks/)",
        )
    parser.add_argument(
        "--pairs", type=positive_int, required=True, metavar="N", help="A/B pairs per benchmark"
    )
    parser.add_argument("--out-dir", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--suite", action="append", default=[], metavar="NAME", help="only this suite (repeatable)"
    )
    parser.add_argument(
        "--target", action="append", default=[], metavar="NAME", help="only this target"
    )
    parser.add_argument(
        "-k", dest="pattern", metavar="PATTERN", help="id substring, or glob with * ? ["
    )
    parser.add_argument(
        "--exclude-references",
        action="store_true",
        help="skip <suite>.reference.* benchmarks (bare baselines and peer libraries)",
    )
    parser.add_argument(
        "--only",
        action="extend",
        nargs="+",
        default=[],
        metavar="ID",
        help="only these ids (repeatable; a latency metric name selects its benchmark)",
    )
    parser.add_argument(
        "--values",
        "-n",
        type=positive_int,
        default=DEFAULT_VALUES,
        help=f"values per process (default {DEFAULT_VALUES})",
    )
    parser.add_argument(
        "--warmups",
        "-w",
        type=non_negative_int,
        default=DEFAULT_WARMUPS,
        help=f"warm-up values per process (default {DEFAULT_WARMUPS})",
    )
    parser.add_argument(
        "--min-time",
        type=positive_finite_float,
        default=DEFAULT_MIN_TIME,
        metavar="SECONDS",
        help=f"loop calibration target per value, time benchmarks (default {DEFAULT_MIN_TIME:g})",
    )
    parser.add_argument("--affinity", metavar="CPUS", help="pin workers to CPUs, e.g. 0 or 0-1")
    parser.add_argument(
        "--timeout",
        type=positive_finite_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"per worker process unless the benchmark declares its own "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--inherit-environ",
        metavar="VARS",
        default="",
        help="comma-separated environment variables passed to workers (the rest is stripped)",
    )
    parser.add_argument(
        "--seed", type=int, help="seed of the pair orders (default: random; always recorded)"
    )
    parser.add_argument(
        "--budget",
        type=positive_finite_float,
        metavar="SECONDS",
        help="start no pair after this many seconds; complete pairs are kept",
    )
    parser.add_argument(
        "--inject-head",
        type=float,
        default=0.0,
        metavar="PERCENT",
        help="evaluation: slow the head's time workloads by PERCENT %% (busy-wait in each call)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add pairs to the A/B run in --out-dir, continuing its pair numbers",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress display")
    parser.set_defaults(handler=_command)


def _command(args: argparse.Namespace) -> int:
    options = ABOptions(
        pairs=args.pairs,
        values=args.values,
        warmups=args.warmups,
        min_time=args.min_time,
        affinity=args.affinity,
        seed=args.seed,
        budget=args.budget,
        inject_head=args.inject_head,
        timeout=args.timeout,
        inherit_environ=tuple(v.strip() for v in args.inherit_environ.split(",") if v.strip()),
        suites=tuple(args.suite),
        targets=tuple(args.target),
        pattern=args.pattern,
        exclude_references=args.exclude_references,
        only=tuple(args.only),
        append=args.append,
    )
    # abspath, not resolve: a virtual environment's python is a symlink, and following it would
    # leave the environment.
    base = Side("base", Path(os.path.abspath(args.base_python)), args.base_suites.resolve())
    head = Side("head", Path(os.path.abspath(args.head_python)), args.head_suites.resolve())
    # As in `run`: a CI runner cancels with SIGTERM; unwinding kills the worker process groups.
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        result = run_ab(base, head, options, args.out_dir, make_progress(quiet=args.quiet))
    finally:
        signal.signal(signal.SIGTERM, previous)
    for failure in result.failures:
        where = f"pair {failure.pair}"
        if failure.stage == "calibration":
            where = f"loop calibration before {where}"
        print(
            f"FAILED {failure.id} ({failure.kind}) on the {failure.side} side, {where}: "
            f"{failure.error}; stopped on both sides",
            file=sys.stderr,
        )
    if result.budget_reached:
        short = sum(1 for added in result.added.values() if added < result.requested)
        print(
            f"perfkit-bench ab: the budget of {args.budget:g} s ran out: no pair was started after "
            f"it and only complete pairs were kept; {short} of {len(result.added)} benchmarks got "
            f"fewer than {result.requested} new pairs",
            file=sys.stderr,
        )
    print(result.out_dir)
    return 1 if result.failures else 0
