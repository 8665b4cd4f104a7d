"""Baselines: set (per branch, pinned or not), list, delete, pin, unpin; pruning keeps only the
pinned ones' raw samples; unknown names are one-line errors naming ``baseline list``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from perfkit_report import History, UnknownBaseline
from perfkit_report._cli import main


def cli(capsys: pytest.CaptureFixture[str], db: Path, *args: str) -> tuple[int, str, str]:
    code = main(["baseline", *args, "--db", str(db)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path, perfkit_file: Callable[..., Path]) -> Path:
    """Four runs: main (day 1), feature (day 2), main (day 3), feature (day 4)."""
    path = tmp_path / "history.db"
    files = [
        perfkit_file(branch=branch, started=f"2026-11-0{day}T10:00:00+00:00")
        for day, branch in ((1, "main"), (2, "feature"), (3, "main"), (4, "feature"))
    ]
    with History.open(path) as history:
        for file in files:
            history.ingest(file)
    return path


def test_set_with_a_branch_takes_that_branchs_latest_run_and_records_it(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    assert cli(capsys, db, "set", "main", "--branch", "main") == (
        0,
        "baseline main -> run 3 (pinned, branch main)\n",
        "",
    )
    assert cli(capsys, db, "set", "latest")[1] == "baseline latest -> run 4 (pinned)\n"
    assert cli(capsys, db, "set", "old", "--run", "1", "--branch", "main", "--no-pin")[1] == (
        "baseline old -> run 1 (not pinned, branch main)\n"
    )
    with History.open(db) as history:
        main_ = history.baseline("main")
        assert (main_.run_id, main_.branch, main_.pinned) == (3, "main", True)
        assert history.baseline("latest").branch is None
        assert [b.name for b in history.baselines(branch="main")] == ["main", "old"]
        assert history.latest_run(branch="feature") == history.run(4)
        assert history.latest_run(branch="nope") is None

    code, out, _ = cli(capsys, db, "list")
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines] == ["latest", "main", "old"]
    assert "branch main  pinned" in lines[1] and "branch" not in lines[0]
    assert "not pinned" in lines[2]
    code, out, _ = cli(capsys, db, "list", "--branch", "main")
    assert [line.split()[0] for line in out.splitlines()] == ["main", "old"]
    code, out, _ = cli(capsys, db, "list", "--branch", "release")
    assert code == 0 and out.startswith("no baseline tracks branch release")


def test_a_branch_without_runs_or_a_run_of_another_branch_is_refused(
    capsys: pytest.CaptureFixture[str], db: Path
) -> None:
    code, out, err = cli(capsys, db, "set", "rel", "--branch", "release")
    assert (code, out) == (2, "") and "no run was measured on branch 'release'" in err
    code, _, err = cli(capsys, db, "set", "rel", "--run", "2", "--branch", "main")
    assert code == 2 and "run 2 was measured on branch 'feature', not 'main'" in err
    assert err.count("\n") == 1


def test_pin_unpin_and_delete(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    cli(capsys, db, "set", "main", "--run", "1")
    assert cli(capsys, db, "unpin", "main")[1] == "baseline main -> run 1 (not pinned)\n"
    assert cli(capsys, db, "pin", "main")[1] == "baseline main -> run 1 (pinned)\n"
    assert cli(capsys, db, "delete", "main")[1] == (
        "deleted baseline main (was run 1); the run stays in the history\n"
    )
    with History.open(db) as history:
        assert history.baselines() == [] and history.run(1).id == 1


@pytest.mark.parametrize("command", ["delete", "pin", "unpin"])
def test_an_unknown_name_is_one_line_naming_baseline_list(
    capsys: pytest.CaptureFixture[str], db: Path, command: str
) -> None:
    cli(capsys, db, "set", "main")
    code, out, err = cli(capsys, db, command, "nightly")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "no baseline is called 'nightly' (known: main)" in err
    assert "`perfkit-report baseline list`" in err


def test_a_missing_history_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = cli(capsys, tmp_path / "none.db", "delete", "main")
    assert code == 2 and "no history database here" in err
    assert not (tmp_path / "none.db").exists()


def test_prune_keeps_pinned_baselines_and_drops_unpinned_ones(db: Path) -> None:
    with History.open(db) as history:
        history.set_baseline("kept", 1)
        history.set_baseline("loose", 2, pinned=False)
        result = history.prune(0)
        assert result.runs_pinned == 1 and result.runs_pruned == 3
        assert all(r.process_medians is not None for r in history.results(1))
        assert all(r.process_medians is None for r in history.results(2))
        # Unpinning a baseline lets the next prune take its samples too.
        history.set_baseline_pinned("kept", False)
        assert history.prune(0).runs_pruned == 1
        assert all(r.process_medians is None for r in history.results(1))


def test_history_api_errors(db: Path) -> None:
    with History.open(db) as history:
        for call in (
            lambda: history.delete_baseline("x"),
            lambda: history.set_baseline_pinned("x", True),
        ):
            with pytest.raises(UnknownBaseline, match="baseline list"):
                call()


def test_the_baseline_commands_end_to_end(
    perfkit_file: Callable[..., Path], run_cli: Callable[..., Any]
) -> None:
    run_cli("ingest", perfkit_file(branch="main"))
    assert run_cli("baseline", "set", "main", "--branch", "main").stdout == (
        "baseline main -> run 1 (pinned, branch main)\n"
    )
    assert run_cli("baseline", "unpin", "main").returncode == 0
    unknown = run_cli("baseline", "pin", "nope")
    assert unknown.returncode == 2 and "baseline list" in unknown.stderr
    assert run_cli("baseline", "delete", "main").returncode == 0
