"""Human-readable values for pyperf's units (second, byte, integer) and operation rates.

Three significant figures: run-to-run noise here is 8-15 %, so a fourth digit would only show
noise. Bytes use powers of 1024 (B, KB, MB, GB), as pyperf prints them.

Every measured percentage the package prints (a change, an interval, a rate, an MDE, a CPU
share) goes through ``format_percent``: ``+12.3 %``, a space before the sign as SI writes it.
Configured values quoted as settings (a threshold ``10%``, an injection level ``+2%``) are
printed as they are written on the command line and in targets.toml.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["format_percent", "format_rate", "format_value"]

_TIME_SCALES = ((1e-6, 1e9, "ns"), (1e-3, 1e6, "µs"), (1.0, 1e3, "ms"))
_BYTE_SCALES = ((1024.0**3, "GB"), (1024.0**2, "MB"), (1024.0, "KB"))
_SI_SCALES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _three_figures(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 100 or magnitude == 0:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_value(value: float, unit: str) -> str:
    """``1.23 µs``, ``45.6 MB``, ``1,234``; unknown units print the number and the unit."""
    if not math.isfinite(value):
        return str(value)
    formatter = _FORMATTERS.get(unit)
    return formatter(value) if formatter is not None else f"{value:g} {unit}"


def _seconds(value: float) -> str:
    for limit, factor, suffix in _TIME_SCALES:
        if abs(value) < limit:
            return f"{_three_figures(value * factor)} {suffix}"
    return f"{_three_figures(value)} s"


def _bytes(value: float) -> str:
    for factor, suffix in _BYTE_SCALES:
        if abs(value) >= factor:
            return f"{_three_figures(value / factor)} {suffix}"
    return f"{value:.0f} B"


def _integer(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else _three_figures(value)


_FORMATTERS: dict[str, Callable[[float], str]] = {
    "second": _seconds,
    "byte": _bytes,
    "integer": _integer,
}


def format_rate(per_second: float) -> str:
    """Operations per second with an SI prefix: ``1.75M ops/s``."""
    if not math.isfinite(per_second):
        return str(per_second)
    for factor, prefix in _SI_SCALES:
        if abs(per_second) >= factor:
            return f"{_three_figures(per_second / factor)}{prefix} ops/s"
    return f"{_three_figures(per_second)} ops/s"


def format_percent(percent: float | None, *, signed: bool = True, fine: bool = False) -> str:
    """``+12.3 %``: three significant figures, at most one decimal (two under 1 % with
    ``fine``, for deterministic channels that move by fractions of a percent); ``0.0 %`` when it
    rounds to zero; ``—`` for None."""
    if percent is None or not math.isfinite(percent):
        return "—"
    magnitude = abs(percent)
    decimals = 2 if fine and magnitude < 1 else 1
    if magnitude < 0.5 * 10.0**-decimals:
        return f"{0:.{decimals}f} %"
    sign = "+" if signed and percent > 0 else ""
    text = f"{percent:.0f}" if magnitude >= 100 else f"{percent:.{decimals}f}"
    return f"{sign}{text} %"
