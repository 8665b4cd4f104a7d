"""The command line, run as real subprocesses: commands, output, exit codes, error lines."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History
from perfkit_report._cli import main


def test_console_script_and_module_both_run(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "perfkit-report"
    assert script.exists(), "pip install -e 'packages/report[test]' installs the console script"
    for command in ([str(script)], [sys.executable, "-m", "perfkit_report"]):
        done = subprocess.run(
            [*command, "--help"], capture_output=True, text=True, check=False, cwd=tmp_path
        )
        assert done.returncode == 0
        assert done.stdout.startswith("usage: perfkit-report")
        for name in ("ingest", "prune", "baseline", "summary"):
            assert name in done.stdout


def test_usage_errors_exit_2(run_cli: Callable[..., Any]) -> None:
    assert run_cli().returncode == 2
    assert run_cli("baseline").returncode == 2
    unknown = run_cli("frobnicate")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr
    assert run_cli("ingest").returncode == 2  # FILE is required


def test_ingest_then_summary_formats(
    tmp_path: Path, perfkit_file: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    path = perfkit_file("run.json")
    first = run_cli("ingest", path)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"ingested {path}: run 1, 5 benchmarks, status ok\n"
    again = run_cli("ingest", path)
    assert again.stdout == f"already ingested: {path} is run 1; nothing changed\n"
    assert (tmp_path / "history.db").exists()  # the default --db

    text = run_cli("summary")
    assert text.returncode == 0
    assert "routing.tell.direct" in text.stdout and "800k ops/s" in text.stdout
    assert "\x1b" not in text.stdout  # not a terminal: plain text, no colour codes

    markdown = run_cli("summary", "--run", "1", "--format", "md")
    assert markdown.stdout.startswith("### perfkit run 1\n")
    assert "| routing.tell.direct | 1.25 µs | 800k ops/s | second | routing | — |  |" in (
        markdown.stdout
    )

    document = json.loads(run_cli("summary", "--format", "json").stdout)
    assert len(document["rows"]) == 5


def test_summary_with_targets_and_bad_targets(
    tmp_path: Path, perfkit_file: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    run_cli("ingest", perfkit_file())
    good = tmp_path / "targets.toml"
    good.write_text('version = 1\n[[target]]\nid = "routing.tell.direct"\nmax = 1e-6\n')
    done = run_cli("summary", "--targets", good, "--format", "json")
    rows = {row["benchmark"]: row for row in json.loads(done.stdout)["rows"]}
    assert rows["routing.tell.direct"]["status"] == "missed"

    bad = tmp_path / "bad.toml"
    bad.write_text('version = 1\n[[target]]\nid = "routing.tell.direct"\ndirection = "up"\n')
    refused = run_cli("summary", "--targets", bad)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert f"{bad}: [[target]] #1 (id 'routing.tell.direct'): direction = 'up'" in refused.stderr
    assert 'write direction = "lower"' in refused.stderr


def test_run_selection_errors(
    tmp_path: Path, perfkit_file: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    missing = run_cli("summary", "--db", "nope.db")
    assert missing.returncode == 2 and "no history database here" in missing.stderr
    assert not (tmp_path / "nope.db").exists()

    History.open(tmp_path / "empty.db").close()
    empty = run_cli("summary", "--db", "empty.db")
    assert empty.returncode == 2 and "holds no run yet" in empty.stderr

    run_cli("ingest", perfkit_file())
    unknown = run_cli("summary", "--run", "42")
    assert unknown.returncode == 2 and "no run has id 42" in unknown.stderr
    word = run_cli("summary", "--run", "yesterday")
    assert word.returncode == 2 and "pass a run id (a number) or latest" in word.stderr


def test_baseline_set_and_list(
    perfkit_file: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    assert run_cli("baseline", "list").returncode == 2  # no history yet
    run_cli("ingest", perfkit_file(), perfkit_file(started="2026-11-21T00:00:00Z"))
    none = run_cli("baseline", "list")
    assert none.returncode == 0 and none.stdout.startswith("no baselines yet")
    done = run_cli("baseline", "set", "main", "--run", "1", "--note", "release 0.1")
    assert done.returncode == 0 and done.stdout == "baseline main -> run 1 (pinned)\n"
    latest = run_cli("baseline", "set", "nightly")
    assert latest.stdout == "baseline nightly -> run 2 (pinned)\n"
    listing = run_cli("baseline", "list").stdout.splitlines()
    assert len(listing) == 2
    assert listing[0].startswith("main  run 1  started 2026-11-20T10:00:00.000000+00:00")
    assert "commit 0123456789ab" in listing[0] and listing[0].endswith("note release 0.1")
    assert listing[1].startswith("nightly  run 2")
    unknown = run_cli("baseline", "set", "main", "--run", "9")
    assert unknown.returncode == 2 and "no run has id 9" in unknown.stderr


def test_store_failures_exit_1(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    (tmp_path / "notes.db").write_text("not a database\n" * 200)
    corrupt = run_cli("summary", "--db", "notes.db")
    assert corrupt.returncode == 1 and "not a usable SQLite database" in corrupt.stderr

    History.open(tmp_path / "future.db").close()
    conn = sqlite3.connect(tmp_path / "future.db")
    with conn:
        conn.execute("INSERT INTO migrations VALUES ('0042_future', '2030-01-01')")
    conn.close()
    newer = run_cli("summary", "--db", "future.db")
    assert newer.returncode == 1
    assert "0042_future" in newer.stderr and "upgrade perfkit-report" in newer.stderr


def test_keyboard_interrupt_maps_to_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def interrupted(*args: object, **kwargs: object) -> History:
        raise KeyboardInterrupt

    monkeypatch.setattr(History, "open", interrupted)
    (tmp_path / "h.db").touch()
    assert main(["summary", "--db", str(tmp_path / "h.db")]) == 130
    assert capsys.readouterr().err == "perfkit-report: interrupted\n"
