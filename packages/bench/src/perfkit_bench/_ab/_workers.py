"""One side's worker processes for one benchmark of an A/B pair: the loop calibration, and the
measuring worker (pyperf's worker mode with the calibrated loops for time benchmarks, the
``sample`` worker for the others), each in its side's interpreter with the stripped environment
of ``run``."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from perfkit_bench._ab._model import ABFailure, ABOptions, Entry, Side, SideName
from perfkit_bench._plumbing import (
    Failure,
    failed,
    pythonpath,
    run_process,
    stripped_environ,
    timed_out,
)
from perfkit_bench._spec import BenchmarkSpec
from perfkit_bench._worker import PROGRAM_ARGS

__all__ = ["Workers"]


class Workers:
    """Starts the workers of both sides; ``base_succeeded`` tells whether any base worker ever
    produced values (a base that never does is broken, not slow)."""

    def __init__(self, sides: dict[SideName, Side], options: ABOptions) -> None:
        self.sides = sides
        self.options = options
        self.base_succeeded = False

    def environ(self) -> dict[str, str]:
        # The same stripped environment pyperf gives its workers (and `run` its sampled ones).
        return stripped_environ(self.options.inherit_environ)

    def calibrate(self, entry: Entry, side: SideName, workdir: Path) -> ABFailure | None:
        """pyperf's loop calibration in one worker of ``side``: the loop count every worker of
        the benchmark then uses."""
        out = workdir / "calibration.json"
        error_file = workdir / "calibration-error.txt"
        spec = entry.specs[side]
        cmd = [
            *self._time_prefix(side, entry, error_file),
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

    def measure(self, entry: Entry, side: SideName, workdir: Path) -> list[Any] | Failure:
        """One worker of ``side``: its pyperf benchmarks, or why there are none."""
        workdir.mkdir()
        spec = entry.specs[side]
        out = workdir / "result.json"
        error_file = workdir / "error.txt"
        if spec.kind == "time":
            assert entry.loops is not None
            cmd = [*self._time_prefix(side, entry, error_file), "--loops", str(entry.loops)]
            if side == "head" and self.options.inject_head:
                cmd.extend(("--inject-percent", repr(self.options.inject_head)))
            cmd.extend(("-o", str(out)))
        else:
            cmd = self._sample_command(side, spec, error_file, out)
        return self._run(side, spec, cmd, out, error_file, workdir / "worker")

    def _sample_command(
        self, side: SideName, spec: BenchmarkSpec, error_file: Path, out: Path
    ) -> list[str]:
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
        return cmd

    def _time_prefix(self, side: SideName, entry: Entry, error_file: Path) -> list[str]:
        """pyperf's worker mode, driven directly: one process, no manager, no calibration; the
        values on the clock both sides are measured on (``Entry.clock``)."""
        spec = entry.specs[side]
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
            "--clock",
            entry.clock,
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
        env = self.environ()
        env["PYTHONPATH"] = pythonpath(self._suite_file(side, spec), env.get("PYTHONPATH"))
        code = run_process(cmd, env, log, time.monotonic() + timeout)
        if code is None:
            return timed_out(spec, timeout)
        if code != 0 or not out.exists():
            return failed(spec, code, error_file, log)
        try:
            benches = list(pyperf.BenchmarkSuite.load(str(out)).get_benchmarks())
        except (OSError, ValueError) as exc:
            return Failure(spec.id, "error", f"unreadable worker result: {exc}")
        if side == "base":
            self.base_succeeded = True
        return benches

    def _suite_file(self, side: SideName, spec: BenchmarkSpec) -> Path:
        return self.sides[side].suites / f"{spec.suite}.py"
