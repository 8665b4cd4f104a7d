"""The trend detector on synthetic series, with each engine (ruptures, the default, and Otava):
steps found where they are, noise left alone, drift measured with an interval that covers the
true slope."""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable
from typing import Any

import pytest

from perfkit_report._render._trend import (
    ENGINES,
    MIN_POINTS_FOR_CHANGES,
    MIN_POINTS_FOR_DRIFT,
    change_points,
    drift,
)

Detect = Callable[..., Any]


@pytest.fixture(params=ENGINES)
def detect(request: pytest.FixtureRequest) -> Detect:
    """change_points with one engine."""
    return functools.partial(change_points, engine=request.param)


def _noise(rng: random.Random, level: float, count: int, sd: float) -> list[float]:
    return [level * (1 + rng.gauss(0, sd)) for _ in range(count)]


def test_a_step_is_found_at_its_position_with_its_magnitude(detect: Detect) -> None:
    rng = random.Random(1)
    series = _noise(rng, 1.0, 40, 0.03) + _noise(rng, 1.2, 50, 0.03)
    (point,) = detect(series)
    assert point.index == 40
    assert point.change == pytest.approx(0.2, abs=0.02)
    assert point.before == pytest.approx(1.0, abs=0.02)
    assert point.after == pytest.approx(1.2, abs=0.02)
    assert point.pvalue < 1e-10


def test_a_step_down_is_a_negative_change(detect: Detect) -> None:
    rng = random.Random(2)
    series = _noise(rng, 2.0, 25, 0.02) + _noise(rng, 1.5, 25, 0.02)
    (point,) = detect(series)
    assert point.index == 25
    assert point.change == pytest.approx(-0.25, abs=0.02)


def test_two_steps_are_both_found(detect: Detect) -> None:
    rng = random.Random(5)
    series = _noise(rng, 1.0, 30, 0.03) + _noise(rng, 0.8, 30, 0.03) + _noise(rng, 1.1, 30, 0.03)
    assert [point.index for point in detect(series)] == [30, 60]


@pytest.mark.parametrize("length", [30, 90, 300])
def test_flat_noise_gives_no_change_point(detect: Detect, length: int) -> None:
    # 10 % Gaussian noise, well above this machine's run-to-run noise; 20 seeds per length.
    false_alarms = [
        seed for seed in range(20) if detect(_noise(random.Random(seed), 1.0, length, 0.10))
    ]
    assert false_alarms == []


def test_one_outlier_next_to_a_step_does_not_hide_the_step(detect: Detect) -> None:
    rng = random.Random(3)
    before = _noise(rng, 4.58, 20, 0.01)
    before[-1] = 5.2  # the last process of a run ran slow, as in pyperf's mult_list_py36.json
    (point,) = detect(before + _noise(rng, 6.03, 20, 0.01))
    assert point.index == 20


def test_a_lone_outlier_is_not_a_step(detect: Detect) -> None:
    rng = random.Random(4)
    series = _noise(rng, 1.0, 60, 0.02)
    series[30] = 3.0
    assert detect(series) == []


def test_small_steps_below_the_minimum_change_are_not_reported(detect: Detect) -> None:
    rng = random.Random(6)
    series = _noise(rng, 1.0, 50, 0.002) + _noise(rng, 1.02, 50, 0.002)
    assert detect(series) == []
    (point,) = detect(series, min_change=0.01)
    assert point.index == 50


def test_short_and_constant_series_have_no_change_point(detect: Detect) -> None:
    assert detect([1.0, 2.0, 3.0][: MIN_POINTS_FOR_CHANGES - 1]) == []
    assert detect([]) == []
    assert detect([5.0] * 40) == []


def test_a_clean_step_without_noise_is_found(detect: Detect) -> None:
    (point,) = detect([1.0] * 10 + [2.0] * 10)
    assert (point.index, point.change) == (10, 1.0)


def test_a_step_from_zero_has_no_relative_change(detect: Detect) -> None:
    (point,) = detect([0.0] * 10 + [5.0] * 10)
    assert point.index == 10 and point.change is None


def test_non_finite_values_are_refused(detect: Detect) -> None:
    with pytest.raises(ValueError, match="finite"):
        detect([1.0] * 10 + [math.nan])
    with pytest.raises(ValueError, match="engine"):
        change_points([1.0] * 10, engine="nope")


def test_drift_recovers_a_slope_inside_its_interval() -> None:
    rng = random.Random(9)
    days = [float(day) for day in range(60)]
    values = [1.0 + 0.004 * day + rng.gauss(0, 0.02) for day in days]
    fit = drift(days, values)
    assert fit is not None and fit.significant
    assert fit.low <= 0.004 <= fit.high
    assert fit.percent == pytest.approx(100 * 0.004 / fit.median, rel=0.2)
    assert fit.percent_low is not None and fit.percent_low < fit.percent  # type: ignore[operator]


def test_flat_series_has_no_significant_drift() -> None:
    rng = random.Random(10)
    days = [float(day) for day in range(60)]
    fit = drift(days, [1.0 + rng.gauss(0, 0.02) for _ in days])
    assert fit is not None and not fit.significant


def test_drift_needs_enough_points_and_distinct_x() -> None:
    few = MIN_POINTS_FOR_DRIFT - 1
    assert drift([float(i) for i in range(few)], [1.0] * few) is None
    assert drift([0.0] * 20, [float(i) for i in range(20)]) is None
    with pytest.raises(ValueError, match="one x per value"):
        drift([1.0, 2.0], [1.0])
