"""Human-readable values."""

from __future__ import annotations

import pytest

from perfkit_report._units import format_percent, format_rate, format_value


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (8.123e-9, "second", "8.12 ns"),
        (812.3e-9, "second", "812 ns"),
        (1.2345e-6, "second", "1.23 µs"),
        (45.67e-3, "second", "45.7 ms"),
        (2.5, "second", "2.50 s"),
        (512, "byte", "512 B"),
        (1536, "byte", "1.50 KB"),
        (7360512, "byte", "7.02 MB"),
        (3 * 1024**3, "byte", "3.00 GB"),
        (1234567, "integer", "1,234,567"),
        (12.5, "integer", "12.5"),
        (3.0, "parsec", "3 parsec"),
    ],
)
def test_format_value(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


def test_format_rate() -> None:
    assert format_rate(1.75e6) == "1.75M ops/s"
    assert format_rate(812_300) == "812k ops/s"
    assert format_rate(12.34) == "12.3 ops/s"
    assert format_rate(float("inf")) == "inf"


@pytest.mark.parametrize(
    ("percent", "options", "text"),
    [
        (12.34, {}, "+12.3 %"),
        (-4.56, {}, "-4.6 %"),
        (123.4, {}, "+123 %"),
        (0.04, {}, "0.0 %"),
        (0.96, {}, "+1.0 %"),
        (12.34, {"signed": False}, "12.3 %"),
        (0.964, {"fine": True}, "+0.96 %"),
        (-0.5, {"fine": True}, "-0.50 %"),
        (0.004, {"fine": True}, "0.00 %"),
        (5.0, {"fine": True}, "+5.0 %"),
        (None, {}, "—"),
        (float("nan"), {}, "—"),
    ],
)
def test_format_percent_is_the_one_form_of_a_measured_percentage(
    percent: float | None, options: dict[str, bool], text: str
) -> None:
    assert format_percent(percent, **options) == text
