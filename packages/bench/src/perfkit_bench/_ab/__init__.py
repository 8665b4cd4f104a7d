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

Rooms: ``_model`` (sides, options, pair order), ``_sides`` (asking each side's interpreter),
``_plan`` (the benchmarks to run), ``_workers`` (one side's worker processes), ``_session``
(the rounds of pairs), ``_files`` (the out-dir: ``--append``, base.json / head.json, ab.json),
``_command`` (the command line).
"""

from __future__ import annotations

from perfkit_bench._ab._command import add_ab_command
from perfkit_bench._ab._model import (
    AB_VERSION,
    MANIFEST,
    ABFailure,
    ABOptions,
    ABResult,
    Side,
    SideName,
    is_reference,
    pair_order,
)
from perfkit_bench._ab._session import run_ab

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
