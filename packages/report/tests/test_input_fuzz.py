"""The input contract under generated hostile input (hypothesis): for any pyperf-like document,
``perfkit-report ingest`` exits 0 with the run stored, or exits 2 with one line on stderr and the
history byte for byte as it was; ``compare`` exits 0, 1 or 2, and 2 with one line. Never a
traceback, never another exit code, never a half-written history.

The documents start from pyperf's format and mutate every part a writer controls: values (huge,
tiny, negative, integers of hundreds of digits, ``1e999``, booleans, strings, nesting), names
(lone surrogates, control characters, markup), metadata (pyperf's typed keys, dates from year 1 to
9999 in any zone, durations up to 1e300, perfkit's JSON-in-a-string keys, nested deeply). Raw
JSON text goes where Python's json module would never write it.

Examples per test: ``PERFKIT_FUZZ_EXAMPLES`` (default 200 in the test suite, derandomised so CI
sees the same cases every run; ``nox -s fuzz`` runs thousands with a fresh seed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from perfkit_report import History

EXAMPLES = int(os.environ.get("PERFKIT_FUZZ_EXAMPLES", "200"))
FUZZ = "PERFKIT_FUZZ_EXAMPLES" in os.environ
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not FUZZ,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Raw:
    """JSON text written as is."""

    text: str


def to_json(value: Any) -> str:
    """JSON text of ``value``, with Raw parts verbatim (and strings escaped as json does,
    lone surrogates included: ``"\\udc80"`` is valid JSON)."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(to_json, value)) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "1e999" if value > 0 else "-1e999"
    return json.dumps(value)


def nested(depth: int, inner: str = "1") -> Raw:
    return Raw("[" * depth + inner + "]" * depth)


# -- strategies ------------------------------------------------------------------------------------

GOOD_VALUE = st.floats(min_value=1e-9, max_value=10.0)
HOSTILE_NUMBER = st.one_of(
    st.floats(allow_nan=False),  # includes inf (written 1e999), 0, negatives, subnormals
    st.sampled_from([1.7e308, 1e300, 1e200, 5e-324, 1e-300, -0.0]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=1, max_value=700).map(lambda digits: Raw("1" + "0" * digits)),
)
HOSTILE_VALUE = st.one_of(
    HOSTILE_NUMBER,
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.integers(min_value=2, max_value=3000).map(nested),
)
GOOD_VALUES = st.lists(GOOD_VALUE, min_size=1, max_size=5)
HOSTILE_VALUES = st.one_of(
    st.lists(st.one_of(GOOD_VALUE, HOSTILE_VALUE), min_size=0, max_size=5),
    st.lists(st.sampled_from([1.7e308, 1e300, 1e154, 1.0, 5e-324]), min_size=1, max_size=4),
)
HOSTILE_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["Cs", "Cc", "Zl", "Zp"]), max_size=4),
    st.sampled_from(
        ["a.b", "\udc80x", "x\ud800", "<img src=x>", "https://e.com", "", " padded ", "a\nb"]
    ),
)
# Names as a hostile writer would choose them that are still valid text: markup, mentions...
GOOD_NAME = st.text(alphabet="abcxyz._-<>|@#~*`[]():/ ", min_size=1, max_size=12).map(
    lambda name: name.strip() or "x"
)
GOOD_DATE = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)).map(
    lambda moment: moment.isoformat()
)
DATE = st.one_of(
    st.datetimes().map(lambda moment: moment.isoformat()),
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59", "0001-01-01T00:00:00+05:00", "not a date", ""]),
)
DURATION = st.one_of(
    st.floats(min_value=0.0, max_value=1e300), st.sampled_from([1e300, 0, -1, 10**30])
)
PERFKIT_JSON_KEYS = ("perfkit_params", "perfkit_libraries", "perfkit_failed")
JSON_IN_A_STRING = st.one_of(
    st.sampled_from(["{}", "[]", '{"a": 1}', "null", "NaN", "[{}]", '[{"id": "x"}]']),
    st.integers(min_value=1, max_value=60_000).map(lambda depth: nested(depth, "").text),
    st.text(max_size=8),
)
METADATA_KEYS = (
    "date",
    "duration",
    "loops",
    "inner_loops",
    "unit",
    "perfkit_started",
    "perfkit_branch",
    "perfkit_commit",
    "perfkit_dirty",
    "perfkit_kind",
    "perfkit_load_avg",
    "perfkit_run_id",
    "anything",
    *PERFKIT_JSON_KEYS,
)
# What a good writer puts under each key (pyperf's and perfkit's types).
GOOD_METADATA = {
    "date": GOOD_DATE,
    "duration": st.floats(min_value=0.0, max_value=1e4),
    "loops": st.integers(min_value=1, max_value=1000),
    "inner_loops": st.integers(min_value=1, max_value=10),
    "unit": st.sampled_from(["second", "byte", "integer"]),
    "perfkit_started": GOOD_DATE,
    "perfkit_dirty": st.sampled_from(["true", "false"]),
    "perfkit_kind": st.sampled_from(["time", "bytes", "latency"]),
    "perfkit_load_avg": st.floats(min_value=0, max_value=100),
    "perfkit_run_id": st.just("one-run"),  # one run: the same id on every benchmark
    "perfkit_params": st.sampled_from(["{}", '{"agents": 10}']),
    "perfkit_libraries": st.sampled_from(["{}", '{"pykka": "4.5.0"}']),
    "perfkit_failed": st.sampled_from(["[]", '[{"id": "x", "kind": "error", "error": "boom"}]']),
}


def _hostile_value(key: str) -> st.SearchStrategy[Any]:
    if key in ("date", "perfkit_started"):
        return DATE
    if key == "duration":
        return DURATION
    if key in PERFKIT_JSON_KEYS:
        return JSON_IN_A_STRING
    if key == "unit":
        return st.sampled_from(["second", "furlong", ""])
    return st.one_of(HOSTILE_TEXT, HOSTILE_VALUE)


# pyperf requires these to be equal in every run of a benchmark: good runs leave them out.
CHECKED = {"unit", "inner_loops"}


@st.composite
def metadata(draw: st.DrawFn, *, hostile: bool, run: bool = False) -> dict[str, Any]:
    choices = [key for key in METADATA_KEYS if hostile or not run or key not in CHECKED]
    keys = draw(st.lists(st.sampled_from(choices), max_size=3, unique=True))
    return {
        key: draw(_hostile_value(key) if hostile else GOOD_METADATA.get(key, GOOD_NAME))
        for key in keys
    }


# The part of a document made hostile: None (a valid document), one part, or all of them.
PARTS = (None, None, None, "values", "name", "metadata", "version", "runs", "everything")


@st.composite
def documents(draw: st.DrawFn) -> str:
    """pyperf-like JSON text: a valid skeleton, hostile in one part (or all, or none)."""
    hostile = draw(st.sampled_from(PARTS))

    def part(name: str) -> bool:
        return hostile in (name, "everything")

    benchmarks = []
    names = st.one_of(GOOD_NAME, HOSTILE_TEXT) if part("name") else GOOD_NAME
    for index in range(draw(st.integers(min_value=1, max_value=3))):
        runs = [
            {
                "metadata": draw(metadata(hostile=part("metadata"), run=True)),
                "values": draw(HOSTILE_VALUES if part("values") else GOOD_VALUES),
            }
            for _ in range(draw(st.integers(min_value=1, max_value=3)))
        ]
        # pyperf requires unique names, and the same checked metadata (unit...) in every run.
        name = draw(names) + ("" if part("name") else f".{index}")
        bench_md = {"name": name, **draw(metadata(hostile=part("metadata")))}
        benchmarks.append({"metadata": bench_md, "runs": runs})
    document: dict[str, Any] = {
        "version": draw(st.sampled_from(["1.0", "0.9", 6, None])) if part("version") else "1.0",
        "metadata": draw(metadata(hostile=part("metadata"))),
        "benchmarks": benchmarks,
    }
    if part("runs"):
        document["benchmarks"][0]["runs"] = draw(
            st.one_of(st.integers(2, 3000).map(nested), st.just([]), st.just({}))
        )
    return to_json(document)


# -- the contract ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history holding one run, as one file (no WAL beside it)."""
    folder = tmp_path_factory.mktemp("template")
    source = folder / "seed.json"
    source.write_text(
        to_json(
            {
                "version": "1.0",
                "metadata": {"perfkit_run_id": "seed"},
                "benchmarks": [{"metadata": {"name": "seed.b"}, "runs": [{"values": [1.0]}]}],
            }
        ),
        encoding="utf-8",
    )
    path = folder / "history.db"
    with History.open(path) as history:
        history.ingest(source)
        history.to_single_file()
    return path


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="perfkit-fuzz-") as folder:
        yield Path(folder)


def runs_and_results(db: Path) -> tuple[int, int]:
    conn = sqlite3.connect(db)
    try:
        return (
            conn.execute("SELECT count(*) FROM runs").fetchone()[0],
            conn.execute("SELECT count(*) FROM results").fetchone()[0],
        )
    finally:
        conn.close()


def assert_one_line(stderr: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("perfkit-report: error: ")


@SETTINGS
@given(text=documents())
def test_ingest_stores_the_run_or_refuses_it_leaving_the_history_as_it_was(
    run_main: Callable[..., tuple[int, str, str]], template: Path, text: str
) -> None:
    with workspace() as folder:
        db = folder / "history.db"
        shutil.copyfile(template, db)
        before = hashlib.sha256(db.read_bytes()).hexdigest()
        source = folder / "result.json"
        source.write_text(text, encoding="utf-8", errors="surrogatepass")
        code, stdout, stderr = run_main("ingest", "--db", db, source)
        if code == 0:
            event("stored")
            assert stderr == ""
            assert stdout.startswith(f"ingested {source}: run 2, ")
            runs, results = runs_and_results(db)
            assert runs == 2 and results > 1
        else:
            event("refused")
            assert code == 2, stderr
            assert stdout == ""
            assert_one_line(stderr)
            assert hashlib.sha256(db.read_bytes()).hexdigest() == before
            assert not Path(f"{db}-wal").exists()


@SETTINGS
@given(text=documents())
def test_compare_gives_a_verdict_or_one_line(
    run_main: Callable[..., tuple[int, str, str]], text: str
) -> None:
    with workspace() as folder:
        source = folder / "result.json"
        source.write_text(text, encoding="utf-8", errors="surrogatepass")
        code, stdout, stderr = run_main("compare", source, source, "--format", "json")
        if code == 2:
            event("refused")
            assert stdout == ""
            assert_one_line(stderr)
        else:
            event("compared")
            assert code in (0, 1), stderr
            assert json.loads(stdout)["verdicts"]
