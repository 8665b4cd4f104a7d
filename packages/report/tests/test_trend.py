"""The trend detector on synthetic series: steps found where they are, noise left alone, drift
measured with an interval that covers the true slope."""

from __future__ import annotations

import math
import random

import pytest

from perfkit_report._render._trend import (
    MIN_POINTS_FOR_CHANGES,
    MIN_POINTS_FOR_DRIFT,
    change_points,
    change_points_between_groups,
    drift,
)


def _noise(rng: random.Random, level: float, count: int, sd: float) -> list[float]:
    return [level * (1 + rng.gauss(0, sd)) for _ in range(count)]


def test_a_step_is_found_at_its_position_with_its_magnitude() -> None:
    rng = random.Random(1)
    series = _noise(rng, 1.0, 40, 0.03) + _noise(rng, 1.2, 50, 0.03)
    (point,) = change_points(series)
    assert point.index == 40
    assert point.change == pytest.approx(0.2, abs=0.02)
    assert point.before == pytest.approx(1.0, abs=0.02)
    assert point.after == pytest.approx(1.2, abs=0.02)
    assert point.pvalue < 1e-10


def test_a_step_down_is_a_negative_change() -> None:
    rng = random.Random(2)
    series = _noise(rng, 2.0, 25, 0.02) + _noise(rng, 1.5, 25, 0.02)
    (point,) = change_points(series)
    assert point.index == 25
    assert point.change == pytest.approx(-0.25, abs=0.02)


def test_two_steps_are_both_found() -> None:
    rng = random.Random(5)
    series = _noise(rng, 1.0, 30, 0.03) + _noise(rng, 0.8, 30, 0.03) + _noise(rng, 1.1, 30, 0.03)
    assert [point.index for point in change_points(series)] == [30, 60]


@pytest.mark.parametrize("length", [30, 90, 300])
def test_flat_noise_gives_no_change_point(length: int) -> None:
    # 10 % Gaussian noise, well above this machine's run-to-run noise; 20 seeds per length.
    false_alarms = [
        seed for seed in range(20) if change_points(_noise(random.Random(seed), 1.0, length, 0.10))
    ]
    assert false_alarms == []


def test_one_outlier_next_to_a_step_does_not_hide_the_step() -> None:
    rng = random.Random(3)
    before = _noise(rng, 4.58, 20, 0.01)
    before[-1] = 5.2  # the last process of a run ran slow, as in pyperf's mult_list_py36.json
    (point,) = change_points(before + _noise(rng, 6.03, 20, 0.01))
    assert point.index == 20


def test_a_lone_outlier_is_not_a_step() -> None:
    rng = random.Random(4)
    series = _noise(rng, 1.0, 60, 0.02)
    series[30] = 3.0
    assert change_points(series) == []


def test_small_steps_below_the_minimum_change_are_not_reported() -> None:
    rng = random.Random(6)
    series = _noise(rng, 1.0, 50, 0.002) + _noise(rng, 1.02, 50, 0.002)
    assert change_points(series) == []
    (point,) = change_points(series, min_change=0.01)
    assert point.index == 50


def test_short_and_constant_series_have_no_change_point() -> None:
    assert change_points([1.0, 2.0, 3.0][: MIN_POINTS_FOR_CHANGES - 1]) == []
    assert change_points([]) == []
    assert change_points([5.0] * 40) == []


def test_a_clean_step_without_noise_is_found() -> None:
    (point,) = change_points([1.0] * 10 + [2.0] * 10)
    assert (point.index, point.change) == (10, 1.0)


def test_a_step_from_zero_has_no_relative_change() -> None:
    (point,) = change_points([0.0] * 10 + [5.0] * 10)
    assert point.index == 10 and point.change is None


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        change_points([1.0] * 10 + [math.nan])


def test_steps_between_groups_land_on_group_boundaries() -> None:
    rng = random.Random(7)
    groups = [_noise(rng, level, 20, 0.01) for level in (3.7, 5.25, 3.16)]
    points = change_points_between_groups(groups)
    assert [point.index for point in points] == [1, 2]
    assert [round(point.change or 0, 2) for point in points] == pytest.approx(
        [0.42, -0.40], abs=0.02
    )


def test_groups_without_a_difference_have_no_step() -> None:
    rng = random.Random(8)
    groups = [_noise(rng, 2.1, 20, 0.02) for _ in range(3)]
    assert change_points_between_groups(groups) == []


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
