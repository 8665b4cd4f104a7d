"""Reading asv (airspeed velocity) results into runs, so a team brings its history along.

asv keeps a results directory (``results_dir`` of asv.conf.json)::

    results/
      benchmarks.json                    every benchmark: type (time, mem, peakmem, track), unit,
                                         param_names, ...
      <machine>/machine.json             the machine: cpu, num_cpu, os, arch, ram
      <machine>/<commit>-<env>.json      one run: a commit measured in one environment

A run file (result format version 2, asv 0.5 and later) holds ``commit_hash``, ``env_name``,
``date`` (milliseconds since the epoch), ``python``, ``result_columns`` and ``results``: per
benchmark a row of those columns: ``result`` (one value per combination of ``params``, None when
it failed), ``stats_q_25`` / ``stats_q_75`` and, with ``asv run --record-samples``, ``samples``
(the raw values). With samples each is a sample; without them the quartiles and the median stand
in for them (``perfkit_summary_only``; compare's verdicts then say they rest on summary
statistics). Each run file becomes one run (``run_key`` ``asv:<machine>:<commit>:<env>``, so a
directory ingests again as a no-op); each combination of parameters one benchmark,
``name(p1, p2)``; a benchmark that failed is listed as such (``perfkit_failed``).

``read_asv(path)`` takes the results directory, one machine's directory, or one run file; it
validates every file before returning, and raises ResultFileError (exit 2) naming the file.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perfkit_report._exceptions import ResultFileError
from perfkit_report._history._contract import ParsedResult, ParsedRun, fail
from perfkit_report._history._statistics import SampleSummary, summarize
from perfkit_report._history._timestamps import format_timestamp
from perfkit_report._input import path_text, read_input, utf8_text

__all__ = ["is_asv_result", "read_asv"]

_BENCHMARKS = "benchmarks.json"
_MACHINE = "machine.json"
_UNITS = {"seconds": ("second", "time"), "bytes": ("byte", "bytes")}
_FIX = "pass an asv results directory (results/, with benchmarks.json) or a run file in it"


def is_asv_result(data: Any) -> bool:
    """An asv run file: a commit hash beside results by column."""
    return isinstance(data, dict) and "commit_hash" in data and "results" in data


def read_asv(path: Path, document: Any = None) -> list[ParsedRun]:
    """Every run under ``path`` (see the module docstring), oldest first. ``document``: the
    run file's JSON when ``path`` is a run file its caller has already parsed."""
    files, root = _run_files(path)
    benchmarks = _load(root / _BENCHMARKS)
    if not isinstance(benchmarks, dict):
        raise fail(root / _BENCHMARKS, "is not a JSON object of benchmarks", _FIX)
    machines = {folder: _machine(folder) for folder in sorted({file.parent for file in files})}
    runs = [
        _run(file, benchmarks, _load(file) if document is None else document, machines[file.parent])
        for file in files
    ]
    return sorted(runs, key=lambda run: (run.started or "", run.run_key))


def _run_files(path: Path) -> tuple[list[Path], Path]:
    """(the run files, the results directory holding benchmarks.json)."""
    if path.is_file():
        return [path], path.parent.parent
    if (path / _BENCHMARKS).is_file():
        machines = sorted(child for child in path.iterdir() if (child / _MACHINE).is_file())
        files = [file for machine in machines for file in _machine_runs(machine)]
        if not files:
            raise fail(path, "holds no asv run (no <machine>/<commit>-<env>.json)", "run asv first")
        return files, path
    if (path / _MACHINE).is_file():
        files = _machine_runs(path)
        if not files:
            raise fail(path, "holds no asv run", "run asv first")
        return files, path.parent
    raise fail(path, "is not an asv results directory (no benchmarks.json or machine.json)", _FIX)


def _machine_runs(machine: Path) -> list[Path]:
    return sorted(file for file in machine.glob("*.json") if file.name != _MACHINE)


def _load(path: Path) -> Any:
    # read_input refuses FIFOs and devices (a directory's *.json could be one) before reading.
    raw = read_input(path, ResultFileError, "restore the asv results or re-run asv")
    text = utf8_text(path, raw, ResultFileError, "restore the asv results or re-run asv")
    try:
        return json.loads(text)  # asv writes Infinity for open confidence intervals
    except ValueError as exc:
        raise fail(path, f"is not valid JSON ({exc})", "re-run asv or restore the file") from exc


def _machine(folder: Path) -> Mapping[str, Any]:
    """One machine folder's machine.json (read once for all its runs); empty when absent."""
    machine_file = folder / _MACHINE
    machine = _load(machine_file) if machine_file.is_file() else {}
    return machine if isinstance(machine, dict) else {}


def _run(
    file: Path, benchmarks: Mapping[str, Any], data: Any, machine: Mapping[str, Any]
) -> ParsedRun:
    if not is_asv_result(data):
        raise fail(file, "is not an asv run file (no commit_hash and results)", _FIX)
    if data.get("version") != 2:
        raise fail(
            file,
            f"asv result format {data.get('version')!r} is not supported (asv 0.5+ writes 2)",
            "re-run the benchmarks with a current asv",
        )
    results, failed = _results(file, data, benchmarks)
    if not results:
        raise fail(file, "holds no benchmark result", "re-run asv")
    return ParsedRun(
        run_key=f"asv:{file.parent.name}:{data['commit_hash']}:{data.get('env_name', '')}",
        source=path_text(file.resolve()),
        started=_date(file, data.get("date")),
        finished=None,
        commit_sha=str(data["commit_hash"]),
        branch=None,
        dirty=None,
        mode=None,
        fingerprint=_fingerprint(machine, data),
        tool_versions={"asv": "result format 2"},
        failed=tuple(failed),
        results=tuple(results),
    )


def _date(file: Path, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise fail(file, f"date {value!r} is not milliseconds since the epoch", _FIX)
    return format_timestamp(datetime.fromtimestamp(value / 1000.0, UTC))


def _fingerprint(machine: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    found = {
        "hostname": machine.get("machine"),
        "cpu_model": machine.get("cpu"),
        "cpu_count": machine.get("num_cpu"),
        "platform": machine.get("os"),
        "arch": machine.get("arch"),
        "python_version": data.get("python"),
        "asv_env": data.get("env_name"),
    }
    return {key: value for key, value in found.items() if value not in (None, "")}


def _results(
    file: Path, data: Mapping[str, Any], benchmarks: Mapping[str, Any]
) -> tuple[list[ParsedResult], list[dict[str, str]]]:
    columns = data.get("result_columns")
    rows = data.get("results")
    if not isinstance(columns, list) or not isinstance(rows, dict):
        raise fail(file, "has no result_columns list and results object", _FIX)
    results: list[ParsedResult] = []
    failed: list[dict[str, str]] = []
    for name, row in rows.items():
        if not isinstance(row, list):
            raise fail(file, f"benchmark {name!r}: its row is not a list", _FIX)
        entry = dict(zip(columns, row, strict=False))
        found = benchmarks.get(name)
        info: Mapping[str, Any] = found if isinstance(found, dict) else {}
        for combo, value, samples, quartiles in _combinations(file, name, entry):
            bench_id = f"{name}({', '.join(combo)})" if combo else name
            if value is None or not math.isfinite(value):
                failed.append({"id": bench_id, "kind": "asv", "error": "failed or skipped"})
                continue
            results.append(_result(bench_id, name, info, value, samples, quartiles))
    return results, failed


def _combinations(
    file: Path, name: str, entry: Mapping[str, Any]
) -> list[tuple[tuple[str, ...], float | None, list[float] | None, tuple[Any, Any]]]:
    values = entry.get("result")
    params = entry.get("params") or []
    if values is None:
        values = [None]
    if not isinstance(values, list) or not isinstance(params, list):
        raise fail(file, f"benchmark {name!r}: result and params must be lists", _FIX)
    combos = [tuple(str(p) for p in combo) for combo in itertools.product(*params)] or [()]
    if len(combos) != len(values):
        raise fail(
            file, f"benchmark {name!r}: {len(values)} results for {len(combos)} params", _FIX
        )
    samples = _column(entry, "samples", len(values))
    q25, q75 = _column(entry, "stats_q_25", len(values)), _column(entry, "stats_q_75", len(values))
    out = []
    for k, combo in enumerate(combos):
        value = values[k]
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise fail(file, f"benchmark {name!r}: result {value!r} is not a number", _FIX)
        sample = samples[k] if isinstance(samples[k], list) else None
        out.append((combo, None if value is None else float(value), sample, (q25[k], q75[k])))
    return out


def _column(entry: Mapping[str, Any], key: str, size: int) -> list[Any]:
    column = entry.get(key)
    return column if isinstance(column, list) and len(column) == size else [None] * size


def _result(
    bench_id: str,
    name: str,
    info: Mapping[str, Any],
    value: float,
    samples: Sequence[Any] | None,
    quartiles: tuple[Any, Any],
) -> ParsedResult:
    unit, metric = _UNITS.get(str(info.get("unit")), ("integer", "count"))
    raw = [float(v) for v in samples or () if isinstance(v, int | float) and math.isfinite(v)]
    if raw and all(v > 0 for v in raw):
        summary, stored, summary_only = summarize([[v] for v in raw]), tuple(raw), False
    else:
        summary, stored, summary_only = _from_quartiles(value, quartiles), (value,), True
    return ParsedResult(
        benchmark=bench_id,
        metric=metric,
        unit=unit,
        target=None,
        suite=name.split(".", 1)[0],
        summary=summary,
        samples=stored,
        metadata={
            "perfkit_kind": metric,
            "perfkit_summary_only": summary_only,
            "asv_type": info.get("type"),
            "asv_unit": info.get("unit"),
        },
    )


def _from_quartiles(median: float, quartiles: tuple[Any, Any]) -> SampleSummary:
    """The median with its quartiles (when asv recorded them) in place of the samples."""
    low, high = (
        float(q) if isinstance(q, int | float) and math.isfinite(q) else median for q in quartiles
    )
    points = (low, median, high) if low > 0 and median > 0 else (median,)
    return SampleSummary(
        n=len(points),
        median=median,
        mean=median,
        stdev=None,
        min=min(low, median),
        max=max(high, median),
        p5=min(low, median),  # the file has no percentiles beyond the quartiles
        p95=max(high, median),
        mad=(high - low) / 2.0,
        process_medians=points,
    )
