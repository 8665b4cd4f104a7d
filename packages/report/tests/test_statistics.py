"""Summary statistics (pyperf agreement on real files is in test_ingest)."""

from __future__ import annotations

import pytest

from perfkit_report import summarize
from perfkit_report._statistics import percentile


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
