"""One A/B session: list both sides, plan the benchmarks, run the pairs round by round within
the budget, and write the out-dir, keeping complete pairs even when interrupted."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from perfkit_bench._ab._files import OutDir
from perfkit_bench._ab._model import (
    SIDES,
    ABFailure,
    ABOptions,
    ABResult,
    Entry,
    Side,
    SideName,
    pair_order,
)
from perfkit_bench._ab._plan import plan
from perfkit_bench._ab._sides import check_side, fingerprint_side, list_side
from perfkit_bench._ab._slices import SliceError, SlicePair, slice_cpu
from perfkit_bench._ab._workers import Workers
from perfkit_bench._exceptions import RunFailed, SideError
from perfkit_bench._fingerprint import Fingerprint
from perfkit_bench._plumbing import Failure, iso
from perfkit_bench._progress import Progress

__all__ = ["run_ab"]


def run_ab(
    base: Side, head: Side, options: ABOptions, out_dir: Path, progress: Progress
) -> ABResult:
    """Run the A/B session and write ``base.json``, ``head.json`` and ``ab.json`` in ``out_dir``.

    Raises :class:`UsageError` / :class:`OutputExistsError` / :class:`SelectionError` before
    measuring anything, :class:`SideError` when a side cannot list its benchmarks or the base
    side failed every benchmark it ran, :class:`RunFailed` when nothing could be measured.
    """
    return _Session(base, head, options, out_dir, progress).run()


@dataclass
class _Rounds:
    """Where the rounds are: the round, the progress step, the process pairs started."""

    entries: int
    pairs: int
    deadline: float | None
    index: int = 0
    step: int = 0
    pairs_started: int = 0

    def over(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class _Session:
    def __init__(
        self, base: Side, head: Side, options: ABOptions, out_dir: Path, progress: Progress
    ) -> None:
        self.sides: dict[SideName, Side] = {"base": base, "head": head}
        self.options = options
        self.out = OutDir(out_dir, self.sides, options)
        self.workers = Workers(self.sides, options)
        self.progress = progress
        self.started = dt.datetime.now(dt.UTC)
        self.clock_started = time.monotonic()
        self.failures: list[ABFailure] = []
        self.cpu = slice_cpu(options.affinity)
        self.slice_metadata: dict[SideName, dict[str, Any]] = {}

    def run(self) -> ABResult:
        for side in self.sides.values():
            check_side(side)
        self.out.open()
        with tempfile.TemporaryDirectory(prefix="perfkit-ab-") as tmp:
            workdir = Path(tmp)
            environ = self.workers.environ()
            specs = {
                name: list_side(side, workdir, environ, self.options.timeout)
                for name, side in self.sides.items()
            }
            entries = plan(
                specs["base"],
                specs["head"],
                self.sides,
                self.options,
                self.out.earlier.get("benchmarks", {}),
            )
            fingerprints = {
                name: fingerprint_side(side, workdir, environ) for name, side in self.sides.items()
            }
            budget_reached, files = self._measure_and_write(entries, fingerprints, workdir)
        self._raise_if_nothing(entries, files, budget_reached)
        return ABResult(
            out_dir=self.out.path,
            files=files,
            pairs={entry.id: entry.pairs for entry in entries},
            added={entry.id: entry.pairs - entry.earlier_pairs for entry in entries},
            requested=self.options.pairs,
            failures=list(self.failures),
            budget_reached=budget_reached,
            duration=time.monotonic() - self.clock_started,
            short=sum(
                1
                for entry in entries
                if entry.pairs - entry.earlier_pairs < self.options.wanted(entry)
            ),
        )

    def _measure_and_write(
        self, entries: list[Entry], fingerprints: dict[SideName, Fingerprint], workdir: Path
    ) -> tuple[bool, dict[str, Path]]:
        budget_reached = False
        interrupted = True
        try:
            budget_reached = self._rounds(entries, workdir)
            interrupted = False
        finally:
            # Complete pairs are kept even when interrupted (Ctrl-C, SIGTERM): they are valid.
            files = (
                {}
                if self._base_broken()
                else self.out.write_results(fingerprints, self.failures, self.started)
            )
            session = self._session_record(entries, budget_reached, interrupted)
            self.out.write_manifest(entries, fingerprints, files, session, self.failures)
        return budget_reached, files

    def _session_record(
        self, entries: list[Entry], budget_reached: bool, interrupted: bool
    ) -> dict[str, Any]:
        return {
            "started": iso(self.started),
            "finished": iso(dt.datetime.now(dt.UTC)),
            "duration": round(time.monotonic() - self.clock_started, 3),
            "append": self.options.append,
            "pairs_requested": self.options.pairs,
            "benchmarks": [entry.id for entry in entries],
            "budget": self.options.budget,
            "budget_reached": budget_reached,
            "interrupted": interrupted,
            "failures": len(self.failures),
        }

    def _raise_if_nothing(
        self, entries: list[Entry], files: dict[str, Path], budget_reached: bool
    ) -> None:
        if self._base_broken():
            first = next(f for f in self.failures if f.side == "base")
            raise SideError(
                f"the base side failed every benchmark it ran (first: {first.id}: {first.error}); "
                f"check its environment: {self.sides['base'].python} -m perfkit_bench run "
                f"{self.sides['base'].suites} -k {first.id} shows the whole error"
            )
        if files:
            return
        reason = (
            f"the budget of {self.options.budget:g} s ran out before a pair completed; "
            "pass a larger --budget"
            if budget_reached and not self.failures
            else f"every selected benchmark failed ({len(entries)})"
        )
        raise RunFailed(
            f"{reason}; no result file written",
            [{"id": f.id, "kind": f.kind, "error": f"{f.side}: {f.error}"} for f in self.failures],
        )

    def _base_broken(self) -> bool:
        return not self.workers.base_succeeded and any(f.side == "base" for f in self.failures)

    # -- the pairs ----------------------------------------------------------------------------

    def _rounds(self, entries: list[Entry], workdir: Path) -> bool:
        """Run the pairs, round by round; True when the budget stopped them early."""
        pairs = self.options.pairs
        budget = self.options.budget
        deadline = None if budget is None else self.clock_started + budget
        sliced = [entry for entry in entries if entry.mode(self.options) == "slices"]
        alone = [entry for entry in entries if entry.mode(self.options) == "processes"]
        self.progress.start(sum(self.options.wanted(entry) for entry in entries), unit="pair")
        rounds = _Rounds(len(entries), pairs, deadline)
        try:
            for round_index in range(pairs):
                rounds.index = round_index
                if self._slice_round(sliced, rounds, workdir):
                    return True
                if round_index >= (self.options.process_pairs or pairs):
                    continue
                for entry in alone:
                    if entry.stopped:
                        continue
                    if rounds.over():
                        return True
                    folder = workdir / f"{entries.index(entry):04d}-{entry.pairs + 1:04d}"
                    self._step(entry, rounds, functools.partial(self._pair, entry, folder))
        finally:
            self.progress.close()
        return False

    def _slice_round(self, entries: list[Entry], rounds: _Rounds, workdir: Path) -> bool:
        """One round of the slice-mode benchmarks: one fresh process pair serves them in turn (a
        seeded order, new each round, the same on both sides); a pair whose worker failed is
        replaced for the benchmarks after it. True when the budget stopped the round."""
        live = [entry for entry in entries if not entry.stopped]
        random.Random(f"perfkit-ab-round:{self.out.seed}:{rounds.index}").shuffle(live)
        pair: SlicePair | None = None
        try:
            for entry in live:
                if rounds.over():
                    return True
                if pair is None:
                    pair, failure = self._start_pair(entry, rounds, workdir)
                    if failure is not None:
                        self._step(entry, rounds, functools.partial(_given, failure))
                        continue
                assert pair is not None
                failure = self._step(entry, rounds, functools.partial(self._sliced, entry, pair))
                if failure is not None:
                    pair.close()
                    pair = None
        finally:
            if pair is not None:
                pair.close()
        return False

    def _start_pair(
        self, entry: Entry, rounds: _Rounds, workdir: Path
    ) -> tuple[SlicePair | None, ABFailure | None]:
        """A fresh process pair, its start order drawn like a pair's; or the failure that the
        next benchmark is charged with."""
        rounds.pairs_started += 1
        folder = workdir / f"slices-{rounds.index + 1:04d}-{rounds.pairs_started:03d}"
        folder.mkdir(parents=True)
        order = pair_order(self.out.seed, "perfkit-slice-workers", rounds.pairs_started)
        first: tuple[SideName, SideName] = (
            ("base", "head") if order == "base-first" else ("head", "base")
        )
        try:
            pair = SlicePair(self.sides, self.options, self.cpu, first, folder, self.slice_metadata)
        except SliceError as exc:
            return None, _slice_failure(entry, entry.pairs + 1, exc)
        return pair, None

    def _sliced(self, entry: Entry, pair: SlicePair) -> ABFailure | None:
        """The next pair of ``entry`` in slices of the process pair ``pair``."""
        number = entry.pairs + 1
        order = pair_order(self.out.seed, entry.id, number)
        first: SideName = "base" if order == "base-first" else "head"
        timeout = entry.spec.timeout if entry.spec.timeout is not None else self.options.timeout
        try:
            measured = pair.measure(entry, number, first, timeout)
        except SliceError as exc:
            return _slice_failure(entry, number, exc)
        self.workers.base_succeeded = True
        return self._commit(entry, number, order, measured, first)

    def _step(
        self, entry: Entry, rounds: _Rounds, measure: Callable[[], ABFailure | None]
    ) -> ABFailure | None:
        """The next pair of ``entry`` (``measure``), with its progress and its failure
        recorded."""
        label = f"{entry.id} (pair {rounds.index + 1}/{rounds.pairs}, {entry.mode(self.options)})"
        self.progress.begin(rounds.step, label)
        began = time.monotonic()
        failure = measure()
        elapsed = time.monotonic() - began
        entry.seconds += elapsed
        rounds.step += 1
        if failure is not None:
            self.failures.append(failure)
            entry.stopped = True
        error = None if failure is None else f"{failure.side}: {failure.error}"
        self.progress.finish(label, elapsed, error)
        return failure

    def _pair(self, entry: Entry, workdir: Path) -> ABFailure | None:
        """The next pair of ``entry`` in fresh worker processes, one per side."""
        pair = entry.pairs + 1
        workdir.mkdir(parents=True)
        sides, order = self._order(entry, pair)
        if entry.spec.kind == "time" and entry.loops is None:
            on = sides[0] if len(sides) == 1 else "base"
            failure = self.workers.calibrate(entry, on, workdir)
            if failure is not None:
                return dataclasses.replace(failure, pair=pair)
        measured: dict[SideName, list[Any]] = {}
        for side in sides:
            outcome = self.workers.measure(entry, side, workdir / side)
            if isinstance(outcome, Failure):
                return ABFailure(entry.id, side, pair, "pair", outcome.kind, outcome.error)
            measured[side] = outcome
        return self._commit(entry, pair, order, measured, sides[-1])

    def _order(self, entry: Entry, pair: int) -> tuple[tuple[SideName, ...], str]:
        """The sides of pair ``pair`` in running order, and the order's name."""
        sides = entry.sides
        if len(sides) != 2:
            return sides, f"{sides[0]}-only"
        order = pair_order(self.out.seed, entry.id, pair)
        return (("head", "base") if order == "head-first" else sides), order

    def _commit(
        self,
        entry: Entry,
        pair: int,
        order: str,
        measured: dict[SideName, list[Any]],
        last: SideName,
    ) -> ABFailure | None:
        """Add the pair to the results: both sides or neither (a pair is the unit, a half pair
        is no sample)."""
        import pyperf

        merged: dict[SideName, dict[str, Any]] = {"base": {}, "head": {}}
        try:
            for side, benches in measured.items():
                for bench in benches:
                    bench.update_metadata({"perfkit_pair": pair, "perfkit_ab_order": order})
                    name = str(bench.get_name())
                    earlier = self.out.results[side].get(name)
                    runs = [*earlier.get_runs(), *bench.get_runs()] if earlier else bench.get_runs()
                    merged[side][name] = pyperf.Benchmark(runs)
        except ValueError as exc:  # pyperf refuses runs from another interpreter or unit
            return ABFailure(
                entry.id, last, pair, "pair", "error", f"incompatible with earlier runs: {exc}"
            )
        for side in SIDES:
            self.out.results[side].update(merged[side])
        entry.pairs = pair
        entry.orders.append(order)
        return None


def _given(failure: ABFailure) -> ABFailure:
    return failure


def _slice_failure(entry: Entry, pair: int, exc: SliceError) -> ABFailure:
    """A slice worker's failure as the pair's failure: in the loop calibration when the entry
    has no loop count yet."""
    stage: Literal["calibration", "pair"] = "calibration" if entry.loops is None else "pair"
    kind: Literal["error", "timeout"] = "timeout" if exc.kind == "timeout" else "error"
    return ABFailure(entry.id, exc.side, pair, stage, kind, exc.error)
