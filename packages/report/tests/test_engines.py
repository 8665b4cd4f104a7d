"""The change-point engines on the figures that chose the default (docs/report.md): false steps
on flat series of 10 % noise, and 10 % steps in 3 % noise found, for ruptures (the default) and
Otava's E-divisive (perfkit-report[otava]), on the same seeded series."""

from __future__ import annotations

import random

import pytest

from perfkit_report._render._trend import change_points

SERIES = 200


def _flat(rng: random.Random, length: int) -> list[float]:
    return [1.0 + rng.gauss(0, 0.10) for _ in range(length)]


def _step(rng: random.Random) -> list[float]:
    return [(1.10 if i >= 45 else 1.0) * (1 + rng.gauss(0, 0.03)) for i in range(90)]


@pytest.mark.parametrize(
    ("engine", "length", "most"),
    [("ruptures", 90, 0.01), ("ruptures", 900, 0.01), ("otava", 90, 0.01), ("otava", 900, 0.08)],
)
def test_flat_series_rarely_raise_a_step(engine: str, length: int, most: float) -> None:
    rng = random.Random(1)
    false = sum(bool(change_points(_flat(rng, length), engine=engine)) for _ in range(SERIES))
    assert false / SERIES <= most


@pytest.mark.parametrize("engine", ["ruptures", "otava"])
def test_a_10_percent_step_in_3_percent_noise_is_found(engine: str) -> None:
    rng = random.Random(2)
    found = 0
    for _ in range(SERIES):
        points = change_points(_step(rng), engine=engine)
        found += any(abs(point.index - 45) <= 2 for point in points)
    assert found / SERIES >= 0.97
