"""Slice-interleaved A/B: one long-lived worker per side (``_slice_worker``), both pinned to one
CPU, and single slices of work alternated between them.

For each benchmark a process pair serves, both workers make it their current benchmark; the loop
count of a slice is calibrated once (on the base side, the first time, so that one slice lasts
``slice_time`` on the benchmark's clock) and both sides use it for every slice of every pair. Then
the parent asks for one slice at a time, in A B B A order from a side picked by
:func:`~perfkit_bench._ab._model.pair_order`: only one worker runs at a time, and the two slices of
each adjacent pair see the same moment of the host, so its drift (10 % over seconds here) hits
both. The first ``slice_warmups`` slices of each side are kept as pyperf warm-ups; the next
``slices`` are the values. Every slice is timed inside its worker on the benchmark's clock.

A process pair serves many benchmarks in turn (the worker imports each suite once), so the
~0.3-0.5 s start-up of a worker is paid once per pair and round, not per benchmark. Both workers
get the same requests in the same order, so garbage collection (a full collection before each
benchmark, then Python's own thresholds), warm-up and the allocator's state are alike on both
sides.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from perfkit_bench._ab._model import SIDES, ABOptions, Entry, Side, SideName
from perfkit_bench._clock import CLOCK_METADATA, Clock
from perfkit_bench._plumbing import kill_group, last_line, stripped_environ
from perfkit_bench._spec import BenchmarkSpec

__all__ = ["MIN_SLICES", "SliceError", "SlicePair", "slice_cpu"]

# A within-pair estimate is a median of adjacent log-ratios: fewer than 10 make a poor median.
# Benchmarks whose slices last tens of milliseconds (set-up included) get this few: a long slice
# is less noisy than a short one, so fewer of them are needed.
MIN_SLICES = 10
# Starting a worker (interpreter, perfkit-bench, pyperf) takes 0.3-0.5 s here; importing a suite
# can take more. Beyond this, a worker that has not answered is broken.
_START_TIMEOUT = 120.0


class SliceError(Exception):
    """A slice worker failed: it answered an error, died, or did not answer in time."""

    def __init__(self, side: SideName, kind: str, error: str) -> None:
        super().__init__(error)
        self.side = side
        self.kind = kind
        self.error = error


def slice_cpu(affinity: str | None) -> int:
    """The CPU both workers of a pair are pinned to: the first of ``--affinity``, else the
    highest-numbered CPU this process may use (CPU 0 tends to take more of the machine's
    interrupts)."""
    if affinity:
        from perfkit_bench._worker import parse_cpu_list

        return min(parse_cpu_list(affinity))
    return max(os.sched_getaffinity(0))


class _Worker:
    """One side's ``_slice_worker`` process and its request/answer pipe."""

    def __init__(self, side: Side, options: ABOptions, cpu: int, log: Path) -> None:
        self.name: SideName = side.name
        cmd = [
            str(side.python),
            "-m",
            "perfkit_bench._slice_worker",
            "--suites",
            str(side.suites),
            "--affinity",
            str(cpu),
        ]
        if side.name == "head" and options.inject_head:
            cmd += ["--inject-percent", repr(options.inject_head)]
        env = stripped_environ(options.inherit_environ)
        env["PYTHONPATH"] = os.pathsep.join(
            dict.fromkeys([str(side.suites), *filter(None, env.get("PYTHONPATH", "").split(":"))])
        )
        self.log = Path(f"{log}.err")
        with open(self.log, "wb") as stderr:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                start_new_session=True,
            )

    def ask(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send one request and wait for its answer until ``deadline``."""
        stdin, stdout = self._pipes()
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
        except OSError:
            raise self._died() from None
        wait = max(deadline - time.monotonic(), 0.0)
        ready, _, _ = select.select([stdout], [], [], wait)
        if not ready:
            raise SliceError(self.name, "timeout", "no answer in time; killed the worker")
        line = stdout.readline()
        if not line:
            raise self._died()
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise SliceError(self.name, "error", str(answer["error"]))
        return answer

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        return self.proc.stdin, self.proc.stdout

    def _died(self) -> SliceError:
        code = self.proc.poll()
        why = last_line(self.log) or "the worker exited"
        return SliceError(self.name, "error", f"{why} (exit code {code})")

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.close()  # end of requests: the worker's loop ends
                self.proc.wait(timeout=2.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
        kill_group(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@dataclass
class _Slices:
    """One side's slice times of one benchmark in one pair, in running order."""

    warmups: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)


class SlicePair:
    """One fresh process pair: a slice worker per side, pinned to ``cpu``, started in ``order``
    (the side named first starts first)."""

    def __init__(
        self,
        sides: dict[SideName, Side],
        options: ABOptions,
        cpu: int,
        order: tuple[SideName, SideName],
        workdir: Path,
        metadata: dict[SideName, dict[str, Any]],
    ) -> None:
        self.options = options
        self.metadata = metadata
        self.workers: dict[SideName, _Worker] = {}
        try:
            for name in order:
                self.workers[name] = _Worker(sides[name], options, cpu, workdir / f"slices-{name}")
            deadline = time.monotonic() + _START_TIMEOUT
            for name in order:
                if name not in self.metadata:
                    answer = self.workers[name].ask({"op": "metadata"}, deadline)
                    self.metadata[name] = dict(answer["metadata"])
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for worker in self.workers.values():
            worker.close()
        self.workers.clear()

    def measure(
        self, entry: Entry, pair: int, first: SideName, timeout: float
    ) -> dict[SideName, list[Any]]:
        """Pair ``pair`` of ``entry``: its pyperf benchmark per side (one run holding the slices),
        or :class:`SliceError`. Sets the entry's loop count and slice count the first time."""
        deadline = time.monotonic() + timeout
        began = dt.datetime.now(dt.UTC)
        clock = entry.clock
        for name in SIDES:
            spec = entry.specs[name]
            request = {"op": "bench", "suite": spec.suite, "id": spec.id, "clock": clock}
            self.workers[name].ask(request, deadline)
        if entry.loops is None:
            self._calibrate(entry, deadline)
        assert entry.loops is not None
        times = self._run_slices(entry, entry.loops, first, deadline)
        seconds = (dt.datetime.now(dt.UTC) - began).total_seconds()
        return {
            name: [self._benchmark(entry, name, times[name], clock, began, seconds)]
            for name in SIDES
        }

    def _calibrate(self, entry: Entry, deadline: float) -> None:
        target = {"op": "calibrate", "target": self.options.slice_time}
        answer = self.workers["base"].ask(target, deadline)
        loops = int(answer["loops"])
        entry.loops = loops
        entry.calibrated_on = "base"
        entry.seconds_per_op = float(answer["seconds"]) / (loops * entry.spec.inner_loops)

    def _run_slices(
        self, entry: Entry, loops: int, first: SideName, deadline: float
    ) -> dict[SideName, _Slices]:
        """The warm-ups, then the measured slices, A B B A ... from ``first``."""
        second: SideName = "head" if first == "base" else "base"
        times = {name: _Slices() for name in SIDES}
        request = {"op": "slice", "loops": loops}
        started = time.monotonic()
        warmups = self.options.slice_warmups
        for index in _indices(warmups, entry, self.options):
            if index == warmups and entry.slices is None:
                entry.slices = self._slice_count(time.monotonic() - started, warmups)
            order = (first, second) if index % 2 == 0 else (second, first)
            for name in order:
                t = float(self.workers[name].ask(request, deadline)["t"])
                bucket = times[name].warmups if index < warmups else times[name].values
                bucket.append(t)
        return times

    def _slice_count(self, warmup_seconds: float, warmups: int) -> int:
        """Slices per side and pair for a new benchmark: ``--slices``, fewer when a slice (its
        call, set-up included, and the round trip) is so slow that they would take more than
        ``--pair-seconds`` a side; never fewer than :data:`MIN_SLICES`."""
        wanted = self.options.slices
        if warmups == 0 or warmup_seconds <= 0:
            return wanted
        per_slice = warmup_seconds / (2 * warmups)
        affordable = int(self.options.pair_seconds / per_slice)
        return max(MIN_SLICES, min(wanted, affordable))

    def _benchmark(
        self,
        entry: Entry,
        side: SideName,
        times: _Slices,
        clock: Clock,
        began: dt.datetime,
        seconds: float,
    ) -> Any:
        import pyperf

        spec: BenchmarkSpec = entry.specs[side]
        assert entry.loops is not None
        per_op = entry.loops * spec.inner_loops
        metadata = {
            **self.metadata[side],
            **spec.metadata(),
            "name": spec.id,
            "unit": "second",
            "loops": entry.loops,
            "inner_loops": spec.inner_loops,
            # pyperf's own form (its workers' runs beside these in one file): local time,
            # no timezone; a reader cannot compare aware and naive dates.
            "date": began.astimezone().replace(tzinfo=None).isoformat(" "),
            "duration": seconds,
            "perfkit_clock": CLOCK_METADATA[clock],
            "perfkit_ab_mode": "slices",
            "perfkit_ab_slices": len(times.values),
        }
        run = pyperf.Run(
            [t / per_op for t in times.values],
            warmups=[(entry.loops, t / per_op) for t in times.warmups] or None,
            metadata=metadata,
            collect_metadata=False,
        )
        return pyperf.Benchmark([run])


def _indices(warmups: int, entry: Entry, options: ABOptions) -> Iterator[int]:
    """Slice indices: the warm-ups, then the entry's slice count (decided after the warm-ups of
    its first pair, so read lazily)."""
    index = 0
    while index < warmups + (entry.slices if entry.slices is not None else options.slices):
        yield index
        index += 1
