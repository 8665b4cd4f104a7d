"""Reading a pyperf result file into one run's rows, validating everything before any write.

Any pyperf JSON file is accepted (``.json`` or gzip-compressed ``.json.gz``; gzip is recognised by
its magic bytes, whatever the name), including files other people made. perfkit-bench adds
``perfkit_*`` metadata keys to each benchmark (run-level keys repeated on every benchmark); files
without them get defaults documented in the package README ("Ingest").

Every check runs here, in memory, so a bad file is refused before the database is touched:
unreadable file, corrupt or truncated gzip, not UTF-8, truncated or invalid JSON, NaN/Infinity,
not a pyperf file, a format version pyperf cannot read, no benchmark, a benchmark without values,
an unknown unit, non-finite values, malformed ``perfkit_*`` values, benchmarks from two runs.

Files in pyperf's current format (version "1.0") are read by ``_pyperf_json`` (why: its
docstring: pyperf's loader was most of an ingest); anything it does not fully understand goes to
``pyperf.BenchmarkSuite.load``, as every file did before, so both readers give the same data and
odd files the same errors. The checks below run on that data, whichever reader produced it.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import io
import itertools
import json
import math
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyperf

from perfkit_report._exceptions import ResultFileError
from perfkit_report._history._contract import (
    ParsedResult,
    ParsedRun,
    checked_run,
    fail,
    summaries,
)
from perfkit_report._history._pyperf_json import LoadedBenchmark, LoadedSuite, load_suite
from perfkit_report._history._timestamps import format_timestamp, parse_timestamp
from perfkit_report._input import parse_json, path_text, read_input, utf8_text

__all__ = ["ParsedResult", "ParsedRun", "read_result_file"]

# pyperf units and the metric each one measures when perfkit_kind does not say.
_UNIT_METRICS = {"second": "time", "byte": "bytes", "integer": "count"}

# perfkit metadata that describes the whole run (stored in ``runs``), not one benchmark.
_RUN_KEYS = frozenset(
    {
        "perfkit_run_id",
        "perfkit_version",
        "perfkit_mode",
        "perfkit_started",
        "perfkit_finished",
        "perfkit_commit",
        "perfkit_branch",
        "perfkit_dirty",
        "perfkit_cpu_model",
        "perfkit_cpu_count",
        "perfkit_kernel",
        "perfkit_python",
        "perfkit_load_avg",
        "perfkit_libraries",
        "perfkit_failed",
    }
)
_PERFKIT_FINGERPRINT = (
    "perfkit_cpu_model",
    "perfkit_cpu_count",
    "perfkit_kernel",
    "perfkit_python",
    "perfkit_load_avg",
)
# pyperf's own environment metadata: what machine and interpreter produced the numbers.
_PYPERF_FINGERPRINT = (
    "python_version",
    "python_implementation",
    "python_executable",
    "python_compiler",
    "python_cflags",
    "hostname",
    "cpu_model_name",
    "cpu_count",
    "cpu_config",
    "cpu_affinity",
    "platform",
    "aslr",
    "timer",
)
_GZIP_MAGIC = b"\x1f\x8b"


def read_result_file(path: str | Path) -> ParsedRun:
    """Read and validate one pyperf result file; raise ResultFileError naming file, reason, fix."""
    source = Path(path)
    with _collector_paused():
        # The parsed file is freed when _read returns, before the collector resumes.
        try:
            return _read(source)
        except RecursionError as exc:
            # The parser's own depth is checked (_input.parse_json); this is the net for any
            # nesting pyperf's loader or a check recursed into.
            raise fail(source, "nested too deeply to read", _RERUN) from exc
        except OverflowError as exc:
            raise fail(source, f"holds a number out of range ({exc})", _RERUN) from exc


def _read(source: Path) -> ParsedRun:
    text = _read_text(source)
    data = _parse_json(source, text)
    suite = _load_suite(source, text, data)
    return checked_run(path_text(source), _build_run(source, text, suite))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while one file is parsed and checked.

    Why: the parsed JSON is thousands of containers (a dict and a list per worker process of each
    benchmark: ~6000 in ``toolkit.ingest``'s file) that stay alive until the run is built. The
    collector runs every 700 new containers, finds nothing to free (parsed JSON holds no cycle),
    promotes them, and the promotions set off a full collection of the whole process (numpy,
    scipy, ... loaded) about every second ingest: ~10 ms here, two thirds of the ingest's own CPU
    time. Paused, the file's containers are freed by reference counting before the collector
    looks: ``toolkit.ingest`` went from 7.5 to 10.6 k results/s (perfkit-bench, 3 interleaved
    runs). Mercurial pauses it the same way while it parses (``util.nogc``). Left as it is when
    the caller has already disabled it.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_RERUN = "the measurement is broken; re-run the benchmark"
_PYPERF_FILE = "pass a pyperf JSON result file (python bench.py -o FILE)"


def _read_text(source: Path) -> str:
    raw = read_input(source, ResultFileError, "check the path")
    if raw.startswith(_GZIP_MAGIC) or source.name.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise fail(
                source,
                f"corrupt or truncated gzip data ({exc})",
                "re-copy the file or re-run the benchmark",
            ) from exc
    return utf8_text(source, raw, ResultFileError, _PYPERF_FILE)


def _parse_json(source: Path, text: str) -> Any:
    try:
        return parse_json(path_text(source), text, ResultFileError, _RERUN)
    except json.JSONDecodeError as exc:
        # The input ended inside the document: the decoder stopped at the end, or inside a string
        # that never closed (it reports where the string started).
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise fail(
                source,
                f"truncated JSON (the text ends at line {exc.lineno} before the document does)",
                "the writer was interrupted; re-run the benchmark",
            ) from exc
        raise fail(
            source,
            f"invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})",
            _PYPERF_FILE,
        ) from exc


def _load_suite(source: Path, text: str, data: Any) -> LoadedSuite:
    if not isinstance(data, dict) or "benchmarks" not in data or "version" not in data:
        raise fail(
            source,
            "not a pyperf result file (no top-level 'version' and 'benchmarks')",
            "pass a file written by pyperf (python bench.py -o FILE)",
        )
    if isinstance(data["benchmarks"], list) and not data["benchmarks"]:
        raise fail(source, "holds no benchmark", "re-run the suite; nothing was measured")
    loaded = load_suite(data)
    if loaded is not None:
        return loaded
    try:
        suite = pyperf.BenchmarkSuite.load(io.StringIO(text))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        version = data.get("version")
        if version != "1.0":
            raise fail(
                source,
                f"pyperf format version {version!r} is not supported ({exc})",
                "write the file with pyperf >= 1.0 (format version '1.0')",
            ) from exc
        raise fail(
            source,
            f"not a valid pyperf result ({type(exc).__name__}: {exc})",
            "pass a file written by pyperf (python bench.py -o FILE)",
        ) from exc
    return _from_pyperf(source, suite)


def _from_pyperf(source: Path, suite: Any) -> LoadedSuite:
    """The data ingest reads, taken from a suite loaded by pyperf."""
    benchmarks = tuple(
        LoadedBenchmark(
            name=str(bench.get_name()),
            unit=str(bench.get_unit()),
            metadata=dict(bench.get_metadata()),
            processes=tuple(
                _floats(source, bench.get_name(), run.values) for run in bench.get_runs()
            ),
        )
        for bench in suite.get_benchmarks()
    )
    return LoadedSuite(
        benchmarks=benchmarks, metadata=dict(suite.get_metadata()), get_dates=suite.get_dates
    )


def _floats(source: Path, name: str, values: Any) -> tuple[float, ...]:
    """One run's values as floats. pyperf's loader takes JSON ``true`` as a number (bool is an
    int in Python) and integers of any size; neither is a measurement."""
    if any(type(value) is bool for value in values):
        raise fail(source, f"benchmark {name!r} has true/false among its values", _RERUN)
    try:
        return tuple(float(value) for value in values)
    except OverflowError as exc:
        raise fail(
            source, f"benchmark {name!r} has a value too large for a float ({exc})", _RERUN
        ) from exc


def _build_run(source: Path, text: str, suite: LoadedSuite) -> ParsedRun:
    benchmarks = suite.benchmarks
    metadatas = [dict(bench.metadata) for bench in benchmarks]
    run_md = metadatas[0]
    run_key = _run_key(source, text, metadatas)
    started, finished = _run_dates(source, suite, run_md)
    fingerprint = _fingerprint(suite.metadata, run_md)
    tool_versions = _tool_versions(source, run_md)
    failed = _failed(source, run_md)
    checked = [
        _build_result(source, bench, md) for bench, md in zip(benchmarks, metadatas, strict=True)
    ]
    # Summarised together once every benchmark passed its checks (summarize_many: why).
    summarized = summaries(path_text(source), [bench.processes for bench in benchmarks])
    results = tuple(
        ParsedResult(summary=summary, **fields)
        for fields, summary in zip(checked, summarized, strict=True)
    )
    return ParsedRun(
        run_key=run_key,
        source=path_text(source.resolve()),
        started=started,
        finished=finished,
        commit_sha=_text(run_md.get("perfkit_commit", run_md.get("commit_id"))),
        branch=_text(run_md.get("perfkit_branch", run_md.get("commit_branch"))),
        dirty=_dirty(source, run_md),
        mode=_text(run_md.get("perfkit_mode")),
        fingerprint=fingerprint,
        tool_versions=tool_versions,
        failed=failed,
        results=results,
    )


def _run_key(source: Path, text: str, metadatas: list[dict[str, Any]]) -> str:
    """perfkit_run_id, the same on every benchmark; a third-party file: the hash of its text."""
    run_ids = {md.get("perfkit_run_id") for md in metadatas}
    if len(run_ids) > 1:
        raise fail(
            source,
            "mixes benchmarks from different runs (perfkit_run_id differs between benchmarks)",
            "ingest each run's own file",
        )
    run_id = metadatas[0].get("perfkit_run_id")
    if run_id is not None:
        return str(run_id)
    # Third-party file: its content is its identity. Hash the decompressed text so the .json and
    # .json.gz of one result are the same run.
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _run_dates(
    source: Path, suite: LoadedSuite, run_md: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """(started, finished): perfkit's own keys, else the runs' dates."""
    try:
        dates = suite.get_dates()
    except (ValueError, TypeError, OverflowError) as exc:
        raise fail(
            source,
            f"a run's date metadata is not an ISO 8601 timestamp, or its date plus duration "
            f"is out of range ({exc})",
            "fix or drop the runs' date and duration metadata",
        ) from exc
    started = _timestamp(source, run_md, "perfkit_started", dates[0] if dates else None)
    finished = _timestamp(source, run_md, "perfkit_finished", dates[1] if dates else None)
    return started, finished


def _fingerprint(suite_md: Mapping[str, Any], run_md: Mapping[str, Any]) -> dict[str, Any]:
    """pyperf's environment metadata, then perfkit's (prefix dropped)."""
    fingerprint: dict[str, Any] = {k: suite_md[k] for k in _PYPERF_FINGERPRINT if k in suite_md}
    for key in _PERFKIT_FINGERPRINT:
        if key in run_md:
            fingerprint[key.removeprefix("perfkit_")] = run_md[key]
    return fingerprint


def _tool_versions(source: Path, run_md: Mapping[str, Any]) -> dict[str, Any]:
    tool_versions: dict[str, Any] = {}
    for key, name in (
        ("perfkit_version", "perfkit"),
        ("perf_version", "pyperf"),
        ("performance_version", "pyperformance"),
    ):
        if key in run_md:
            tool_versions[name] = run_md[key]
    if "perfkit_libraries" in run_md:
        tool_versions["libraries"] = _json_value(source, run_md, "perfkit_libraries", dict)
    return tool_versions


def _failed(source: Path, run_md: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    """perfkit_failed: the benchmarks that failed to run, as {id, kind, error} objects."""
    if "perfkit_failed" not in run_md:
        return ()
    failed_list = _json_value(source, run_md, "perfkit_failed", list)
    if not all(isinstance(item, dict) for item in failed_list):
        raise fail(
            source,
            "metadata perfkit_failed must be a JSON list of {id, kind, error} objects",
            "fix the writer (perfkit-bench) or re-run the suite",
        )
    return tuple(failed_list)


def _build_result(source: Path, bench: LoadedBenchmark, metadata: dict[str, Any]) -> dict[str, Any]:
    """Check one benchmark; the fields of its ParsedResult, all but the summary."""
    name = bench.name
    unit = bench.unit
    if unit not in _UNIT_METRICS:
        raise fail(
            source,
            f"benchmark {name!r} has unit {unit!r}; perfkit-report reads second, byte and integer",
            "re-run the benchmark with a supported unit",
        )
    processes = bench.processes
    samples = tuple(itertools.chain.from_iterable(processes))
    if not samples:
        raise fail(
            source,
            f"benchmark {name!r} has no values (only calibration or warmup runs)",
            "re-run the benchmark until it records values",
        )
    if not all(map(math.isfinite, samples)):
        raise fail(
            source,
            f"benchmark {name!r} has non-finite values",
            "the measurement is broken; re-run the benchmark",
        )

    metric = _metric(name, unit, metadata)
    # perfkit_id names the benchmark a second metric of one id belongs to (<id>.cpu_time is
    # benchmark <id>, metric cpu_time); ingest prefers it over the pyperf name.
    name = str(metadata.get("perfkit_id") or name)

    stored_md = {key: value for key, value in metadata.items() if key not in _RUN_KEYS}
    for key in _PYPERF_FINGERPRINT:
        stored_md.pop(key, None)
    if "perfkit_params" in stored_md:
        stored_md["perfkit_params"] = _json_value(source, metadata, "perfkit_params", dict)

    suite_name = metadata.get("perfkit_suite")
    if suite_name is None:
        suite_name = name.split(".", 1)[0] if "." in name else "external"
    return {
        "benchmark": name,
        "metric": metric,
        "unit": unit,
        "target": _text(metadata.get("perfkit_target")),
        "suite": str(suite_name),
        "samples": samples,
        "metadata": stored_md,
    }


def _metric(name: str, unit: str, metadata: Mapping[str, Any]) -> str:
    """``perfkit_metric`` when the file says (``cpu_time``, ``instructions``), else from
    ``perfkit_kind`` (a latency percentile is its own metric, named by the id's last part: x.p99
    -> p99), else from the unit."""
    if metadata.get("perfkit_metric") is not None:
        return str(metadata["perfkit_metric"])
    kind = metadata.get("perfkit_kind")
    if kind is None:
        return _UNIT_METRICS[unit]
    if kind == "latency":
        return name.rsplit(".", 1)[-1]
    return str(kind)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _timestamp(source: Path, metadata: Mapping[str, Any], key: str, fallback: Any) -> str | None:
    value = metadata.get(key)
    if value is None:
        return None if fallback is None else format_timestamp(fallback)
    try:
        return format_timestamp(parse_timestamp(str(value)))
    except ValueError as exc:
        raise fail(
            source, f"metadata {key} is {exc}", "write ISO 8601 (2026-01-31T12:00:00+00:00)"
        ) from exc


def _dirty(source: Path, metadata: Mapping[str, Any]) -> bool | None:
    value = metadata.get("perfkit_dirty")
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise fail(
        source, f"metadata perfkit_dirty is {value!r}", 'write "true" or "false" (perfkit-bench)'
    )


def _json_value(source: Path, metadata: Mapping[str, Any], key: str, kind: type) -> Any:
    fix = "fix the writer (perfkit-bench) or re-run the suite"
    where = f"{path_text(source)}: metadata {key}"
    try:
        value = parse_json(where, str(metadata[key]), ResultFileError, fix)
    except json.JSONDecodeError as exc:
        raise fail(source, f"metadata {key} is not valid JSON ({exc})", fix) from exc
    if not isinstance(value, kind):
        raise fail(
            source,
            f"metadata {key} must be a JSON {'object' if kind is dict else 'list'}",
            "fix the writer (perfkit-bench) or re-run the suite",
        )
    return value
