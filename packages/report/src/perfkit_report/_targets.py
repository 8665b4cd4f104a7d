"""targets.toml: per-benchmark goals, regression thresholds and severity bands.

The format is documented in the package README ("Targets file"). This module parses and validates
it (every mistake is reported with the file, the entry and the fix) and answers two questions:
which rule applies to a benchmark id (``Targets.rule_for``), and whether a measured value meets
that rule's goal (``TargetRule.check``). The regression gate reads ``threshold``, ``direction``
and ``severity`` from the same rules.

Format versions (``version = N`` at the top of the file):

- 1 (2026-11): ``[defaults]`` and ``[[target]]`` entries with id, unit, direction, threshold,
  severity, max, min, min_rate, ratio_max, ratio_min.
- 1, amended (2026-11): optional ``instructions_threshold`` in ``[defaults]`` and ``[[target]]``
  (the regression gate's threshold on the instructions channel). Files without it read as before.
"""

from __future__ import annotations

import fnmatch
import itertools
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfkit_report._exceptions import TargetsFileError
from perfkit_report._input import path_text, read_input, utf8_text
from perfkit_report._units import format_rate, format_value

__all__ = [
    "TARGETS_FORMAT_VERSION",
    "SeverityBands",
    "TargetCheck",
    "TargetRule",
    "Targets",
    "load_targets",
    "parse_targets",
]

TARGETS_FORMAT_VERSION = 1

# When neither the entry nor [defaults] says: a 10 % slowdown counts as a regression (the time
# noise between runs here is 8-15 %, so the paired A/B gate, not this number, separates noise
# from change), and lower values are better (seconds, bytes).
DEFAULT_THRESHOLD = 10.0
DEFAULT_DIRECTION: Literal["lower", "higher"] = "lower"
# The instructions channel (cachegrind counts with a fixed hash seed) repeats to within 0.1 % from
# run to run here, where wall time drifts 8-15 %: a 1 % change in instructions per operation is
# real, so it gates at 1 % unless targets.toml says otherwise.
DEFAULT_INSTRUCTIONS_THRESHOLD = 1.0

_UNITS = ("second", "byte", "integer")
_DIRECTIONS = ("lower", "higher")
_BANDS = ("minor", "major", "critical")
_TOP_KEYS = ("version", "defaults", "target")
_DEFAULT_KEYS = ("threshold", "direction", "severity", "instructions_threshold")
_GOAL_KEYS = ("max", "min", "min_rate", "ratio_max", "ratio_min")
_TARGET_KEYS = (
    "id",
    "unit",
    "direction",
    "threshold",
    "severity",
    "instructions_threshold",
    *_GOAL_KEYS,
)
_WILDCARDS = re.compile(r"\[[^\]]*\]|[*?]")

Direction = Literal["lower", "higher"]
Status = Literal["met", "missed", "none"]


@dataclass(frozen=True, slots=True)
class SeverityBands:
    """Percent thresholds of an effect: at or above ``minor`` is minor, and so on."""

    minor: float | None = None
    major: float | None = None
    critical: float | None = None

    def classify(self, percent: float) -> str | None:
        """The highest band an effect of ``percent`` % reaches, or None below every band."""
        reached = None
        for band in _BANDS:
            limit = getattr(self, band)
            if limit is not None and percent >= limit:
                reached = band
        return reached


@dataclass(frozen=True, slots=True)
class TargetCheck:
    """The outcome of checking one value against a rule's goals."""

    status: Status
    """met (every goal that could be checked holds), missed (one fails), none (nothing checked)."""
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetRule:
    """One ``[[target]]`` entry, with ``[defaults]`` applied."""

    pattern: str
    direction: Direction
    threshold: float
    severity: SeverityBands | None = None
    unit: str | None = None
    max: float | None = None
    min: float | None = None
    min_rate: float | None = None
    ratio_max: float | None = None
    ratio_min: float | None = None
    instructions_threshold: float = DEFAULT_INSTRUCTIONS_THRESHOLD
    """The regression threshold in percent on the instructions channel."""
    index: int = field(default=0, compare=False)

    @property
    def is_exact(self) -> bool:
        """True when the id has no wildcard (``*``, ``?``, ``[...]``)."""
        return _WILDCARDS.search(self.pattern) is None

    def matches(self, benchmark: str) -> bool:
        """Exact id or fnmatch glob, case-sensitive."""
        return benchmark == self.pattern or fnmatch.fnmatchcase(benchmark, self.pattern)

    @property
    def has_goal(self) -> bool:
        """True when the entry sets at least one goal (max, min, min_rate, ratio_*)."""
        return any(getattr(self, key) is not None for key in _GOAL_KEYS)

    def check(self, value: float, unit: str, ratio: float | None = None) -> TargetCheck:
        """Check a measured value (a median) and its ratio to the reference against the goals."""
        if not self.has_goal:
            return TargetCheck("none")
        if self.unit is not None and self.unit != unit:
            return TargetCheck(
                "none", (f"unit mismatch: the target is in {self.unit}, the result in {unit}",)
            )
        goals = _Goals()
        if self.max is not None:
            goals.check(
                value <= self.max,
                f"{format_value(value, unit)} > max {format_value(self.max, unit)}",
            )
        if self.min is not None:
            goals.check(
                value >= self.min,
                f"{format_value(value, unit)} < min {format_value(self.min, unit)}",
            )
        if self.min_rate is not None:
            if unit == "second" and value > 0:
                rate = 1.0 / value
                goals.check(
                    rate >= self.min_rate,
                    f"{format_rate(rate)} < min_rate {format_rate(self.min_rate)}",
                )
            else:
                goals.skipped.append("min_rate applies to time results only")
        self._check_ratios(ratio, goals)
        return goals.outcome()

    def _check_ratios(self, ratio: float | None, goals: _Goals) -> None:
        for key, bound in (("ratio_max", self.ratio_max), ("ratio_min", self.ratio_min)):
            if bound is None:
                continue
            if ratio is None:
                goals.skipped.append(f"{key} needs a reference (perfkit_reference) in the same run")
            elif key == "ratio_max":
                goals.check(ratio <= bound, f"ratio {ratio:.3g} > ratio_max {bound:g}")
            else:
                goals.check(ratio >= bound, f"ratio {ratio:.3g} < ratio_min {bound:g}")


@dataclass(slots=True)
class _Goals:
    """The goals of one check as they are checked: how many, which failed, which were skipped."""

    checked: int = 0
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def check(self, holds: bool, failure: str) -> None:
        self.checked += 1
        if not holds:
            self.failures.append(failure)

    def outcome(self) -> TargetCheck:
        if self.failures:
            return TargetCheck("missed", tuple(self.failures + self.skipped))
        if self.checked:
            return TargetCheck("met", tuple(self.skipped))
        return TargetCheck("none", tuple(self.skipped))


@dataclass(frozen=True, slots=True)
class Targets:
    """A parsed targets file."""

    source: str
    rules: tuple[TargetRule, ...] = ()
    threshold: float = DEFAULT_THRESHOLD
    direction: Direction = DEFAULT_DIRECTION
    severity: SeverityBands | None = None
    version: int = TARGETS_FORMAT_VERSION
    instructions_threshold: float = DEFAULT_INSTRUCTIONS_THRESHOLD

    def rule_for(self, benchmark: str) -> TargetRule | None:
        """The rule that applies: an exact id wins; else the glob with the most literal
        (non-wildcard) characters; ties go to the entry listed first. None when none matches."""
        best: TargetRule | None = None
        best_key: tuple[int, int] = (-1, -1)
        for rule in self.rules:
            if not rule.matches(benchmark):
                continue
            key = (1 if rule.is_exact else 0, len(_WILDCARDS.sub("", rule.pattern)))
            if key > best_key:
                best, best_key = rule, key
        return best

    def threshold_for(self, benchmark: str) -> float:
        """Regression threshold in percent for a benchmark."""
        rule = self.rule_for(benchmark)
        return rule.threshold if rule is not None else self.threshold

    def direction_for(self, benchmark: str) -> Direction:
        """Which way is better for a benchmark."""
        rule = self.rule_for(benchmark)
        return rule.direction if rule is not None else self.direction

    def severity_for(self, benchmark: str) -> SeverityBands | None:
        """Severity bands for a benchmark, if any are configured."""
        rule = self.rule_for(benchmark)
        return rule.severity if rule is not None else self.severity

    def instructions_threshold_for(self, benchmark: str) -> float:
        """Regression threshold in percent for a benchmark's instructions channel."""
        rule = self.rule_for(benchmark)
        return rule.instructions_threshold if rule is not None else self.instructions_threshold


def load_targets(path: str | Path) -> Targets:
    """Read and validate a targets file; TargetsFileError names the file, entry and fix."""
    source = Path(path)
    raw = read_input(source, TargetsFileError, "check the --targets path")
    text = utf8_text(source, raw, TargetsFileError, "save it as UTF-8 TOML")
    return parse_targets(text, path_text(source))


def parse_targets(text: str, source: str = "<targets>") -> Targets:
    """Parse and validate targets TOML text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TargetsFileError(f"{source}: not valid TOML ({exc}); fix the syntax") from exc

    _unknown_keys(source, "the top level", data, _TOP_KEYS)
    version = data.get("version")
    if version is None:
        raise TargetsFileError(
            f"{source}: no version; add `version = {TARGETS_FORMAT_VERSION}` at the top"
        )
    if version != TARGETS_FORMAT_VERSION or isinstance(version, bool):
        raise TargetsFileError(
            f"{source}: version {version!r} is not supported; this perfkit-report reads "
            f"version = {TARGETS_FORMAT_VERSION} (upgrade perfkit-report for newer files)"
        )

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise TargetsFileError(f"{source}: [defaults] must be a table; write `[defaults]`")
    where = "[defaults]"
    _unknown_keys(source, where, defaults, _DEFAULT_KEYS)
    threshold = _number(source, where, defaults, "threshold", positive=True)
    direction = _direction(source, where, defaults)
    severity = _severity(source, where, defaults)
    instructions = _number(source, where, defaults, "instructions_threshold", positive=True)
    if instructions is None:
        instructions = DEFAULT_INSTRUCTIONS_THRESHOLD

    entries = data.get("target", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise TargetsFileError(
            f"{source}: `target` must be an array of tables; write each entry as [[target]]"
        )
    rules: list[TargetRule] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries, start=1):
        rule = _rule(
            source,
            index,
            entry,
            threshold if threshold is not None else DEFAULT_THRESHOLD,
            direction or DEFAULT_DIRECTION,
            severity,
            instructions,
        )
        if rule.pattern in seen:
            raise TargetsFileError(
                f"{source}: [[target]] #{index} (id {rule.pattern!r}): the same id as entry "
                f"#{seen[rule.pattern]}; merge the two entries"
            )
        seen[rule.pattern] = index
        rules.append(rule)
    return Targets(
        source=source,
        rules=tuple(rules),
        threshold=threshold if threshold is not None else DEFAULT_THRESHOLD,
        direction=direction or DEFAULT_DIRECTION,
        severity=severity,
        instructions_threshold=instructions,
    )


def _rule(
    source: str,
    index: int,
    entry: Mapping[str, Any],
    threshold: float,
    direction: Direction,
    severity: SeverityBands | None,
    instructions_threshold: float = DEFAULT_INSTRUCTIONS_THRESHOLD,
) -> TargetRule:
    pattern = entry.get("id")
    where = f"[[target]] #{index}" + (f" (id {pattern!r})" if isinstance(pattern, str) else "")
    _unknown_keys(source, where, entry, _TARGET_KEYS)
    if not isinstance(pattern, str) or not pattern.strip():
        raise TargetsFileError(
            f'{source}: {where}: no id; add `id = "suite.scenario"` (an exact id or a glob)'
        )
    unit = entry.get("unit")
    if unit is not None and unit not in _UNITS:
        raise TargetsFileError(
            f"{source}: {where}: unit {unit!r} is not one of {', '.join(_UNITS)}; "
            "use pyperf's unit name"
        )
    # max/min may be 0 (a leak target is "0 bytes retained"); rates and ratios must be > 0.
    goals = {
        key: _number(source, where, entry, key, positive=key not in ("max", "min"))
        for key in _GOAL_KEYS
    }
    for key in ("max", "min"):
        bound = goals[key]
        if bound is not None and bound < 0:
            raise TargetsFileError(
                f"{source}: {where}: {key} must be >= 0, got {bound:g}; write a non-negative number"
            )
    if goals["min_rate"] is not None and unit not in (None, "second"):
        raise TargetsFileError(
            f'{source}: {where}: min_rate is an operation rate and needs unit = "second"; '
            "use min/max for other units"
        )
    for low, high in (("min", "max"), ("ratio_min", "ratio_max")):
        low_value, high_value = goals[low], goals[high]
        if low_value is not None and high_value is not None and low_value > high_value:
            raise TargetsFileError(
                f"{source}: {where}: {low} ({low_value:g}) is above {high} ({high_value:g}); "
                "swap them"
            )
    own_threshold = _number(source, where, entry, "threshold", positive=True)
    own_severity = _severity(source, where, entry)
    own_instructions = _number(source, where, entry, "instructions_threshold", positive=True)
    return TargetRule(
        pattern=pattern,
        direction=_direction(source, where, entry) or direction,
        threshold=own_threshold if own_threshold is not None else threshold,
        severity=own_severity if own_severity is not None else severity,
        unit=unit,
        max=goals["max"],
        min=goals["min"],
        min_rate=goals["min_rate"],
        ratio_max=goals["ratio_max"],
        ratio_min=goals["ratio_min"],
        instructions_threshold=(
            own_instructions if own_instructions is not None else instructions_threshold
        ),
        index=index,
    )


def _unknown_keys(
    source: str, where: str, table: Mapping[str, Any], allowed: tuple[str, ...]
) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise TargetsFileError(
            f"{source}: {where}: unknown key(s) {', '.join(unknown)}; the allowed keys are "
            f"{', '.join(allowed)} (check the spelling)"
        )


def _number(
    source: str, where: str, table: Mapping[str, Any], key: str, *, positive: bool
) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TargetsFileError(
            f"{source}: {where}: {key} = {value!r} is not a finite number; write a number "
            f"such as {key} = 10.0 (no quotes)"
        )
    if positive and value <= 0:
        raise TargetsFileError(
            f"{source}: {where}: {key} must be > 0, got {value!r}; write a positive number"
        )
    return float(value)


def _direction(source: str, where: str, table: Mapping[str, Any]) -> Direction | None:
    value = table.get("direction")
    if value is None:
        return None
    if value == "lower":
        return "lower"
    if value == "higher":
        return "higher"
    raise TargetsFileError(
        f'{source}: {where}: direction = {value!r}; write direction = "lower" (lower is '
        'better: time, bytes) or "higher" (throughput)'
    )


def _severity(source: str, where: str, table: Mapping[str, Any]) -> SeverityBands | None:
    value = table.get("severity")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TargetsFileError(
            f"{source}: {where}: severity must be a table; write e.g. "
            "severity = { minor = 10.0, major = 15.0, critical = 20.0 }"
        )
    _unknown_keys(source, f"{where} severity", value, _BANDS)
    bands = {
        band: _number(source, f"{where} severity", value, band, positive=True) for band in _BANDS
    }
    given = [(band, limit) for band, limit in bands.items() if limit is not None]
    for (low_band, low), (high_band, high) in itertools.pairwise(given):
        if low > high:
            raise TargetsFileError(
                f"{source}: {where}: severity {low_band} ({low:g}) is above {high_band} "
                f"({high:g}); the bands must rise minor <= major <= critical"
            )
    return SeverityBands(**bands)
