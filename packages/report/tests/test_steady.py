"""Trends that do not cry wolf (_steady): the noise of one run, change points only between
commits, beyond the noise band and confirmed by the runs after them."""

from __future__ import annotations

import random

import pytest

from perfkit_report._render._steady import RunValue, analyse, noise


def _runs(values: list[float], codes: list[str] | None = None) -> list[RunValue]:
    codes = codes or [f"c{index}" for index in range(len(values))]
    return [
        RunValue(index, value, code)
        for index, (value, code) in enumerate(zip(values, codes, strict=False))
    ]


def _noisy(rng: random.Random, levels: list[float], sd: float) -> list[float]:
    return [level * (1 + rng.gauss(0, sd)) for level in levels]


def test_a_5_percent_step_in_steady_runs_is_found_at_its_commit() -> None:
    found = 0
    for seed in range(20):
        rng = random.Random(seed)
        values = _noisy(rng, [1.0] * 10 + [1.05] * 10, 0.015)
        changes = analyse(_runs(values)).changes
        found += [point.index for point in changes] == [10]
    assert found >= 18  # 1.5 % noise: CPU time on this machine under load


def test_unchanged_code_under_a_passing_load_has_no_change_point() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        values = _noisy(rng, [1.0] * 20, 0.015)
        values[6] *= 1.10  # a busy neighbour for two runs
        values[7] *= 1.12
        trend = analyse(_runs(values))
        assert trend.changes == (), seed


def test_runs_of_one_commit_never_make_a_change_point_between_them() -> None:
    rng = random.Random(3)
    values = _noisy(rng, [1.0] * 10 + [1.3] * 10, 0.01)
    trend = analyse(_runs(values, ["same"] * 20))
    assert trend.changes == ()
    assert trend.noise is not None and trend.noise.sigma > 0.1  # their spread is the noise
    assert "1 commit(s) measured more than once" in trend.noise.source


def test_a_step_inside_a_commits_runs_moves_to_the_commit_boundary() -> None:
    rng = random.Random(4)
    values = _noisy(rng, [1.0] * 9 + [1.2] * 11, 0.01)
    codes = [f"a{index}" for index in range(8)] + ["b"] * 4 + [f"c{index}" for index in range(8)]
    (point,) = analyse(_runs(values, codes)).changes
    assert point.index in (8, 12)  # where commit b starts or ends, never inside it


def test_a_step_smaller_than_the_noise_band_is_not_reported() -> None:
    rng = random.Random(5)
    values = _noisy(rng, [1.0] * 30 + [1.08] * 30, 0.06)
    trend = analyse(_runs(values))
    assert trend.noise is not None and 2 * trend.noise.sigma > 0.08
    assert trend.changes == ()


def test_a_step_in_the_last_runs_is_pending_until_confirmed() -> None:
    rng = random.Random(6)
    base = _noisy(rng, [1.0] * 15, 0.01)
    trend = analyse(_runs([*base, 1.2, 1.21]))
    assert trend.changes == ()
    assert trend.pending is not None and trend.pending.runs == 2
    assert trend.pending.change == pytest.approx(0.2, abs=0.02)
    confirmed = analyse(_runs([*base, 1.2, 1.21, 1.19, 1.2]))
    assert [point.index for point in confirmed.changes] == [15]
    assert confirmed.pending is None


def test_a_step_needs_its_confirming_runs() -> None:
    """A step followed by wild runs that fall back is not confirmed."""
    rng = random.Random(7)
    values = [*_noisy(rng, [1.0] * 12, 0.01), 1.25, 1.0, 0.99, 1.26, 1.01, 1.0, 1.24, 1.0]
    assert analyse(_runs(values)).changes == ()


def test_the_band_is_the_level_plus_or_minus_two_sigma() -> None:
    rng = random.Random(8)
    values = _noisy(rng, [2.0] * 20, 0.02)
    trend = analyse(_runs(values))
    assert trend.noise is not None
    low, high = trend.band(0)
    level = trend.levels[0]
    assert low == pytest.approx(level * (1 - 2 * trend.noise.sigma))
    assert high == pytest.approx(level * (1 + 2 * trend.noise.sigma))
    inside = sum(low <= value <= high for value in values)
    assert inside >= 17  # ~95 % of unchanged runs


def test_noise_from_repeats_is_pooled_per_commit() -> None:
    values = [1.0, 1.02, 1.0, 1.02, 1.0, 1.02]  # three commits, each measured twice
    estimate = noise(_runs(values, ["a", "a", "b", "b", "c", "c"]))
    assert estimate is not None
    assert estimate.sigma == pytest.approx(0.0099 * 2**0.5, rel=0.02)
    assert estimate.source == "6 runs of 3 commit(s) measured more than once"
    assert noise(_runs([1.0, 1.0])) is None  # too few runs
