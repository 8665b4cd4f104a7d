"""The instructions channel: instruction counts of CPU-bound time benchmarks under cachegrind.

``perfkit-bench instructions`` measures every selected benchmark that declares the
``instructions`` channel. Per benchmark:

1. **Run natively** once, alone: ``_instructions_worker calibrate`` picks N, the power of two
   of loops that the function reports as lasting at least ``CALIBRATION_SECONDS``; with
   ``--iterations N``, ``_instructions_worker count`` runs ``f(N)`` once instead.
2. **Count**, ``--repeat`` times: the same harness process twice under
   ``valgrind --tool=cachegrind --cache-sim=no``, once calling ``f(N)`` and once ``f(0)``
   (``_instructions_worker count``). Instructions per operation =
   ``(I(N) - I(0)) / (N x inner_loops)``: interpreter start-up, imports and the function's own
   set-up cancel out. A repeat is one pyperf run of one value, so the file shows whether the
   counts repeat exactly (they do, for a deterministic workload with a fixed hash seed).
3. **Write** one pyperf ``BenchmarkSuite``: one benchmark per id, unit ``integer``, with
   ``perfkit_channel=instructions`` and the run-level ``perfkit_*`` metadata of ``run``.

Every process gets the stripped environment that sampled workers get (PATH, HOME, PYTHONPATH
with the suite folder, locale) plus ``PYTHONHASHSEED=0`` (str hashes, and so dict and set
layouts, repeat from run to run; a random seed moved the count of one script by 0.09 %), a private
bytecode cache and an empty working directory (``_Harness``: both keep the harness identical from
one count to the next while other processes touch the checkout). Under valgrind the counts do not
depend on the machine's load, so the count processes of a benchmark run ``--jobs`` at a time;
the native run, which times, runs alone.

Rooms: ``_count`` (the method, per benchmark), ``_harness`` (the processes: the shared harness,
running them ``--jobs`` at a time), ``_command`` (the command line).
"""

from __future__ import annotations

from perfkit_bench._instructions._command import add_instructions_command
from perfkit_bench._instructions._count import (
    CALIBRATION_SECONDS,
    CHANNEL,
    DEFAULT_REPEAT,
    HASH_SEED,
    VALGRIND_MISSING,
    InstructionsOptions,
    find_valgrind,
    iterations_from,
    measure,
    parse_instructions,
)

__all__ = [
    "CALIBRATION_SECONDS",
    "CHANNEL",
    "DEFAULT_REPEAT",
    "HASH_SEED",
    "VALGRIND_MISSING",
    "InstructionsOptions",
    "add_instructions_command",
    "find_valgrind",
    "iterations_from",
    "measure",
    "parse_instructions",
]
