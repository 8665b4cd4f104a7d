"""A corrupt or foreign history file is never written to and never a traceback: every command on
every variant, each made for real (a file cut short, a page overwritten, the header zeroed,
someone else's database, a newer history, a WAL left behind, a directory, an empty file...).
Each gives one line naming the fix, the exit code docs/report.md documents, and the file's bytes
(and its WAL's) as they were."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, StoreCorrupt

PAGE = 4096


def result_file(path: Path, run_id: str, benchmarks: int = 3) -> Path:
    document = {
        "version": "1.0",
        "metadata": {"perfkit_run_id": run_id, "perfkit_started": "2026-11-20T10:00:00+00:00"},
        "benchmarks": [
            {
                "metadata": {"name": f"suite.case{i}"},
                "runs": [{"values": [1e-6 * (1 + i + j / 10)] * 3} for j in range(4)],
            }
            for i in range(benchmarks)
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def history(path: Path, files: list[Path], *, single_file: bool) -> Path:
    """A real history of ``files``; ``single_file`` leaves WAL mode (as `to_single_file`)."""
    with History.open(path) as opened:
        for source in files:
            opened.ingest(source)
        if single_file:
            opened.to_single_file()
    return path


def root_page(path: Path, table: str) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(
            conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
        )
    finally:
        conn.close()


def overwrite_page(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    data[(page - 1) * PAGE : page * PAGE] = bytes((index * 37 + 11) % 256 for index in range(PAGE))
    path.write_bytes(bytes(data))


def truncated(db: Path, sources: list[Path]) -> None:
    history(db, sources, single_file=True)
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def damaged_page(db: Path, sources: list[Path]) -> None:
    history(db, sources, single_file=True)
    overwrite_page(db, root_page(db, "results"))


def damaged_page_in_wal_mode(db: Path, sources: list[Path]) -> None:
    """Damage in a history left in WAL mode: opening it writes nothing, so only the commands
    that write run quick_check; readers meet the damage only if they read that page."""
    history(db, sources, single_file=False)
    overwrite_page(db, root_page(db, "results"))


def zeroed_header(db: Path, sources: list[Path]) -> None:
    history(db, sources, single_file=True)
    data = bytearray(db.read_bytes())
    data[:100] = bytes(100)
    db.write_bytes(bytes(data))


def not_sqlite(db: Path, sources: list[Path]) -> None:
    db.write_text("these are my notes, not a database\n" * 300, encoding="utf-8")


def foreign_schema(db: Path, sources: list[Path]) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('Ada')")
    conn.close()


def newer_schema(db: Path, sources: list[Path]) -> None:
    history(db, sources, single_file=True)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO migrations VALUES ('0099_from_the_future', '2030-01-01')")
    conn.close()


def foreign_wal(db: Path, sources: list[Path]) -> None:
    """A history with another database's WAL beside it (a file restored over, its WAL kept)."""
    history(db, sources, single_file=False)
    other = db.with_name("other.db")
    conn = sqlite3.connect(other)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    shutil.copyfile(f"{other}-wal", f"{db}-wal")
    conn.close()


def directory(db: Path, sources: list[Path]) -> None:
    db.mkdir()


def empty(db: Path, sources: list[Path]) -> None:
    db.write_bytes(b"")


REFUSED = {
    "truncated": truncated,
    "damaged page": damaged_page,
    "zeroed header": zeroed_header,
    "not SQLite": not_sqlite,
    "foreign schema": foreign_schema,
    "newer schema": newer_schema,
    "foreign WAL": foreign_wal,
}
WRITERS = ("ingest", "baseline set", "prune", "ingest-profile", "check")
READERS = ("summary", "render", "baseline list", "doctor")
FIXES = (
    "restore it from a backup",
    "perfkit-report doctor",
    "move it away",
    "pass --db",
    "upgrade",
)


def arguments(command: str, db: Path, folder: Path) -> list[str | Path]:
    base, head, new = folder / "base.json", folder / "head.json", folder / "new.json"
    return {
        "ingest": ["ingest", "--db", db, new],
        "summary": ["summary", "--db", db],
        "render": ["render", "--db", db, "--out", folder / "out"],
        "baseline list": ["baseline", "list", "--db", db],
        "baseline set": ["baseline", "set", "main", "--db", db],
        "prune": ["prune", "--db", db],
        "ingest-profile": ["ingest-profile", "--db", db, folder / "capture"],
        "check": ["check", "--base", base, "--head", head, "--out-dir", folder / "chk", "--db", db],
        "doctor": ["doctor", "--db", db],
    }[command]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, profile_folder: Callable[..., Path]) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for name in ("one", "two", "base", "head", "new"):
        result_file(folder / f"{name}.json", name)
    profile_folder(folder / "capture")
    return folder


def fingerprint(db: Path) -> dict[str, str]:
    """sha256 of the file and of each SQLite side file that holds anything (an empty WAL is
    what any connection to a WAL-mode file leaves or removes: it holds no page)."""
    found = {}
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-journal")):
        if path == db or (path.is_file() and path.stat().st_size):
            found[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def prepared(tmp_path: Path, inputs: Path, build: Callable[[Path, list[Path]], None]) -> Path:
    db = tmp_path / "history.db"
    build(db, [inputs / "one.json", inputs / "two.json"])
    return db


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("perfkit-report: error: ")
    return lines[0]


@pytest.mark.parametrize("command", WRITERS + READERS)
@pytest.mark.parametrize("variant", sorted(REFUSED))
def test_refused_with_one_line_naming_the_fix_and_the_file_unchanged(
    run_main: Callable[..., tuple[int, str, str]],
    tmp_path: Path,
    inputs: Path,
    variant: str,
    command: str,
) -> None:
    db = prepared(tmp_path, inputs, REFUSED[variant])
    before = fingerprint(db)
    code, _, stderr = run_main(*arguments(command, db, inputs))
    assert code == 1, stderr
    line = one_line(stderr)
    assert any(fix in line for fix in FIXES), line
    assert fingerprint(db) == before


@pytest.mark.parametrize("command", WRITERS + READERS)
def test_damage_in_wal_mode_stops_every_writer_and_any_reader_that_meets_it(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, inputs: Path, command: str
) -> None:
    db = prepared(tmp_path, inputs, damaged_page_in_wal_mode)
    before = fingerprint(db)
    code, _, stderr = run_main(*arguments(command, db, inputs))
    if command in WRITERS or command in ("summary", "render", "doctor"):  # these read results
        assert code == 1, stderr
        assert "restore it from a backup" in one_line(stderr)
    else:
        assert code == 0, stderr  # `baseline list` never reads the damaged page
    assert fingerprint(db) == before


@pytest.mark.parametrize("command", WRITERS + READERS)
def test_a_directory_as_the_history_is_exit_2(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, inputs: Path, command: str
) -> None:
    db = prepared(tmp_path, inputs, directory)
    code, _, stderr = run_main(*arguments(command, db, inputs))
    assert code == 2
    assert "is not a file" in one_line(stderr) and "pass --db" in stderr
    assert db.is_dir() and not any(db.iterdir())


@pytest.mark.parametrize("command", WRITERS + READERS)
def test_an_empty_file_is_no_history_to_readers_and_a_new_one_to_writers(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, inputs: Path, command: str
) -> None:
    db = prepared(tmp_path, inputs, empty)
    code, _, stderr = run_main(*arguments(command, db, inputs))
    if command in ("ingest", "ingest-profile", "check"):
        assert code == 0, stderr
        with History.open(db) as opened:
            assert opened.migrations()
    else:
        assert code == 2
        assert "an empty file, no history yet" in one_line(stderr)
        assert db.read_bytes() == b""


def test_a_wal_left_by_a_killed_writer_is_recovered_by_every_command(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, inputs: Path
) -> None:
    """Not damage: a writer killed after its commit leaves the run in the WAL (no checkpoint);
    SQLite replays it, and the run is there for every command."""
    db = history(tmp_path / "history.db", [inputs / "one.json"], single_file=False)
    killed = (
        "import os, sys\n"
        "from perfkit_report import History\n"
        "history = History.open(sys.argv[1])\n"
        "history.ingest(sys.argv[2])\n"
        "os._exit(0)  # no close, no checkpoint\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run(
        [sys.executable, "-c", killed, db, inputs / "two.json"], check=True, env=env, timeout=120
    )
    assert Path(f"{db}-wal").stat().st_size > 0
    saved = tmp_path / "saved"
    saved.mkdir()
    for path in tmp_path.glob("history.db*"):
        shutil.copy(path, saved / path.name)
    for command in WRITERS + READERS:
        for path in saved.iterdir():
            shutil.copy(path, tmp_path / path.name)
        code, _, stderr = run_main(*arguments(command, db, inputs))
        assert code == 0, (command, stderr)
        with History.open(db) as opened:
            assert len(opened.runs()) >= 2, command


def test_doctor_reports_a_healthy_history(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, inputs: Path
) -> None:
    db = history(tmp_path / "history.db", [inputs / "one.json"], single_file=True)
    before = fingerprint(db)
    code, stdout, stderr = run_main("doctor", "--db", db)
    assert code == 0, stderr
    assert "integrity_check: ok" in stdout and "1 runs, 3 results, 0 baselines" in stdout
    assert stdout.rstrip().endswith("healthy: the history can be read and written")
    assert fingerprint(db) == before


def test_the_gate_s_evaluation_store_checks_before_writing(tmp_path: Path, inputs: Path) -> None:
    db = prepared(tmp_path, inputs, damaged_page_in_wal_mode)
    before = fingerprint(db)
    with History.open(db) as opened, pytest.raises(StoreCorrupt, match="quick_check"):
        opened.store_evaluation("label", [])
    assert fingerprint(db) == before


def test_a_foreign_file_keeps_its_journal_mode(
    run_main: Callable[..., tuple[int, str, str]], tmp_path: Path, inputs: Path
) -> None:
    """Before: the switch to WAL happened before the refusal."""
    db = prepared(tmp_path, inputs, foreign_schema)
    assert run_main("ingest", "--db", db, inputs / "new.json")[0] == 1
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT name FROM customers").fetchall() == [("Ada",)]
    finally:
        conn.close()


def test_quick_check_runs_once_per_writing_history(
    tmp_path: Path, inputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = history(tmp_path / "history.db", [inputs / "one.json"], single_file=False)
    with History.open(db) as opened:
        calls: list[Any] = []
        conn = opened._db.conn
        original = conn.execute  # white-box: count the pragma on the store's own connection

        class Counting:
            def __getattr__(self, name: str) -> Any:
                return getattr(conn, name)

            def execute(self, sql: str, *args: Any) -> Any:
                calls.append(sql)
                return original(sql, *args)

        monkeypatch.setattr(opened._db, "conn", Counting())
        opened.ingest(inputs / "two.json")
        opened.ingest(inputs / "new.json")
    assert sum("quick_check" in sql for sql in calls) == 1
