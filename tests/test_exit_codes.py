"""One exit-code contract through every layer (docs/ci.md): 0 done, 1 a finding or a failed
command, 2 bad usage or input. A tool's 2 must reach the user through nox and invoke.

One test per task for its bad-input case, and the nox sessions that run the tools. `inv check`
and `inv example` take no input, so they have no bad-input case.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Run = Callable[..., subprocess.CompletedProcess[str]]
PYPERF_FILE = Path(__file__).resolve().parents[1] / "packages/report/tests/data/pyperf/telco.json"


def _last_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _bad_input(done: subprocess.CompletedProcess[str], words: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    # nox streams a tool's stderr into its own stdout: the line is in one of the two.
    assert words in done.stdout + done.stderr, (done.stdout[-2000:], done.stderr[-2000:])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["test", "--package", "nope"], "--package 'nope': choose one of"),
        (["prune", "--days", "soon"], "--days 'soon'"),
        (["evaluate", "--levels", "two"], "--levels 'two'"),
        (["evaluate", "--checks", "0"], "--checks '0'"),
        (["regression", "--pairs", "many"], "--pairs 'many'"),
        (["profile", "--target", "routing", "--duration", "long"], "--duration 'long'"),
        (["profile"], "name a target"),
    ],
)
def test_a_task_refuses_bad_options_with_exit_2(run: Run, args: list[str], words: str) -> None:
    _bad_input(run("inv", *args), words)


def test_inv_test_runs_the_ray_session_with_the_configured_nox(
    run: Run, environment: dict[str, str]
) -> None:
    """`nox --list` as the task's nox: it names the session it would run, running nothing, and
    fails on a session the noxfile does not define."""
    environment["PERFKIT_NOX"] = "nox --list"
    done = run("inv", "test", "--package", "runtime-ray", env=environment)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    assert "* tests(package='runtime-ray')" in done.stdout


def test_inv_profile_passes_the_tools_2_through_nox(run: Run) -> None:
    done = run("inv", "profile", "--target", "nope")
    _bad_input(done, "nope")


def test_inv_bench_passes_the_tools_2_through_nox(run: Run, tmp_path: Path) -> None:
    done = run("inv", "bench", "-k", "no-such-benchmark", "--db", str(tmp_path / "h.db"))
    _bad_input(done, "no-such-benchmark")
    assert not (tmp_path / "h.db").exists()


def test_inv_report_passes_the_tools_2_through_nox(run: Run, history: Path, tmp_path: Path) -> None:
    bad = tmp_path / "targets.toml"
    bad.write_text("[[target]]\nid = 3\n", encoding="utf-8")
    out = tmp_path / "reports"
    done = run("inv", "report", "--db", str(history), "--targets", str(bad), "--out", str(out))
    _bad_input(done, "targets.toml")
    assert not out.exists()


def test_inv_report_without_a_history_is_exit_2(run: Run, tmp_path: Path) -> None:
    _bad_input(run("inv", "report", "--db", str(tmp_path / "none.db")), "inv bench")


def test_inv_prune_passes_the_tools_2_through_nox(run: Run, tmp_path: Path) -> None:
    _bad_input(run("inv", "prune", "--db", str(tmp_path / "none.db")), "no history database")


def test_inv_baseline_passes_the_tools_2_through_nox(run: Run, history: Path) -> None:
    _bad_input(run("inv", "baseline", "--run", "999", "--db", str(history)), "999")


def test_inv_regression_passes_the_tools_2_through_nox(run: Run, tmp_path: Path) -> None:
    done = run("inv", "regression", "--fail-on", "nope", "--quick", "--db", str(tmp_path / "h"))
    _bad_input(done, "nope")


def test_nox_history_passes_the_tools_2_and_writes_nothing(run: Run, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(PYPERF_FILE.read_text(encoding="utf-8")[:500], encoding="utf-8")
    db = tmp_path / "history.db"
    done = run("nox", "-R", "-s", "history", "--", "ingest", "--db", str(db), str(broken))
    _bad_input(done, "truncated JSON")
    assert not db.exists()


def test_nox_history_passes_a_finding_as_1(run: Run, tmp_path: Path) -> None:
    """compare's 1 (a regression at or above --fail-on) survives nox: py36 -> py38 of pyperf's
    own example files is a real slowdown of list multiplication."""
    data = PYPERF_FILE.parent
    done = run(
        "nox", "-R", "-s", "history", "--", "compare",
        str(data / "mult_list_py38.json"), str(data / "mult_list_py36.json"),
    )  # fmt: skip
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    assert "regressed" in done.stdout
