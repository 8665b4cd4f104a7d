"""Reading a pytest-benchmark JSON file into one run, so a team brings its history along.

pytest-benchmark writes one JSON document per session (``--benchmark-json=FILE``, or
``--benchmark-save`` / ``--benchmark-autosave`` under ``.benchmarks/<machine>/``)::

    {"machine_info": {...}, "commit_info": {"id", "branch", "dirty", ...},
     "benchmarks": [{"group", "name", "fullname", "params", "stats": {"min", "max", "mean",
                     "stddev", "rounds", "median", "iqr", "q1", "q3", "iterations", ...,
                     "data": [...]}}],
     "datetime": "2026-12-03T07:36:25+00:00", "version": "5.3.1"}

``stats.data`` holds one time per round (seconds per iteration): always in ``--benchmark-json``
files, in saved files only with ``--benchmark-save-data``. With it each round is a sample
(stored as a one-value "process", so ``compare`` tests rounds against rounds). Without it the
file holds summary statistics only: its five-number summary (min, q1, median, q3, max) stands in
for the rounds, the result's metadata says ``perfkit_summary_only``, and compare's verdicts say
they rest on summary statistics. Benchmark ids are the tests' ``fullname``
(``tests/test_x.py::test_sum[10]``), their suite the ``group`` or else the test module.

Every check runs before anything is stored; a bad file raises ResultFileError (exit 2).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfkit_report._history._contract import ParsedResult, ParsedRun, fail
from perfkit_report._history._statistics import SampleSummary, summarize
from perfkit_report._history._timestamps import format_timestamp, parse_timestamp
from perfkit_report._input import path_text

__all__ = ["is_pytest_benchmark", "read_pytest_benchmark"]

_STATS = ("min", "max", "mean", "median", "q1", "q3")
_FIX = "pass a file written by pytest-benchmark (--benchmark-json=FILE or --benchmark-save)"


def is_pytest_benchmark(data: Any) -> bool:
    """A pytest-benchmark document: machine_info beside a list of benchmarks."""
    return isinstance(data, dict) and "machine_info" in data and "benchmarks" in data


def read_pytest_benchmark(source: Path, text: str, data: Mapping[str, Any]) -> ParsedRun:
    """The run a pytest-benchmark document holds; ResultFileError naming file, reason and fix."""
    benchmarks = data.get("benchmarks")
    if not isinstance(benchmarks, list) or not benchmarks:
        raise fail(source, "holds no benchmark", "run pytest with --benchmark-only")
    commit = _object(data.get("commit_info"))
    machine = _object(data.get("machine_info"))
    results = tuple(_result(source, index, bench) for index, bench in enumerate(benchmarks))
    if len({result.benchmark for result in results}) < len(results):
        raise fail(source, "names one benchmark twice", "write each session to its own file")
    commit_id = _text(commit.get("id"))
    return ParsedRun(
        run_key="sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest(),
        source=path_text(source.resolve()),
        started=_date(source, data.get("datetime")),
        finished=None,
        commit_sha=None if commit_id in (None, "unversioned") else commit_id,
        branch=_text(commit.get("branch")),
        dirty=commit.get("dirty") if isinstance(commit.get("dirty"), bool) else None,
        mode=None,
        fingerprint=_fingerprint(machine),
        tool_versions={"pytest-benchmark": str(data.get("version", "?"))},
        failed=(),
        results=results,
    )


def _object(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def _date(source: Path, value: Any) -> str | None:
    if value is None:
        return None
    try:
        return format_timestamp(parse_timestamp(str(value)))
    except ValueError as exc:
        raise fail(source, f"datetime {value!r} is not an ISO 8601 timestamp", _FIX) from exc


def _fingerprint(machine: Mapping[str, Any]) -> dict[str, Any]:
    cpu = _object(machine.get("cpu"))
    found = {
        "python_version": machine.get("python_version"),
        "python_implementation": machine.get("python_implementation"),
        "hostname": machine.get("node"),
        "platform": " ".join(str(machine.get(k, "")) for k in ("system", "release")).strip(),
        "cpu_model": cpu.get("brand_raw"),
        "cpu_count": cpu.get("count"),
    }
    return {key: value for key, value in found.items() if value not in (None, "")}


def _result(source: Path, index: int, bench: Any) -> ParsedResult:
    if not isinstance(bench, dict) or not isinstance(bench.get("stats"), dict):
        raise fail(source, f"benchmark #{index + 1} has no stats object", _FIX)
    name = bench.get("fullname") or bench.get("name")
    if not isinstance(name, str) or not name:
        raise fail(source, f"benchmark #{index + 1} has no name", _FIX)
    stats = bench["stats"]
    data = stats.get("data")
    if data is not None:
        summary, samples = _from_rounds(source, name, data)
    else:
        summary, samples = _from_stats(source, name, stats)
    module = name.split("::", 1)[0].removesuffix(".py").replace("/", ".")
    metadata = {
        "perfkit_kind": "time",
        "perfkit_summary_only": data is None,
        "pytest_benchmark_rounds": stats.get("rounds"),
        "pytest_benchmark_iterations": stats.get("iterations"),
    }
    return ParsedResult(
        benchmark=name,
        metric="time",
        unit="second",
        target=None,
        suite=str(bench.get("group") or module or "pytest-benchmark"),
        summary=summary,
        samples=samples,
        metadata=metadata,
    )


def _finite_positive(values: Any) -> bool:
    return (
        isinstance(values, list)
        and bool(values)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        and all(math.isfinite(v) and v > 0 for v in values)
    )


def _from_rounds(source: Path, name: str, data: Any) -> tuple[SampleSummary, tuple[float, ...]]:
    if not _finite_positive(data):
        raise fail(source, f"benchmark {name!r}: stats.data must be positive finite numbers", _FIX)
    rounds = tuple(float(value) for value in data)
    return summarize([[value] for value in rounds]), rounds


def _from_stats(
    source: Path, name: str, stats: Mapping[str, Any]
) -> tuple[SampleSummary, tuple[float, ...]]:
    values = [stats.get(key) for key in _STATS]
    if not _finite_positive(values):
        raise fail(
            source,
            f"benchmark {name!r}: stats {', '.join(_STATS)} must be positive finite",
            _FIX,
        )
    low, high, mean, median, q1, q3 = (float(value) for value in values)  # type: ignore[arg-type]
    five = (low, q1, median, q3, high)
    stdev = stats.get("stddev")
    rounds = stats.get("rounds")
    summary = SampleSummary(
        n=int(rounds) if isinstance(rounds, int) and rounds > 0 else len(five),
        median=median,
        mean=mean,
        stdev=float(stdev) if isinstance(stdev, int | float) and math.isfinite(stdev) else None,
        min=low,
        max=high,
        p5=low,  # the file has no percentiles beyond the quartiles
        p95=high,
        mad=(q3 - q1) / 2.0,  # half the interquartile range: the MAD of a symmetric spread
        process_medians=five,
    )
    return summary, five
