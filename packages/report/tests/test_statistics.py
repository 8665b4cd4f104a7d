"""Summary statistics (pyperf agreement on real files is in test_ingest)."""

from __future__ import annotations

import math
import random
import statistics
import struct
from collections.abc import Sequence
from pathlib import Path

import pyperf
import pytest

from perfkit_report import SampleSummary, summarize
from perfkit_report._history._statistics import percentile, summarize_many

PYPERF_FILES = sorted((Path(__file__).parent / "data" / "pyperf").glob("*.json"))


def test_one_value() -> None:
    summary = summarize([[2.0]])
    assert (summary.n, summary.median, summary.mean, summary.stdev) == (1, 2.0, 2.0, None)
    assert (summary.p5, summary.p95, summary.mad, summary.process_medians) == (
        2.0,
        2.0,
        0.0,
        (2.0,),
    )


def test_processes_without_values_are_skipped() -> None:
    summary = summarize([[], [1.0, 3.0], [], [10.0]])
    assert summary.n == 3
    assert summary.process_medians == (2.0, 10.0)
    assert summary.median == 3.0
    assert summary.mad == 2.0  # |1-3|, |3-3|, |10-3| -> median 2


def test_no_values_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        summarize([[], []])


def test_percentile_interpolates_between_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 4.0
    assert percentile(values, 0.5) == 2.5
    assert percentile(values, 0.05) == pytest.approx(1.15)
    with pytest.raises(ValueError, match="within"):
        percentile(values, 1.5)


def _reference(processes: Sequence[Sequence[float]]) -> SampleSummary:
    """The plain definitions (the module docstring), as summarize computed them before it was
    made faster: its results must not move by a bit."""
    process_values = [list(values) for values in processes if values]
    flat = [value for values in process_values for value in values]
    median = statistics.median(flat)
    stdev = None
    if len(flat) > 1:
        mean = math.fsum(flat) / len(flat)
        stdev = math.sqrt(math.fsum((value - mean) ** 2 for value in flat) / (len(flat) - 1))
    return SampleSummary(
        n=len(flat),
        median=median,
        mean=statistics.fmean(flat),
        stdev=stdev,
        min=min(flat),
        max=max(flat),
        p5=percentile(flat, 0.05),
        p95=percentile(flat, 0.95),
        mad=statistics.median([abs(value - median) for value in flat]),
        process_medians=tuple(statistics.median(values) for values in process_values),
    )


def _bits(summary: SampleSummary) -> list[object]:
    """Every field but n, numbers as float bit patterns (so -0.0 != 0.0 and one ulp shows;
    integer values, as in a file of byte counts, as the floats ingest stores)."""

    def bits(value: object) -> object:
        if isinstance(value, float | int):
            return struct.unpack("<Q", struct.pack("<d", value))[0]
        if isinstance(value, tuple):
            return tuple(bits(item) for item in value)
        return value

    return [summary.n, *(bits(getattr(summary, name)) for name in SampleSummary.__slots__[1:])]


@pytest.mark.parametrize("path", PYPERF_FILES, ids=lambda p: p.name)
def test_summaries_of_real_files_equal_the_definitions_bit_for_bit(path: Path) -> None:
    for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
        processes = [run.values for run in bench.get_runs()]
        expected = _bits(_reference(processes))
        assert _bits(summarize(processes)) == expected
        (together,) = summarize_many([processes])
        assert _bits(together) == expected


# Inputs where a shortcut would show: equal maxima of opposite sign (max() keeps the first one,
# the end of a stable sort the last), and values whose squared deviations differ between ``** 2``
# (the platform's pow) and ``x * x`` enough to move the standard deviation by an ulp (glibc).
EDGE_CASES = [
    [[0.0, -0.0]],
    [[-0.0], [0.0], [-0.0, 0.0]],
    [[-1.0, 0.0, -0.0]],
    [[1.521e-06, 1.032e-06, 1.82e-06]],
    [[1.548e-06, 1.35e-06, 1.3819999999999999e-06]],
    [[1.4579999999999998e-06, 1.5259999999999999e-06], [1.583e-06]],
]


@pytest.mark.parametrize("processes", EDGE_CASES)
def test_edge_cases_equal_the_definitions_bit_for_bit(processes: list[list[float]]) -> None:
    expected = _bits(_reference(processes))
    assert _bits(summarize(processes)) == expected
    (together,) = summarize_many([processes])
    assert _bits(together) == expected


def _random_benchmarks(rng: random.Random, count: int) -> list[list[list[float]]]:
    """Benchmarks of random shapes: most alike (as in a result file), some uneven, some with
    processes without values; ties, signed zeros, wide scales."""
    shapes = [(rng.randint(1, 25), rng.randint(1, 5)) for _ in range(3)]
    benchmarks = []
    while len(benchmarks) < count:
        processes_count, size = rng.choice(shapes)
        uneven = rng.random() < 0.2
        processes: list[list[float]] = []
        for _ in range(processes_count):
            width = rng.choice([0, 1, 2, 3, 4, 5]) if uneven else size
            scale = 10 ** rng.uniform(-9, 9)
            shape = rng.random()
            if shape < 0.1:  # ties
                processes.append([float(rng.randint(-3, 3)) for _ in range(width)])
            elif shape < 0.15:  # signed zeros
                processes.append([rng.choice([0.0, -0.0, 1.0]) for _ in range(width)])
            else:
                processes.append([scale * rng.uniform(-1, 3) for _ in range(width)])
        if any(processes):
            benchmarks.append(processes)
    return benchmarks


def test_summaries_of_many_equal_the_definitions_bit_for_bit() -> None:
    rng = random.Random(12)
    for _ in range(100):
        benchmarks = _random_benchmarks(rng, rng.randint(1, 40))
        together = summarize_many(benchmarks)
        assert len(together) == len(benchmarks)
        for processes, summary in zip(benchmarks, together, strict=True):
            assert _bits(summary) == _bits(_reference(processes)), processes


def test_summarize_many_refuses_a_benchmark_without_values() -> None:
    with pytest.raises(ValueError, match="no values"):
        summarize_many([[[1.0]], [[], []]])


def test_summaries_equal_the_definitions_bit_for_bit() -> None:
    rng = random.Random(11)
    for trial in range(3000):
        processes: list[list[float]] = []
        for _ in range(rng.randint(1, 25)):
            size = 3 if trial % 2 else rng.choice([0, 1, 2, 3, 4, 5])
            scale = 10 ** rng.uniform(-9, 9)
            shape = rng.random()
            if shape < 0.1:  # ties
                processes.append([float(rng.randint(-3, 3)) for _ in range(size)])
            elif shape < 0.15:  # signed zeros
                processes.append([rng.choice([0.0, -0.0, 1.0]) for _ in range(size)])
            else:
                processes.append([scale * rng.uniform(-1, 3) for _ in range(size)])
        if not any(processes):
            continue
        assert _bits(summarize(processes)) == _bits(_reference(processes)), processes
