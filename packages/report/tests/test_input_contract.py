"""The input contract, case by case: every malformed result file is one line on stderr, exit 2,
and nothing written (no history created, an existing one byte for byte as it was). The cases a
hostile probe broke (issue 14): numbers out of range, nesting, lone surrogates, booleans as
values, special files given as files. ``test_input_fuzz.py`` generates many more."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, ResultFileError, read_result_file
from perfkit_report._history import read_results


def pyperf_text(
    values: str = "[1.0, 2.0]",
    *,
    name: str = '"a.b"',
    run_metadata: str = "{}",
    suite_metadata: str = "{}",
    bench_metadata: str = "{}",
) -> str:
    """A pyperf 1.0 document with raw JSON text in each slot (so a slot can hold what Python's
    json module would never write: 10**400, 1e999, 50,000 brackets)."""
    more = bench_metadata.strip()[1:-1].strip()
    bench = f'{{"name": {name}{", " + more if more else ""}}}'
    return (
        f'{{"version": "1.0", "metadata": {suite_metadata}, "benchmarks": [{{"metadata": {bench}, '
        f'"runs": [{{"metadata": {run_metadata}, "values": {values}}}]}}]}}'
    )


DEEP = "[" * 50_000 + "1" + "]" * 50_000

MALFORMED = {
    "an integer of 400 digits": (pyperf_text("[1" + "0" * 400 + "]"), "too large for a float"),
    "an integer of 5000 digits": (pyperf_text("[1" + "0" * 5000 + "]"), "number too long"),
    "three values of 1.7e308": (
        pyperf_text("[1.7e308, 1.7e308, 1.7e308]"),
        "too large to summarise",
    ),
    "squares that overflow": (pyperf_text("[1.0, 1e200]"), "too large to summarise"),
    "1e999 as a value": (pyperf_text("[1e999]"), "non-finite values"),
    "a date in year 9999 and a duration": (
        pyperf_text(run_metadata='{"date": "9999-12-31T23:59:59", "duration": 10}'),
        "date",
    ),
    "a duration of 1e300": (
        pyperf_text(run_metadata='{"date": "2026-01-01T00:00:00", "duration": 1e300}'),
        "date",
    ),
    "perfkit_started past the last UTC moment": (
        pyperf_text(suite_metadata='{"perfkit_started": "9999-12-31T23:59:59-05:00"}'),
        "out of range",
    ),
    "values nested 50,000 deep": (pyperf_text(f"[{DEEP}]"), "nested too deeply"),
    "metadata nested 50,000 deep": (
        pyperf_text(suite_metadata=f'{{"x": {DEEP}}}'),
        "nested too deeply",
    ),
    "perfkit_params nested 50,000 deep": (
        pyperf_text(bench_metadata=json.dumps({"perfkit_params": DEEP})),
        "perfkit_params: JSON nested too deeply",
    ),
    "perfkit_params nested 100 deep": (
        pyperf_text(
            bench_metadata=json.dumps({"perfkit_params": '{"a": ' + "[" * 100 + "]" * 100 + "}"})
        ),
        "deeper than 32 levels",
    ),
    "a lone surrogate in a benchmark name": (pyperf_text(name='"\\udc80x"'), "lone surrogate"),
    "a lone surrogate in the branch": (
        pyperf_text(suite_metadata='{"perfkit_branch": "main\\ud800"}'),
        "lone surrogate",
    ),
    "true as values": (pyperf_text("[true, true]"), "true/false among its values"),
    "1e999 in the environment metadata": (
        pyperf_text(suite_metadata='{"perfkit_load_avg": 1e999}'),
        "JSON cannot store",
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(code: int, stdout: str, stderr: str, reason: str) -> None:
    assert code == 2, stderr
    assert stdout == ""
    (line,) = stderr.splitlines()
    assert line.startswith("perfkit-report: error: ")
    assert reason in line


@pytest.fixture
def history(tmp_path: Path, perfkit_file: Callable[..., Path]) -> Path:
    """A history holding one run, as one file (no WAL beside it)."""
    path = tmp_path / "history.db"
    with History.open(path) as opened:
        opened.ingest(perfkit_file())
        opened.to_single_file()
    return path


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_file_is_one_line_exit_2_and_no_history_created(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, case: str
) -> None:
    text, reason = MALFORMED[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    assert_refused(*run_main("ingest", "--db", tmp_path / "new.db", bad), reason)
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_compare_refuses_it_the_same_way(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, case: str
) -> None:
    text, reason = MALFORMED[case]
    bad = tmp_path / "bad.json"
    bad.write_text(text, encoding="utf-8")
    assert_refused(*run_main("compare", bad, bad), reason)


def test_a_bad_second_file_leaves_the_history_byte_for_byte(
    run_main: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    history: Path,
    perfkit_file: Callable[..., Path],
) -> None:
    # Before: file A was committed and an empty history created before B failed at the store.
    before = sha256(history)
    bad = tmp_path / "b.json"
    bad.write_text(MALFORMED["a lone surrogate in a benchmark name"][0], encoding="utf-8")
    assert_refused(*run_main("ingest", "--db", history, perfkit_file(), bad), "lone surrogate")
    assert sha256(history) == before
    assert not Path(f"{history}-wal").exists()


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_special_files_are_refused_without_blocking(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, kind: str
) -> None:
    if kind == "fifo":
        target = tmp_path / "pipe.json"
        os.mkfifo(target)
    elif kind == "directory":
        target = tmp_path / "folder.json"
        target.mkdir()
    else:
        target = Path("/dev/zero")
    # A directory is read as asv results (formats.md), so a folder that is not one says so.
    reason = "not an asv results directory" if kind == "directory" else "not a file"
    for command in (["ingest", "--db", tmp_path / "h.db", target], ["compare", target, target]):
        assert_refused(*run_main(*command), reason)
    code, _, stderr = run_main("render", "--db", tmp_path / "h.db", "--targets", target)
    assert code == 2 and "not a file" in stderr
    assert not (tmp_path / "h.db").exists()


def test_a_fifo_as_the_file_does_not_block_the_command(
    tmp_path: Path, run_cli: Callable[..., Any]
) -> None:
    """In a subprocess with a timeout: before, reading a FIFO blocked forever (no writer)."""
    os.mkfifo(tmp_path / "pipe.json")
    result = run_cli("ingest", "--db", "h.db", "pipe.json", timeout=60)
    assert_refused(result.returncode, result.stdout, result.stderr, "is a FIFO")


def test_a_file_name_that_is_not_utf8_is_stored_with_escapes(tmp_path: Path) -> None:
    good = Path(os.fsdecode(bytes(tmp_path / "r") + b"\xff.json"))
    good.write_text(pyperf_text(), encoding="utf-8")
    run = read_result_file(good)
    assert run.source.endswith("r\\xff.json")
    with History.open(tmp_path / "h.db") as opened:
        assert not opened.store(run).skipped


def test_pytest_benchmark_and_asv_files_with_names_that_are_not_utf8_are_stored_too(
    tmp_path: Path,
) -> None:
    """As pyperf files are (above): the source is stored with escapes, and a refusal names the
    file with them."""
    bench = {"fullname": "tests/t.py::t", "stats": {"data": [1e-6, 2e-6]}}
    pytest_benchmark = Path(os.fsdecode(bytes(tmp_path / "p") + b"\xff.json"))
    pytest_benchmark.write_text(
        json.dumps({"machine_info": {}, "benchmarks": [bench]}), encoding="utf-8"
    )
    machine = tmp_path / "results" / "box"
    machine.mkdir(parents=True)
    (machine.parent / "benchmarks.json").write_text('{"b.time_x": {"unit": "seconds"}}')
    (machine / "machine.json").write_text('{"machine": "box"}', encoding="utf-8")
    asv = Path(os.fsdecode(bytes(machine / "a") + b"\xff.json"))
    run = {"version": 2, "commit_hash": "ab", "result_columns": ["result"]}
    asv.write_text(json.dumps({**run, "results": {"b.time_x": [[1e-6]]}}), encoding="utf-8")
    with History.open(tmp_path / "h.db") as opened:
        for path, escaped in ((pytest_benchmark, "p\\xff.json"), (asv, "a\\xff.json")):
            (parsed,) = read_results(path)
            assert parsed.source.endswith(escaped)
            assert not opened.store(parsed).skipped
    asv.write_text(json.dumps({**run, "results": {}}), encoding="utf-8")
    pytest_benchmark.write_text(json.dumps({"machine_info": {}, "benchmarks": []}))
    for path, escaped in ((pytest_benchmark, "p\\xff.json"), (asv, "a\\xff.json")):
        with pytest.raises(ResultFileError) as refused:
            read_results(path)
        assert f"{escaped}: holds no benchmark" in str(refused.value)


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[Callable[[], None]]:
    """A preexec_fn that caps the size of any file the child writes (RLIMIT_FSIZE); Python
    ignores SIGXFSZ, so a write past the cap fails with EFBIG and SQLite reports a full disk."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    yield cap


def write_large(path: Path, benchmarks: int) -> Path:
    document = {
        "version": "1.0",
        "metadata": {"perfkit_run_id": path.stem},
        "benchmarks": [
            {"metadata": {"name": f"big.case{i}"}, "runs": [{"values": [1e-6 * (1 + i)] * 20}]}
            for i in range(benchmarks)
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_multi_file_rule_a_store_failure_says_which_files_landed(tmp_path: Path) -> None:
    """ingest A B C: every file validated first; then one transaction per file, in order. When
    the history fails while storing B (here: the disk fills up), A stays stored and printed, and
    the one error line names B and C as not stored."""
    small, large, last = (
        write_large(tmp_path / "a.json", 3),
        write_large(tmp_path / "b.json", 4000),
        write_large(tmp_path / "c.json", 3),
    )
    db = tmp_path / "h.db"
    with file_size_limit(1_000_000) as cap:
        done = subprocess.run(
            [sys.executable, "-m", "perfkit_report", "ingest", "--db", str(db), small, large, last],
            capture_output=True,
            text=True,
            preexec_fn=cap,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [f"ingested {small}: run 1, 3 benchmarks, status ok"]
    (line,) = done.stderr.splitlines()
    assert "disk" in line  # SQLite: "disk I/O error" (EFBIG) or "database or disk is full"
    assert line.endswith(f"[not stored: {large}, {last}; the files listed above are stored]")
    with History.open(db) as opened:
        assert [run.source for run in opened.runs()] == [str(small)]
        assert len(opened.results(1)) == 3


def test_valid_extremes_are_stored(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path
) -> None:
    """The contract refuses what cannot be stored or summarised, not what is merely odd: tiny,
    huge and integer values, a date in year 9999 without a duration."""
    good = tmp_path / "ok.json"
    good.write_text(
        pyperf_text(
            "[5e-324, 1e150, 3, 1" + "0" * 100 + "]",
            run_metadata='{"date": "9999-12-31T23:59:58", "duration": 1}',
        ),
        encoding="utf-8",
    )
    code, stdout, stderr = run_main("ingest", "--db", tmp_path / "h.db", good)
    assert code == 0, stderr
    assert "1 benchmarks" in stdout


def test_reading_a_fifo_never_blocks_even_when_swapped_in(tmp_path: Path) -> None:
    """The reader opens with O_NONBLOCK and checks the open descriptor: no writer needed."""
    pipe = tmp_path / "p.json"
    os.mkfifo(pipe)
    started = time.monotonic()
    with pytest.raises(ResultFileError, match="FIFO"):
        read_result_file(pipe)
    assert time.monotonic() - started < 5
