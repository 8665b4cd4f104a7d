"""pyperf's JSON result format, read into plain data: what ingest needs, without pyperf's objects.

Why hand-rolled: ``pyperf.BenchmarkSuite.load`` builds a ``Run`` per worker process and re-parses
and re-validates the whole merged metadata (suite + benchmark + run, ~25 keys) of every one. On a
realistic perfkit file (150 benchmarks x 20 processes x 3 values, ``toolkit.ingest``) that loader
took 38.5 ms of a 52 ms read (best of 5 here; the store adds ~13 ms), of which ``json.loads``
is 3.5 ms; the whole ingest ran at 1.7-2.2 k results/s against a 10 k/s goal (issue 5). This
reader takes 2.9 ms on the parsed file (pyperf's object building: 33 ms), the read 13.6 ms, and
the ingest runs at 4.7-4.9 k results/s (perfkit-bench, same machine, interleaved with the old
code). Checking the values of all of a benchmark's runs in one pass rather than run by run, and
skipping the date scan when no run has a date, then took 36 -> 22 M instructions per file
(cachegrind; ~2.9 -> ~2.0 ms). This module reads one documented format, version ``"1.0"`` (what
pyperf >= 1.0 writes), validates each metadata dictionary once where it is written, and
reproduces the results of pyperf's own methods:

- ``Benchmark.get_metadata()``: suite metadata, overridden by benchmark metadata, overridden by
  each run's metadata (``Benchmark._json_load`` / ``Run._json_load``), then only the keys whose
  value is equal in every run (``_common_metadata``; the first run's value and key order kept);
- ``BenchmarkSuite.get_metadata()``: the same intersection over the benchmarks;
- ``BenchmarkSuite.get_dates()``: per run, ``date`` to ``date`` + ceil(``duration``, or the sum of
  the raw values and warmups when there is no ``duration``);
- the values of each run (warmups excluded; calibration runs, which have only warmups, give an
  empty tuple, as ``run.values`` does).

pyperf stays the reference: :func:`load_suite` returns ``None`` for any file it does not fully
understand (another version, a shape or metadata value pyperf would reject or rewrite, such as a
string with surrounding spaces, which pyperf strips), and the caller then uses pyperf's loader, so
odd files behave exactly as before. The tests cross-check both readers on every pyperf file in
``tests/data/pyperf`` and on generated perfkit files.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any, NamedTuple

__all__ = ["LoadedBenchmark", "LoadedSuite", "load_suite"]

# The only format version read here (pyperf's _JSON_VERSION since pyperf 1.0, still current in
# pyperf 2.10; version 6 and older store warmups and samples differently).
FORMAT_VERSION = "1.0"
# pyperf's default unit (pyperf._formatter.DEFAULT_UNIT).
_DEFAULT_UNIT = "second"
# Metadata pyperf requires to be equal in every run of a benchmark (pyperf _bench._CHECKED_METADATA).
_CHECKED_METADATA = frozenset(
    {
        "aslr",
        "cpu_count",
        "cpu_model_name",
        "hostname",
        "inner_loops",
        "name",
        "platform",
        "python_executable",
        "python_implementation",
        "python_unicode",
        "python_version",
        "unit",
    }
)
_MISSING = object()
_NUMBER_TYPES = frozenset({float, int})
_FLOAT_TYPE = frozenset({float})
_NO_METADATA: dict[str, Any] = {}  # shared, never modified
_NO_VALUES: list[Any] = []  # shared, never modified


def _int_at_least_1(value: Any) -> bool:
    return type(value) is int and value >= 1


def _int_at_least_0(value: Any) -> bool:
    return type(value) is int and value >= 0


def _number_at_least_0(value: Any) -> bool:
    return type(value) in (int, float) and value >= 0


def _known_unit(value: Any) -> bool:
    return value in ("second", "byte", "integer")


def _text(value: Any) -> bool:
    return type(value) is str


def _never(value: Any) -> bool:
    return False


# pyperf's registry of typed metadata (pyperf._metadata.METADATA): what a value must be for
# pyperf's parse_metadata to accept it unchanged. Lists (tags) are left to pyperf. The tests check
# that this table names every key of pyperf's registry.
_TYPED_METADATA: dict[str, Callable[[Any], bool]] = {
    "loops": _int_at_least_1,
    "inner_loops": _int_at_least_1,
    "duration": _number_at_least_0,
    "uptime": _number_at_least_0,
    "load_avg_1min": _number_at_least_0,
    "mem_max_rss": _int_at_least_1,
    "mem_peak_pagefile_usage": _int_at_least_1,
    "command_max_rss": _int_at_least_1,
    "unit": _known_unit,
    "date": _text,
    "boot_time": _text,
    "calibrate_loops": _int_at_least_1,
    "recalibrate_loops": _int_at_least_1,
    "calibrate_warmups": _int_at_least_0,
    "recalibrate_warmups": _int_at_least_0,
    "tags": _never,
}


@dataclass(frozen=True, slots=True)
class LoadedBenchmark:
    """One benchmark as pyperf would present it."""

    name: str
    unit: str
    metadata: dict[str, Any]  # Benchmark.get_metadata()
    processes: tuple[tuple[float, ...], ...]  # run.values per run, file order; () = calibration


@dataclass(frozen=True, slots=True)
class LoadedSuite:
    """One result file as pyperf would present it."""

    benchmarks: tuple[LoadedBenchmark, ...]
    metadata: dict[str, Any]  # BenchmarkSuite.get_metadata()
    # BenchmarkSuite.get_dates(), called when needed (pyperf's raises on a malformed date).
    get_dates: Callable[[], tuple[datetime.datetime, datetime.datetime] | None]


def load_suite(data: Any) -> LoadedSuite | None:
    """The suite in parsed pyperf JSON, or None when pyperf's own loader must decide."""
    if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
        return None
    benchmarks_json = data.get("benchmarks")
    suite_md = data.get("metadata", {})
    if type(benchmarks_json) is not list or not benchmarks_json or not _valid_metadata(suite_md):
        return None
    benchmarks: list[LoadedBenchmark] = []
    starts_ends: list[tuple[datetime.datetime, datetime.datetime] | None] = []
    names: set[str] = set()
    for bench_json in benchmarks_json:
        loaded = _load_benchmark(bench_json, suite_md)
        if loaded is None:
            return None
        bench, dates = loaded
        # pyperf refuses two benchmarks with the same (non-empty) name in one suite.
        if bench.name in names:
            return None
        names.add(bench.name)
        benchmarks.append(bench)
        starts_ends.append(dates)
    try:
        suite_dates = _suite_dates(starts_ends)
    except TypeError:
        # Naive and aware dates compared: pyperf's get_dates raises, and the caller reports it.
        return None
    return LoadedSuite(
        benchmarks=tuple(benchmarks),
        metadata=_common_metadata([bench.metadata for bench in benchmarks]),
        get_dates=lambda: suite_dates,
    )


def _valid_metadata(metadata: Any) -> bool:
    """True when pyperf's parse_metadata accepts ``metadata`` and returns it unchanged."""
    if type(metadata) is not dict:
        return False
    for key, value in metadata.items():
        kind = type(value)
        if kind is str:
            # pyperf strips values (a changed value is left to pyperf) and refuses empty ones and
            # newlines.
            if not value or value.strip() != value or "\n" in value or "\r" in value:
                return False
        elif kind is not int and kind is not float:
            return False  # bool, None, list, dict: pyperf's call
        check = _TYPED_METADATA.get(key)
        if check is not None and not check(value):
            return False
    return True


def _load_benchmark(
    bench_json: Any, suite_md: dict[str, Any]
) -> tuple[LoadedBenchmark, tuple[datetime.datetime, datetime.datetime] | None] | None:
    runs = _load_runs(bench_json, suite_md)
    if runs is None:
        return None
    processes = _processes(runs.values)
    # Only keys set by some run can differ between runs; the rest are the base's values.
    varying = set().union(*runs.owns)
    described = _described(runs.base, runs.owns, varying)
    if processes is None or described is None:
        return None
    name, unit, metadata = described
    bench = LoadedBenchmark(name=name, unit=unit, metadata=metadata, processes=processes)
    if "date" not in runs.base and "date" not in varying:
        return bench, None  # no run has a date (a file written without pyperf's metadata)
    try:
        dates = _benchmark_dates(runs.base, runs.owns, runs.runs_json, runs.warmups)
    except (ValueError, TypeError, OverflowError):
        return None  # a malformed date: pyperf's get_dates raises, and the caller reports it
    return bench, dates


class _Runs(NamedTuple):
    """One benchmark's runs as read, each checked on its own."""

    base: dict[str, Any]
    """Suite metadata overridden by the benchmark's."""
    runs_json: list[dict[str, Any]]
    owns: list[dict[str, Any]]
    """Each run's own metadata."""
    values: list[list[Any]]
    warmups: list[tuple[tuple[int, float], ...]]


def _load_runs(bench_json: Any, suite_md: dict[str, Any]) -> _Runs | None:
    if type(bench_json) is not dict:
        return None
    bench_md = bench_json.get("metadata", {})
    runs_json = bench_json.get("runs")
    if not _valid_metadata(bench_md) or type(runs_json) is not list or not runs_json:
        return None
    owns: list[dict[str, Any]] = []
    values_lists: list[list[Any]] = []
    warmups: list[tuple[tuple[int, float], ...]] = []
    # The loop below runs once per worker process (3000 times in a 150-benchmark perfkit file):
    # keep it short (the values of all runs are checked at once after it). Plain dict.get calls:
    # 3.11's specialised bytecode makes them cheaper than C-level passes with methodcaller.
    for run_json in runs_json:
        if type(run_json) is not dict:
            return None
        own = run_json.get("metadata", _NO_METADATA)
        values = run_json.get("values", _NO_VALUES)
        run_warmups = run_json.get("warmups")
        if (own is not _NO_METADATA and not _valid_metadata(own)) or type(values) is not list:
            return None
        checked_warmups = _warmups(run_warmups) if run_warmups else ()
        if checked_warmups is None or (not values and not checked_warmups):
            return None
        owns.append(own)
        values_lists.append(values)
        warmups.append(checked_warmups)
    base = dict(suite_md, **bench_md) if suite_md else bench_md
    return _Runs(base, runs_json, owns, values_lists, warmups)


def _processes(values_lists: list[list[Any]]) -> tuple[tuple[float, ...], ...] | None:
    """Each run's values as floats; None unless every value is a number > 0 (as pyperf checks;
    bool is left to pyperf)."""
    flat = list(chain.from_iterable(values_lists))
    types = set(map(type, flat))
    if not types <= _NUMBER_TYPES or (flat and min(flat) <= 0):
        return None
    if types <= _FLOAT_TYPE:  # JSON numbers with a fraction or exponent: floats already
        return tuple(map(tuple, values_lists))
    try:
        return tuple(tuple(map(float, values)) for values in values_lists)
    except OverflowError:  # an integer beyond the float range: the caller's checks refuse it
        return None


def _described(
    base: dict[str, Any], owns: list[dict[str, Any]], varying: set[str]
) -> tuple[str, str, dict[str, Any]] | None:
    """(name, unit, metadata) as pyperf's Benchmark gives them; None when the first run has no
    name or a checked key differs between runs."""
    # Benchmark.get_metadata() starts from the first run's merged metadata (its key order too).
    first = dict(base, **owns[0]) if owns[0] else dict(base)
    # Benchmark(): the first run must carry the name; name and unit are the first run's.
    if "name" not in first:
        return None
    name, unit = str(first["name"]), str(first.get("unit", _DEFAULT_UNIT))
    for key in varying:
        reference = first.get(key, _MISSING)
        fallback = base.get(key, _MISSING)
        for own in owns:
            if own.get(key, fallback) != reference:
                if key in _CHECKED_METADATA:
                    return None  # pyperf: "incompatible benchmark, metadata ... is different"
                first.pop(key, None)
                break
    return name, unit, first


def _warmups(warmups: Any) -> tuple[tuple[int, float], ...] | None:
    """pyperf's warmups check: (loops, value) pairs, loops an int >= 1, value a number >= 0."""
    if type(warmups) is not list:
        return None
    pairs: list[tuple[int, float]] = []
    for item in warmups:
        if type(item) is not list or len(item) != 2:
            return None
        loops, value = item
        if not _int_at_least_1(loops) or not _number_at_least_0(value):
            return None
        pairs.append((loops, value))
    return tuple(pairs)


def _benchmark_dates(
    base: Mapping[str, Any],
    owns: list[dict[str, Any]],
    runs_json: list[dict[str, Any]],
    warmups: list[tuple[tuple[int, float], ...]],
) -> tuple[datetime.datetime, datetime.datetime] | None:
    """pyperf's Benchmark.get_dates(): earliest run start, latest start + ceil(duration)."""
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    for own, run_json, run_warmups in zip(owns, runs_json, warmups, strict=True):
        date = own["date"] if "date" in own else base.get("date")
        if date is None:
            continue
        run_start = datetime.datetime.fromisoformat(date)
        metadata = dict(base, **own)
        duration = metadata.get("duration")
        if duration is None:
            # Run._get_raw_values(warmups=True): values are per loop iteration.
            inner_loops = metadata.get("inner_loops", 1)
            total_loops = metadata.get("loops", 1) * inner_loops
            raw = [value * (loops * inner_loops) for loops, value in run_warmups]
            raw.extend(value * total_loops for value in run_json.get("values", ()))
            duration = math.fsum(raw)
        run_end = run_start + datetime.timedelta(seconds=math.ceil(duration))
        if start is None or run_start < start:
            start = run_start
        if end is None or run_end > end:
            end = run_end
    if start is None or end is None:
        return None
    return start, end


def _suite_dates(
    dates: list[tuple[datetime.datetime, datetime.datetime] | None],
) -> tuple[datetime.datetime, datetime.datetime] | None:
    """pyperf's BenchmarkSuite.get_dates() over the benchmarks' dates."""
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    for bench_dates in dates:
        if not bench_dates:
            continue
        if start is None or bench_dates[0] < start:
            start = bench_dates[0]
        if end is None or bench_dates[1] > end:
            end = bench_dates[1]
    if start is None or end is None:
        return None
    return start, end


def _common_metadata(metadatas: list[dict[str, Any]]) -> dict[str, Any]:
    """pyperf's _common_metadata: the keys equal in every dictionary, first one's order."""
    if not metadatas:
        return {}
    common = dict(metadatas[0])
    for metadata in metadatas[1:]:
        for key in list(common):
            if metadata.get(key, _MISSING) != common[key]:
                del common[key]
    return common
