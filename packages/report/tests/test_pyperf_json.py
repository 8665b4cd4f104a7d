"""The fast pyperf JSON reader gives exactly what pyperf's loader gives, or defers to it.

Every comparison runs ``read_result_file`` twice: as shipped (the fast reader first) and with the
fast reader switched off (pyperf's ``BenchmarkSuite.load`` for every file, the behaviour before
the fast reader existed). The outcomes must be equal: the same ``ParsedRun`` (all fields, metadata
key order included) or the same error message.
"""

from __future__ import annotations

import dataclasses
import datetime
import gzip
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyperf
import pytest
from pyperf import _bench as pyperf_bench
from pyperf import _formatter as pyperf_formatter
from pyperf import _metadata as pyperf_metadata

from perfkit_report import ParsedRun, ResultFileError, read_result_file
from perfkit_report._history import _ingest, _pyperf_json
from perfkit_report._history._pyperf_json import LoadedSuite, load_suite

SHARED = Path(__file__).parent / "data" / "pyperf"
THIRD_PARTY = sorted(SHARED.glob("*.json"))


def _outcome(path: Path) -> ParsedRun | str:
    try:
        return read_result_file(path)
    except ResultFileError as exc:
        return f"error: {exc}"


def _pyperf_outcome(path: Path, monkeypatch: pytest.MonkeyPatch) -> ParsedRun | str:
    with monkeypatch.context() as patch:
        patch.setattr(_ingest, "load_suite", lambda data: None)
        return _outcome(path)


def _key_orders(parsed: ParsedRun) -> list[Any]:
    # dict equality ignores order; the stored JSON is sorted, but keep pyperf's order anyway.
    return [list(result.metadata) for result in parsed.results] + [list(parsed.fingerprint)]


def _assert_same(path: Path, monkeypatch: pytest.MonkeyPatch) -> ParsedRun | str:
    fast = _outcome(path)
    reference = _pyperf_outcome(path, monkeypatch)
    assert fast == reference
    if isinstance(fast, ParsedRun):
        assert isinstance(reference, ParsedRun)
        for field in dataclasses.fields(ParsedRun):
            assert getattr(fast, field.name) == getattr(reference, field.name), field.name
        assert _key_orders(fast) == _key_orders(reference)
    return fast


def _loaded_by_pyperf(path: Path) -> LoadedSuite:
    return _ingest._from_pyperf(Path(path), pyperf.BenchmarkSuite.load(str(path)))


def _assert_same_suite(path: Path) -> None:
    """The fast reader read the file itself, and every field equals pyperf's."""
    opener: Callable[..., Any] = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as stream:
        fast = load_suite(json.load(stream))
    assert fast is not None, "the fast reader deferred to pyperf"
    reference = _loaded_by_pyperf(path)
    assert fast.benchmarks == reference.benchmarks
    for mine, theirs in zip(fast.benchmarks, reference.benchmarks, strict=True):
        assert list(mine.metadata) == list(theirs.metadata)
    assert fast.metadata == reference.metadata
    assert list(fast.metadata) == list(reference.metadata)
    assert fast.get_dates() == reference.get_dates()


def test_the_reference_tables_match_pyperf() -> None:
    assert _pyperf_json.FORMAT_VERSION == pyperf_bench._JSON_VERSION
    assert set(_pyperf_json._CHECKED_METADATA) == set(pyperf_bench._CHECKED_METADATA)
    assert set(_pyperf_json._TYPED_METADATA) == set(pyperf_metadata.METADATA)
    assert _pyperf_json._DEFAULT_UNIT == pyperf_formatter.DEFAULT_UNIT
    assert all(_pyperf_json._known_unit(unit) for unit in pyperf_formatter.UNIT_FORMATTERS)


@pytest.mark.parametrize("path", THIRD_PARTY, ids=lambda p: p.name)
@pytest.mark.parametrize("compress", [False, True], ids=["json", "gz"])
def test_third_party_files_read_as_pyperf_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Path, compress: bool
) -> None:
    if compress:
        target = tmp_path / f"{path.name}.gz"
        target.write_bytes(gzip.compress(path.read_bytes()))
    else:
        target = tmp_path / path.name
        shutil.copy(path, target)
    _assert_same_suite(target)
    assert isinstance(_assert_same(target, monkeypatch), ParsedRun)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"failed": [{"id": "x.y", "kind": "error", "error": "boom"}]},
        {"extra": {"aslr": "Full randomization", "platform": "Linux", "perfkit_load_avg": 0}},
        {"dirty": "true", "branch": "feature/x"},
    ],
    ids=["default", "failed", "extra", "dirty"],
)
def test_perfkit_files_read_as_pyperf_reads_them(
    monkeypatch: pytest.MonkeyPatch, perfkit_file: Callable[..., Path], options: dict[str, Any]
) -> None:
    path = perfkit_file(**options)
    _assert_same_suite(path)
    assert isinstance(_assert_same(path, monkeypatch), ParsedRun)


def _worker_metadata(index: int, **extra: Any) -> dict[str, Any]:
    """What a pyperf worker records per process: date, duration, load, memory, loops."""
    start = datetime.datetime(2026, 11, 20, 10, 0, 0) + datetime.timedelta(seconds=7 * index)
    return {
        "date": start.isoformat(sep=" "),
        "duration": 0.25 + index / 100,
        "load_avg_1min": 0.5 + index / 10,
        "mem_max_rss": 14_000_000 + 4096 * index,
        "uptime": 18_000.5 + index,
        "cpu_freq": f"0={3000 + index} MHz",
        "runnable_threads": 1,
        "loops": 64,
        **extra,
    }


def _write_worker_style_file(path: Path, *, dates: bool = True) -> Path:
    """A perfkit file shaped like a real run: a calibration run with warmups only, then worker
    runs with their own metadata (some of it equal in every run, most of it not), inner loops."""
    common = {
        "perfkit_run_id": "c" * 32,
        "perfkit_started": "2026-11-20T10:00:00+00:00",
        "perfkit_finished": "2026-11-20T10:05:00+00:00",
        "perfkit_libraries": json.dumps({"pyperf": "2.10.0"}),
        "perfkit_failed": "[]",
        "hostname": "worker",
        "python_version": "3.11.7 (64-bit)",
        "cpu_count": 2,
    }
    benchmarks = []
    for number, (name, unit) in enumerate(
        [("routing.tell.direct", "second"), ("memory.peak", "byte"), ("load.tell.p99", "second")]
    ):
        md = {
            **common,
            "name": name,
            "unit": unit,
            "inner_loops": 10,
            "perfkit_kind": "latency" if name.endswith("p99") else None,
            "perfkit_suite": name.split(".")[0],
            "perfkit_params": json.dumps({"n": number}),
        }
        md = {key: value for key, value in md.items() if value is not None}
        calibration = _worker_metadata(0, calibrate_loops=64)
        del calibration["loops"]
        if not dates:
            del calibration["date"], calibration["duration"]
        runs = [
            pyperf.Run(
                [],
                warmups=[(1, 2.0e-6), (2, 2.1e-6), (64, 1.9e-6)],
                metadata={**md, **calibration},
                collect_metadata=False,
            )
        ]
        for index in range(1, 5):
            own = _worker_metadata(index + 10 * number)
            if not dates:
                del own["date"], own["duration"]
            values = [
                (1 + index / 10 + k / 100) * (1e-6 if unit == "second" else 1e3) for k in range(3)
            ]
            runs.append(
                pyperf.Run(
                    values,
                    warmups=[(64, values[0] * 1.5)],
                    metadata={**md, **own},
                    collect_metadata=False,
                )
            )
        benchmarks.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benchmarks).dump(str(path), replace=True)
    return path


@pytest.mark.parametrize("dates", [True, False], ids=["dates", "no-dates"])
def test_worker_style_file_reads_as_pyperf_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dates: bool
) -> None:
    path = _write_worker_style_file(tmp_path / "worker.json", dates=dates)
    _assert_same_suite(path)
    parsed = _assert_same(path, monkeypatch)
    assert isinstance(parsed, ParsedRun)
    # The calibration run is no process; run-level metadata equal in every run is kept.
    assert all(len(result.summary.process_medians) == 4 for result in parsed.results)
    assert parsed.results[0].metadata["runnable_threads"] == 1
    assert "date" not in parsed.results[0].metadata
    if not dates:
        assert (parsed.started, parsed.finished) == (
            "2026-11-20T10:00:00.000000+00:00",
            "2026-11-20T10:05:00.000000+00:00",
        )


def _pyperf_file(
    *,
    suite_md: Any = None,
    bench_md: Any = None,
    runs: Any = None,
    benchmarks: Any = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {"version": "1.0"}
    if suite_md is not None:
        data["metadata"] = suite_md
    bench: dict[str, Any] = {"runs": runs if runs is not None else [{"values": [1.0, 2.0]}]}
    if bench_md is not None:
        bench["metadata"] = bench_md
    data["benchmarks"] = benchmarks if benchmarks is not None else [bench]
    return data


_NAMED = {"name": "x.y", "unit": "second"}
# Files the fast reader leaves to pyperf: pyperf refuses them, or reads them into something else
# than the JSON says (it strips strings, accepts bools as numbers). Each one must end exactly as
# it did with pyperf alone.
DEFERRED: list[tuple[str, dict[str, Any]]] = [
    ("version-6", {"version": 6, "benchmarks": [{"runs": [{"values": [1.0]}]}]}),
    ("spaces", _pyperf_file(suite_md={"name": " x.y ", "unit": "second"})),
    ("spaced-unit", _pyperf_file(suite_md={"name": "x.y", "unit": "second "})),
    ("newline", _pyperf_file(suite_md={**_NAMED, "note": "a\nb"})),
    ("empty-string", _pyperf_file(suite_md={**_NAMED, "note": ""})),
    ("bool-metadata", _pyperf_file(suite_md={**_NAMED, "flag": True})),
    ("null-metadata", _pyperf_file(suite_md={**_NAMED, "flag": None})),
    ("list-metadata", _pyperf_file(suite_md={**_NAMED, "tags": ["a", "b"]})),
    ("bad-tags", _pyperf_file(suite_md={**_NAMED, "tags": ["all"]})),
    ("float-loops", _pyperf_file(suite_md={**_NAMED, "loops": 2.0})),
    ("zero-loops", _pyperf_file(suite_md={**_NAMED, "loops": 0})),
    ("negative-duration", _pyperf_file(suite_md={**_NAMED, "duration": -1})),
    ("unknown-unit", _pyperf_file(suite_md={"name": "x.y", "unit": "parsec"})),
    ("suite-md-null", {**_pyperf_file(bench_md=_NAMED), "metadata": None}),
    ("suite-md-list", {**_pyperf_file(bench_md=_NAMED), "metadata": []}),
    ("bench-md-list", _pyperf_file(bench_md=["x"])),
    ("run-md-null", _pyperf_file(bench_md=_NAMED, runs=[{"values": [1.0], "metadata": None}])),
    ("no-name", _pyperf_file(suite_md={"unit": "second"})),
    (
        "name-in-second-run",
        _pyperf_file(runs=[{"values": [1.0]}, {"values": [1.0], "metadata": _NAMED}]),
    ),
    ("no-runs", _pyperf_file(bench_md=_NAMED, runs=[])),
    ("runs-not-list", _pyperf_file(bench_md=_NAMED, runs={"values": [1.0]})),
    ("run-not-dict", _pyperf_file(bench_md=_NAMED, runs=[[1.0]])),
    ("bench-not-dict", {"version": "1.0", "benchmarks": ["x"]}),
    ("benchmarks-not-list", {"version": "1.0", "benchmarks": {"x": 1}}),
    ("bool-value", _pyperf_file(bench_md=_NAMED, runs=[{"values": [True, 1.0]}])),
    ("string-value", _pyperf_file(bench_md=_NAMED, runs=[{"values": ["1.0"]}])),
    ("zero-value", _pyperf_file(bench_md=_NAMED, runs=[{"values": [0.0, 1.0]}])),
    ("values-null", _pyperf_file(bench_md=_NAMED, runs=[{"values": None}])),
    ("nothing-in-run", _pyperf_file(bench_md=_NAMED, runs=[{}])),
    ("bad-warmup", _pyperf_file(bench_md=_NAMED, runs=[{"values": [1.0], "warmups": [[0, 1.0]]}])),
    ("short-warmup", _pyperf_file(bench_md=_NAMED, runs=[{"values": [1.0], "warmups": [[1]]}])),
    ("negative-warmup", _pyperf_file(bench_md=_NAMED, runs=[{"warmups": [[1, -1.0]]}])),
    (
        "units-differ",
        _pyperf_file(
            suite_md={"name": "x.y"},
            runs=[{"values": [1.0], "metadata": {"unit": "byte"}}, {"values": [1.0]}],
        ),
    ),
    (
        "duplicate-names",
        _pyperf_file(
            suite_md=_NAMED,
            benchmarks=[{"runs": [{"values": [1.0]}]}, {"runs": [{"values": [2.0]}]}],
        ),
    ),
    (
        "naive-and-aware-dates",
        _pyperf_file(
            suite_md={"unit": "second"},
            benchmarks=[
                {
                    "metadata": {"name": "a", "date": "2026-01-01 10:00:00"},
                    "runs": [{"values": [1.0]}],
                },
                {
                    "metadata": {"name": "b", "date": "2026-01-01T10:00:00+00:00"},
                    "runs": [{"values": [1.0]}],
                },
            ],
        ),
    ),
    ("bad-date", _pyperf_file(suite_md={**_NAMED, "date": "last week"})),
]


@pytest.mark.parametrize(("name", "data"), DEFERRED, ids=[case[0] for case in DEFERRED])
def test_odd_files_end_as_with_pyperf_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: dict[str, Any]
) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_suite(data) is None
    _assert_same(path, monkeypatch)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("int-values", _pyperf_file(bench_md=_NAMED, runs=[{"values": [3, 4, 5]}])),
        ("int-name", _pyperf_file(suite_md={"name": 7, "unit": "second"})),
        (
            "dates-without-duration",
            _pyperf_file(
                suite_md={**_NAMED, "inner_loops": 3, "loops": 2},
                runs=[
                    {"values": [1.5, 2.0], "warmups": [[1, 0.7]], "metadata": {"date": d}}
                    for d in ("2026-01-01 10:00:00", "2026-01-01 09:00:00.5")
                ],
            ),
        ),
        (
            "overridden-then-restored",
            _pyperf_file(
                suite_md={**_NAMED, "note": "suite"},
                bench_md={"note": "bench", "other": 1},
                runs=[
                    {"values": [1.0], "metadata": {"other": 1.0}},
                    {"values": [1.0]},
                    {"values": [1.0], "metadata": {"note": "bench", "extra": "x"}},
                ],
            ),
        ),
    ],
    ids=lambda case: case if isinstance(case, str) else "",
)
def test_small_files_read_as_pyperf_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, data: dict[str, Any]
) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    _assert_same_suite(path)
    assert isinstance(_assert_same(path, monkeypatch), ParsedRun)
