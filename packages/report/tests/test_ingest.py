"""Ingest: real third-party pyperf files, perfkit's own metadata, and every way a file is refused."""

from __future__ import annotations

import gc
import gzip
import json
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyperf
import pytest

from perfkit_report import History, ResultFileError, read_result_file
from perfkit_report._history import _ingest

SHARED = Path(__file__).parent / "data" / "pyperf"
THIRD_PARTY = sorted(SHARED.glob("*.json"))


def test_the_shared_data_is_there() -> None:
    assert [p.name for p in THIRD_PARTY] == [
        "mult_list_py36.json",
        "mult_list_py37.json",
        "mult_list_py38.json",
        "telco.json",
        "track_memory.json",
    ]


@pytest.mark.parametrize("path", THIRD_PARTY, ids=lambda p: p.name)
def test_third_party_file_statistics_match_pyperf(tmp_path: Path, path: Path) -> None:
    suite = pyperf.BenchmarkSuite.load(str(path))
    with History.open(tmp_path / "h.db") as history:
        result = history.ingest(path)
        assert not result.skipped
        stored = {r.benchmark: r for r in history.results(result.run_id)}
        assert set(stored) == set(suite.get_benchmark_names())
        for bench in suite.get_benchmarks():
            row = stored[bench.get_name()]
            values = bench.get_values()
            assert row.n == len(values)
            assert row.samples == tuple(values)
            assert row.median == pytest.approx(bench.median())
            assert row.mean == pytest.approx(bench.mean())
            assert row.mad == pytest.approx(bench.median_abs_dev())
            if len(values) > 1:
                assert row.stdev == pytest.approx(bench.stdev())
            assert row.p5 == pytest.approx(bench.percentile(5))
            assert row.p95 == pytest.approx(bench.percentile(95))
            assert (row.min, row.max) == (min(values), max(values))
            runs_with_values = [run.values for run in bench.get_runs() if run.values]
            assert row.process_medians == tuple(statistics.median(v) for v in runs_with_values)
            assert row.unit == bench.get_unit()


def test_third_party_defaults(tmp_path: Path) -> None:
    with History.open(tmp_path / "h.db") as history:
        results = [history.ingest(path) for path in THIRD_PARTY]
        telco = history.run(results[3].run_id)
        assert telco.run_key.startswith("sha256:")
        assert telco.started == "2016-10-21T03:14:19.670631+00:00"
        assert telco.finished is not None and telco.finished > telco.started
        assert telco.fingerprint["hostname"] == "selma"
        assert telco.fingerprint["python_version"] == "3.5.1 (64-bit)"
        assert telco.tool_versions == {"pyperf": "0.8.2", "pyperformance": "0.3.3"}
        assert (telco.commit_sha, telco.branch, telco.dirty, telco.mode) == (None,) * 4
        assert telco.status == "ok" and telco.failed == ()
        (row,) = history.results(telco.id)
        assert (row.suite, row.metric, row.target) == ("external", "time", None)

        memory = history.results(results[4].run_id)[0]
        assert (memory.unit, memory.metric) == ("byte", "bytes")
        # Three CPython versions of the same benchmarks make a small history.
        series = history.results_for("[1,2]*1000")
        assert [history.run(r.run_id).fingerprint["python_version"][:3] for r in series] == [
            "3.6",
            "3.7",
            "3.8",
        ]


def test_perfkit_metadata_is_mapped(tmp_path: Path, perfkit_file: Callable[..., Path]) -> None:
    path = perfkit_file(
        run_id="ab" * 16,
        failed=[{"id": "routing.tell.broken", "kind": "time", "error": "boom"}],
        dirty="true",
    )
    with History.open(tmp_path / "h.db") as history:
        result = history.ingest(path)
        assert result.status == "partial"
        run = history.run(result.run_id)
        assert run.run_key == "ab" * 16
        assert run.started == "2026-11-20T10:00:00.000000+00:00"
        assert run.finished == "2026-11-20T10:05:00.000000+00:00"
        assert run.commit_sha == "0123456789abcdef0123456789abcdef01234567"
        assert (run.branch, run.dirty, run.mode, run.status) == ("main", True, "fast", "partial")
        assert run.failed == ({"id": "routing.tell.broken", "kind": "time", "error": "boom"},)
        assert run.fingerprint["cpu_model"] == "Test CPU @ 2.0GHz"
        assert run.fingerprint["cpu_count"] == 2
        assert run.fingerprint["hostname"] == "testhost"
        assert run.tool_versions == {"perfkit": "0.1.0", "libraries": {"pykka": "4.5.0"}}
        rows = {r.benchmark: r for r in history.results(run.id)}
        assert list(rows) == [
            "routing.tell.direct",
            "routing.tell.asyncio_queue",
            "routing.tell.vs_queue",
            "memory.history.per_message",
            "load.tell.p99",
        ]
        direct = rows["routing.tell.direct"]
        assert (direct.metric, direct.unit, direct.target, direct.suite) == (
            "time",
            "second",
            "routing",
            "routing",
        )
        assert direct.process_medians == pytest.approx((1.1e-6, 1.4e-6))
        assert direct.median == pytest.approx(1.25e-6)
        assert rows["routing.tell.asyncio_queue"].target is None
        assert rows["memory.history.per_message"].metric == "bytes"
        assert rows["load.tell.p99"].metric == "p99"
        vs = rows["routing.tell.vs_queue"]
        assert vs.metadata["perfkit_reference"] == "routing.tell.asyncio_queue"
        assert vs.metadata["perfkit_params"] == {"agents": 10}
        # Run-level keys live in runs, not repeated on every result.
        assert "perfkit_run_id" not in vs.metadata and "perfkit_commit" not in vs.metadata


def test_reingest_changes_nothing(
    tmp_path: Path, perfkit_file: Callable[..., Path], state: Callable[[Path], Any]
) -> None:
    path = perfkit_file()
    db = tmp_path / "h.db"
    with History.open(db) as history:
        first = history.ingest(path)
    before = state(db)
    with History.open(db) as history:
        again = history.ingest(path)
        copy = history.ingest(shutil.copy(path, tmp_path / "copy.json"))
    assert again.skipped and copy.skipped
    assert again.run_id == copy.run_id == first.run_id
    assert state(db) == before


def test_gzip_and_plain_copies_are_one_run(tmp_path: Path) -> None:
    source = SHARED / "telco.json"
    gz = tmp_path / "telco.json.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    with History.open(tmp_path / "h.db") as history:
        first = history.ingest(gz)
        second = history.ingest(source)
    assert not first.skipped and second.skipped and first.run_id == second.run_id


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _telco_text() -> str:
    return (SHARED / "telco.json").read_text(encoding="utf-8")


def _with_values(values: str) -> str:
    data = {
        "version": "1.0",
        "metadata": {"name": "x", "unit": "second"},
        "benchmarks": [{"runs": [{"values": ["VALUES"]}]}],
    }
    return json.dumps(data).replace('["VALUES"]', values)


BAD_FILES: list[tuple[str, Callable[[], str | bytes], str]] = [
    ("truncated.json", lambda: _telco_text()[:5000], "truncated JSON"),
    ("garbage.json", lambda: "{'not': json}", "invalid JSON"),
    ("corrupt.json.gz", lambda: b"\x1f\x8b\x08\x00" + b"\x00" * 40, "corrupt or truncated gzip"),
    (
        "truncated.json.gz",
        lambda: gzip.compress(_telco_text().encode())[:2000],
        "corrupt or truncated gzip",
    ),
    ("latin1.json", lambda: b'{"version": "1.0", "x": "\xff"}', "not UTF-8"),
    ("other.json", lambda: json.dumps({"name": "not pyperf"}), "not a pyperf result file"),
    (
        "version.json",
        lambda: json.dumps({"version": "9.9", "benchmarks": [{"runs": [{"values": [1.0]}]}]}),
        "format version '9.9' is not supported",
    ),
    ("empty.json", lambda: json.dumps({"version": "1.0", "benchmarks": []}), "no benchmark"),
    ("nan.json", lambda: _with_values("[NaN, NaN, NaN]"), "NaN"),
    ("inf.json", lambda: _with_values("[1.0, Infinity]"), "Infinity"),
    ("negative.json", lambda: _with_values("[-1.0]"), "number > 0"),
    (
        "date.json",
        lambda: _with_values("[1.0]").replace('"unit"', '"date": "last week", "unit"'),
        "date metadata is not an ISO 8601 timestamp",
    ),
    ("overflow.json", lambda: _with_values("[1.0, 1e999]"), "non-finite"),
    (
        "nameless.json",
        lambda: json.dumps({"version": "1.0", "benchmarks": [{"runs": []}]}),
        "not a valid pyperf result",
    ),
    (
        "novalues.json",
        lambda: json.dumps(
            {
                "version": "1.0",
                "metadata": {"name": "x"},
                "benchmarks": [{"runs": [{"warmups": [[1, 1.0]]}]}],
            }
        ),
        "has no values",
    ),
    (
        "unit.json",
        lambda: _with_values("[1.0]").replace('"second"', '"parsec"'),
        "invalid metadata 'unit'",
    ),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_with_file_and_reason(
    tmp_path: Path, name: str, content: Callable[[], str | bytes], reason: str
) -> None:
    path = _write(tmp_path, name, content())
    with pytest.raises(ResultFileError) as caught:
        read_result_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert "; " in message  # reason; fix
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ResultFileError, match="cannot read the file"):
        read_result_file(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({"perfkit_failed": "not json"}, "perfkit_failed is not valid JSON"),
        ({"perfkit_failed": json.dumps({"id": "x"})}, "perfkit_failed must be a JSON list"),
        ({"perfkit_failed": json.dumps(["x"])}, "list of {id, kind, error} objects"),
        ({"perfkit_libraries": "[1]"}, "perfkit_libraries must be a JSON object"),
        ({"perfkit_started": "yesterday"}, "perfkit_started is not an ISO 8601"),
        ({"perfkit_dirty": "maybe"}, "perfkit_dirty is 'maybe'"),
    ],
)
def test_malformed_perfkit_metadata(
    tmp_path: Path, perfkit_file: Callable[..., Path], extra: dict[str, str], reason: str
) -> None:
    with pytest.raises(ResultFileError, match=reason.replace("{", r"\{").replace("}", r"\}")):
        read_result_file(perfkit_file(extra=extra))


def test_benchmarks_from_two_runs_are_refused(
    tmp_path: Path, perfkit_file: Callable[..., Path]
) -> None:
    one = pyperf.BenchmarkSuite.load(str(perfkit_file(run_id="a" * 32)))
    two = pyperf.BenchmarkSuite.load(str(perfkit_file(run_id="b" * 32)))
    mixed = pyperf.BenchmarkSuite([one.get_benchmarks()[0], two.get_benchmarks()[1]])
    path = tmp_path / "mixed.json"
    mixed.dump(str(path))
    with pytest.raises(ResultFileError, match="mixes benchmarks from different runs"):
        read_result_file(path)


def _message(path: Path) -> str:
    with pytest.raises(ResultFileError) as caught:
        read_result_file(path)
    return str(caught.value)


@pytest.mark.parametrize(("name", "content", "reason"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_get_the_message_pyperf_alone_gives(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    content: Callable[[], str | bytes],
    reason: str,
) -> None:
    """The fast reader (_pyperf_json) changes no refusal: same message as pyperf's loader."""
    path = _write(tmp_path, name, content())
    fast = _message(path)
    monkeypatch.setattr(_ingest, "load_suite", lambda data: None)
    assert _message(path) == fast


@pytest.mark.parametrize(
    "extra",
    [
        {"perfkit_failed": "not json"},
        {"perfkit_libraries": "[1]"},
        {"perfkit_started": "yesterday"},
        {"perfkit_dirty": "maybe"},
    ],
    ids=["failed", "libraries", "started", "dirty"],
)
def test_malformed_perfkit_metadata_gets_the_message_pyperf_alone_gives(
    monkeypatch: pytest.MonkeyPatch, perfkit_file: Callable[..., Path], extra: dict[str, str]
) -> None:
    path = perfkit_file(extra=extra)
    fast = _message(path)
    monkeypatch.setattr(_ingest, "load_suite", lambda data: None)
    assert _message(path) == fast


def test_mixed_runs_get_the_message_pyperf_alone_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, perfkit_file: Callable[..., Path]
) -> None:
    one = pyperf.BenchmarkSuite.load(str(perfkit_file(run_id="a" * 32)))
    two = pyperf.BenchmarkSuite.load(str(perfkit_file(run_id="b" * 32)))
    path = tmp_path / "mixed.json"
    pyperf.BenchmarkSuite([one.get_benchmarks()[0], two.get_benchmarks()[1]]).dump(str(path))
    fast = _message(path)
    monkeypatch.setattr(_ingest, "load_suite", lambda data: None)
    assert _message(path) == fast


def test_the_collector_is_paused_while_a_file_is_read_and_restored_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, perfkit_file: Callable[..., Path]
) -> None:
    seen: list[bool] = []
    load = _ingest._load_suite

    def spy(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return load(*args)

    monkeypatch.setattr(_ingest, "_load_suite", spy)
    path = perfkit_file()
    assert gc.isenabled()
    read_result_file(path)
    assert seen == [False] and gc.isenabled()
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "1.0", "benchmarks": []}', encoding="utf-8")
    with pytest.raises(ResultFileError):
        read_result_file(bad)
    assert gc.isenabled()  # restored after an error too
    gc.disable()
    try:
        read_result_file(path)
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
