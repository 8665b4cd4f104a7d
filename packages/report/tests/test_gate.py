"""``perfkit-report check``: the regression gate's verdict on one check.

A/B files are made here with pyperf's own Run / Benchmark / BenchmarkSuite and dump(), carrying
the metadata ``perfkit-bench ab`` writes (``perfkit_ab_side``, ``perfkit_ab_seed``,
``perfkit_ab_pairs``); instruction files carry ``perfkit_channel = "instructions"``. Most cases
call ``_cli.main`` in-process; one runs the real command line end to end.
"""

from __future__ import annotations

import json
import math
import random
import re
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import markdown
import pyperf
import pytest

from perfkit_report import History, StoreError
from perfkit_report._cli import main
from perfkit_report._escape import markdown_code, markdown_code_block

DATA = Path(__file__).resolve().parent / "data" / "pyperf"
PY36, PY37 = DATA / "mult_list_py36.json", DATA / "mult_list_py37.json"
TELCO = DATA / "telco.json"
MARKER = "<!-- perfkit-regression-gate -->"
HOSTILE = "<img src=x onerror=alert(1)>"

Processes = Sequence[Sequence[float]]


def write_suite(
    path: Path,
    benches: Mapping[str, Processes],
    *,
    side: str | None = None,
    seed: int | None = 7,
    unit: str = "second",
    channel: str | None = None,
    run_md: Mapping[str, Any] | None = None,
    injected: float | None = None,
) -> Path:
    """One pyperf suite, one pyperf run per worker process (in pair order for an A/B side)."""
    common: dict[str, Any] = {
        "perfkit_run_id": uuid.uuid4().hex,
        "perfkit_cpu_model": "Test CPU @ 2.0GHz",
        "perfkit_cpu_count": 2,
        "perfkit_python": "3.11.7",
        "perfkit_mode": "fast",
        "hostname": "ci-runner",
        **(run_md or {}),
    }
    benchmarks = []
    for name, processes in benches.items():
        md: dict[str, Any] = {**common, "name": name, "unit": unit}
        if side is not None:
            md["perfkit_ab_side"] = side
            md["perfkit_ab_pairs"] = len(processes)
            if seed is not None:
                md["perfkit_ab_seed"] = seed
        if channel is not None:
            md["perfkit_channel"] = channel
            md["perfkit_metric"] = channel
        if injected is not None:
            md["perfkit_injected_percent"] = injected
        runs = [pyperf.Run(list(v), metadata=md, collect_metadata=False) for v in processes]
        benchmarks.append(pyperf.Benchmark(runs))
    pyperf.BenchmarkSuite(benchmarks).dump(str(path), replace=True)
    return path


def ab_values(
    names: Sequence[str],
    *,
    pairs: int = 12,
    slower: Mapping[str, float] | None = None,
    drift: float = 0.10,
    noise: float = 0.01,
    seed: int = 1,
) -> tuple[dict[str, list[list[float]]], dict[str, list[list[float]]]]:
    """Base and head values: 3 values per process, a drift shared by the two processes of each
    pair (the machine's state when the pair ran), and ``slower[name]`` as a head factor."""
    rng = random.Random(seed)
    base: dict[str, list[list[float]]] = {}
    head: dict[str, list[list[float]]] = {}
    for name in names:
        factor = (slower or {}).get(name, 1.0)
        base[name], head[name] = [], []
        for _ in range(pairs):
            shared = 1e-6 * math.exp(rng.gauss(0, drift))
            base[name].append([shared * (1 + rng.gauss(0, noise)) for _ in range(3)])
            head[name].append([shared * factor * (1 + rng.gauss(0, noise)) for _ in range(3)])
    return base, head


NAMES = ("routing.tell.direct", "routing.tell.hash", "spawn.one", "spawn.ten")
GIT = {
    "base": {"perfkit_commit": "abc1234" + "0" * 33, "perfkit_branch": "main"},
    "head": {"perfkit_commit": "def5678" + "1" * 33, "perfkit_branch": "feature/x"},
}


def ab_pair(
    folder: Path,
    *,
    slower: Mapping[str, float] | None = None,
    names: Sequence[str] = NAMES,
    paired: bool = True,
    **options: Any,
) -> tuple[Path, Path]:
    """base.json and head.json of one A/B session (or, unpaired, two plain pyperf files)."""
    folder.mkdir(parents=True, exist_ok=True)
    base, head = ab_values(names, slower=slower, **options)
    return (
        write_suite(
            folder / "base.json", base, side="base" if paired else None, run_md=GIT["base"]
        ),
        write_suite(
            folder / "head.json", head, side="head" if paired else None, run_md=GIT["head"]
        ),
    )


def instruction_pair(
    folder: Path, *, grow: Mapping[str, float] | None = None, names: Sequence[str] = NAMES
) -> tuple[Path, Path]:
    """Instruction counts per operation, identical in every process (a fixed hash seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    counts = {name: 1000.0 * (index + 1) for index, name in enumerate(names)}
    base = {name: [[count]] * 3 for name, count in counts.items()}
    head = {name: [[count * (grow or {}).get(name, 1.0)]] * 3 for name, count in counts.items()}
    return (
        write_suite(
            folder / "base-instructions.json", base, unit="integer", channel="instructions"
        ),
        write_suite(
            folder / "head-instructions.json", head, unit="integer", channel="instructions"
        ),
    )


def check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: object, out: str = "out"
) -> tuple[int, dict[str, Any], str, str, str]:
    """Run ``check``; return (exit code, verdict.json, comment.md, stdout, stderr)."""
    code = main(["check", "--out-dir", str(tmp_path / out), *map(str, args)])
    captured = capsys.readouterr()
    verdict_path = tmp_path / out / "verdict.json"
    document = json.loads(verdict_path.read_text()) if verdict_path.exists() else {}
    comment_path = tmp_path / out / "comment.md"
    comment = comment_path.read_text() if comment_path.exists() else ""
    return code, document, comment, captured.out, captured.err


def by_key(document: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["channel"], row["benchmark"]): row for row in document["verdicts"]}


def rows(db: Path, sql: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def count(db: Path, table: str) -> int:
    return int(rows(db, f"SELECT count(*) AS n FROM {table}")[0]["n"])


# -- verdicts ------------------------------------------------------------------------------------


def test_a_paired_slowdown_under_pair_drift_fails_the_gate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab", slower={"spawn.one": 1.15})
    db = tmp_path / "history.db"
    code, document, comment, out, err = check(
        capsys, tmp_path, "--base", base, "--head", head, "--db", db
    )
    assert (code, err) == (1, "")
    assert document["version"] == 1 and document["kind"] == "ab"
    assert (document["outcome"], document["exit_code"]) == ("fail", 1)
    verdicts = by_key(document)
    slowed = verdicts[("time", "spawn.one")]
    assert slowed["verdict"] == "regressed" and slowed["paired"] and slowed["test"] == "wilcoxon"
    assert slowed["n_base"] == slowed["n_head"] == 12
    # 15 % slower: regressed, minor (the default bands: 10 % minor, 15 % major, 20 % critical).
    assert 13.0 < slowed["change_percent"] < 15.0 and slowed["severity"] == "minor"
    assert slowed["fails"] is True
    assert {row["verdict"] for key, row in verdicts.items() if key[1] != "spawn.one"} == {"same"}
    assert document["failures"] == [
        {"benchmark": "spawn.one", "channel": "time", "verdict": "regressed", "severity": "minor"}
    ]
    assert document["settings"]["ab_pairs"] == 12 and document["settings"]["ab_seed"] == "7"
    # stdout: the verdict line, then the two paths.
    lines = out.splitlines()
    assert lines[0].startswith("\N{CROSS MARK} 1 regression (1 minor)")
    assert lines[1:] == [
        str(tmp_path / "out" / "verdict.json"),
        str(tmp_path / "out" / "comment.md"),
    ]
    assert comment.splitlines()[0] == MARKER
    assert comment.splitlines()[1] == (
        "**\N{CROSS MARK} 1 regression (1 minor) \N{MIDDLE DOT} 3 same \N{EM DASH} base "
        "<code>main@&#8288;abc12340</code> vs head <code>feature/x@&#8288;def56781</code>**"
    )


def test_the_same_samples_unpaired_barely_see_the_slowdown_through_the_drift(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "plain", slower={"spawn.one": 1.15}, paired=False)
    _, document, _, _, _ = check(capsys, tmp_path, "--base", base, "--head", head, "--no-store")
    assert document["kind"] == "files"
    verdicts = by_key(document)
    slowed = verdicts[("time", "spawn.one")]
    assert not slowed["paired"] and slowed["test"] == "mann-whitney"
    # The 10 % pair drift, which pairing cancels (the paired interval is about 1 point wide),
    # spreads the unpaired interval over more than 20 points; the unchanged benchmarks'
    # intervals reach past the threshold.
    low, high = slowed["ci_percent"]
    assert low < 10.0 < high and high - low > 20.0
    assert verdicts[("time", "routing.tell.direct")]["verdict"] == "inconclusive"


def test_an_unchanged_pair_set_passes_clean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--no-store"
    )
    assert code == 0 and document["outcome"] == "pass"
    assert document["counts"]["same"] == len(NAMES)
    assert comment.splitlines()[1].startswith(
        "**\N{WHITE HEAVY CHECK MARK} no regression \N{MIDDLE DOT} 4 same"
    )
    assert "No benchmark regressed, improved or was inconclusive." in comment
    assert "Passes the gate" in comment


def test_instruction_channel_identical_counts_are_exactly_the_same(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    base_i, head_i = instruction_pair(tmp_path / "instr")
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head,
        "--base-instructions", base_i, "--head-instructions", head_i, "--no-store",
    )  # fmt: skip
    assert code == 0
    verdicts = by_key(document)
    assert len(verdicts) == 2 * len(NAMES)
    for name in NAMES:
        instr = verdicts[("instructions", name)]
        assert (instr["verdict"], instr["test"], instr["effect"]) == ("same", "exact", 1.0)
        assert instr["p"] is None and instr["threshold"] == 1.0 and instr["unit"] == "integer"
        assert instr["direction"] == "lower"
    assert document["base"]["files"]["instructions"] == str(base_i)
    assert "instruction counts per operation" in comment


def test_a_five_percent_instruction_growth_regresses_on_its_own_channel(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    base_i, head_i = instruction_pair(tmp_path / "instr", grow={"routing.tell.hash": 1.05})
    targets = tmp_path / "targets.toml"
    targets.write_text(
        "version = 1\n[defaults]\nthreshold = 10.0\nseverity = { minor = 10.0, major = 15.0, "
        'critical = 20.0 }\n[[target]]\nid = "spawn.*"\ninstructions_threshold = 8.0\n'
    )
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--targets", targets,
        "--base-instructions", base_i, "--head-instructions", head_i, "--no-store",
    )  # fmt: skip
    assert code == 1
    verdicts = by_key(document)
    grown = verdicts[("instructions", "routing.tell.hash")]
    assert grown["verdict"] == "regressed" and grown["test"] == "exact"
    assert grown["change_percent"] == pytest.approx(5.0)
    # The time bands of the benchmark (10/15/20): 5 % more instructions is minor.
    assert grown["severity"] == "minor"
    assert verdicts[("time", "routing.tell.hash")]["verdict"] == "same"
    assert verdicts[("instructions", "spawn.one")]["threshold"] == 8.0
    assert verdicts[("instructions", "routing.tell.direct")]["threshold"] == 1.0  # default
    look = comment.split("<details>")[0]
    assert "| routing.tell.hash | instructions | **regressed** | +5.0 % |" in look


def test_time_and_instructions_share_one_benjamini_hochberg_family(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    base_i, head_i = instruction_pair(tmp_path / "instr")
    _, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head,
        "--base-instructions", base_i, "--head-instructions", head_i, "--no-store",
    )  # fmt: skip
    time_ps = sorted(
        (row["p"], row["q"]) for row in document["verdicts"] if row["channel"] == "time"
    )
    # BH: the largest p keeps its value; exact instruction verdicts are outside the family.
    assert time_ps[-1][1] == pytest.approx(time_ps[-1][0])
    assert "Benjamini\N{EN DASH}Hochberg across 4 tests" in comment


def test_added_and_removed_benchmarks_are_reported_never_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base_values, head_values = ab_values(NAMES)
    base_values["old.gone"] = base_values.pop("spawn.ten")
    head_values["new.one"] = head_values.pop("spawn.one")
    base = write_suite(tmp_path / "base.json", base_values, side="base")
    head = write_suite(tmp_path / "head.json", head_values, side="head")
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--no-store"
    )
    assert code == 0
    verdicts = by_key(document)
    assert verdicts[("time", "old.gone")]["verdict"] == "removed"
    assert verdicts[("time", "new.one")]["verdict"] == "added"
    assert verdicts[("time", "spawn.ten")]["verdict"] == "added"
    assert verdicts[("time", "spawn.one")]["verdict"] == "removed"
    assert document["counts"]["added"] == 2 and document["counts"]["removed"] == 2
    assert "2 added \N{MIDDLE DOT} 2 removed" in comment.splitlines()[1]


def test_fail_on_and_fail_on_inconclusive_choose_the_exit_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab", slower={"spawn.one": 1.12})
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--fail-on", "major", "--no-store"
    )
    assert document["counts"]["regressed"] == 1
    assert by_key(document)[("time", "spawn.one")]["severity"] == "minor"
    assert code == 0 and document["failures"] == []
    assert comment.splitlines()[1].startswith(
        "**\N{WARNING SIGN}\N{VARIATION SELECTOR-16} 1 regression"
    )

    few_base, few_head = ab_pair(tmp_path / "few", pairs=2)  # under 3 pairs: inconclusive
    code, document, _, _, _ = check(
        capsys, tmp_path, "--base", few_base, "--head", few_head, "--no-store", out="few"
    )
    assert code == 0 and document["counts"]["inconclusive"] == len(NAMES)
    code, document, _, _, _ = check(
        capsys, tmp_path, "--base", few_base, "--head", few_head, "--no-store",
        "--fail-on-inconclusive", out="few2",
    )  # fmt: skip
    assert code == 1 and len(document["failures"]) == len(NAMES)


def test_needs_more_lists_the_inconclusive_benchmarks_and_keeps_the_exit_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # 10 % slower against a 10 % threshold: the interval straddles it, inconclusive.
    base, head = ab_pair(tmp_path / "ab", slower={"spawn.one": 1.10}, pairs=6, noise=0.03)
    needs = tmp_path / "needs-more.json"
    code, document, _, out, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--needs-more", needs, "--no-store"
    )
    assert code == 0
    wanted = json.loads(needs.read_text())
    assert wanted["version"] == 1 and wanted["tool"] == "perfkit-report check"
    entries = {item["benchmark"]: item for item in wanted["benchmarks"]}
    assert "spawn.one" in entries
    item = entries["spawn.one"]
    assert item["channel"] == "time" and item["paired"] is True
    assert item["n_base"] == item["n_head"] == 6
    assert 6 < item["suggested"] <= 48 and item["could_regress"] is True
    inconclusive = {r["benchmark"] for r in document["verdicts"] if r["verdict"] == "inconclusive"}
    assert set(entries) == inconclusive
    assert document["needs_more"] == wanted["benchmarks"]
    assert out.splitlines()[-1] == str(needs)


# -- history -------------------------------------------------------------------------------------


def test_the_check_is_stored_with_its_runs_and_every_verdict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab", slower={"spawn.one": 1.17})
    base_i, head_i = instruction_pair(tmp_path / "instr")
    db = tmp_path / "history.db"
    args = (
        "--base", base, "--head", head, "--base-instructions", base_i,
        "--head-instructions", head_i, "--db", db, "--base-label", "main@abc1234",
        "--head-label", "feature@def5678", "--reproduce", "nox -s regression -- --base abc1234",
    )  # fmt: skip
    code, document, comment, _, _ = check(capsys, tmp_path, *args)
    assert code == 1
    # Both time files; the instruction files' counts would join the same ids' time series.
    assert count(db, "runs") == 2
    (row,) = rows(db, "SELECT * FROM checks")
    assert row["kind"] == "ab" and (row["outcome"], row["exit_code"]) == ("fail", 1)
    assert (row["base_label"], row["head_label"]) == ("main@abc1234", "feature@def5678")
    assert row["base_commit"].startswith("abc1234") and row["head_commit"].startswith("def5678")
    assert row["baseline"] is None
    assert row["markdown"] == comment
    assert row["json_path"] == str((tmp_path / "out" / "verdict.json").resolve())
    settings = json.loads(row["settings"])
    assert settings["alpha"] == 0.05 and settings["fail_on"] == "minor"
    assert settings["reproduce"] == "nox -s regression -- --base abc1234"
    history = document["history"]
    assert history["check_id"] == row["id"] and history["db"] == str(db)
    runs = {r["source"]: r["id"] for r in rows(db, "SELECT id, source FROM runs")}
    assert row["base_run_id"] == runs[str(base)] and row["head_run_id"] == runs[str(head)]
    assert document["base"]["run_id"] == runs[str(base)]

    verdicts = rows(db, "SELECT * FROM verdicts ORDER BY id")
    assert len(verdicts) == 2 * len(NAMES)
    assert {v["check_id"] for v in verdicts} == {row["id"]}
    slowed = next(v for v in verdicts if v["benchmark"] == "spawn.one" and v["channel"] == "time")
    assert (slowed["run_id"], slowed["base_run_id"]) == (runs[str(head)], runs[str(base)])
    assert slowed["verdict"] == "regressed" and slowed["severity"] == "major"
    assert slowed["paired"] == 1 and slowed["test"] == "wilcoxon"
    assert (slowed["n_base"], slowed["n_head"]) == (12, 12)
    assert slowed["threshold"] == 10.0 and slowed["direction"] == "lower"
    assert slowed["mde_percent"] > 0 and slowed["q"] < 0.05 and slowed["p"] <= slowed["q"]
    assert slowed["ci_low"] <= slowed["effect"] <= slowed["ci_high"]
    instr = next(v for v in verdicts if v["channel"] == "instructions")
    assert (instr["run_id"], instr["base_run_id"]) == (runs[str(head)], runs[str(base)])
    assert settings["head_files"] == {"time": str(head), "instructions": str(head_i)}
    assert instr["paired"] == 0 and instr["test"] == "exact" and instr["threshold"] == 1.0

    # A second check of the same files records a second check, not new runs.
    check(capsys, tmp_path, *args, out="again")
    assert count(db, "runs") == 2 and count(db, "checks") == 2
    assert count(db, "verdicts") == 4 * len(NAMES)


def test_a_failure_while_storing_leaves_no_trace_in_the_history(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import perfkit_report._history._store as store

    base, head = ab_pair(tmp_path / "ab")
    db = tmp_path / "history.db"
    History.open(db).close()
    real = store.insert_check

    def half_then_fail(*args: Any, **kwargs: Any) -> int:
        real(*args, **kwargs)  # the check and its verdicts are written ...
        raise StoreError(f"{db}: disk full (simulated)")  # ... then the transaction fails

    monkeypatch.setattr(store, "insert_check", half_then_fail)
    code, document, comment, _, err = check(
        capsys, tmp_path, "--base", base, "--head", head, "--db", db
    )
    assert code == 1 and "disk full (simulated)" in err
    for table in ("runs", "results", "checks", "verdicts"):
        assert count(db, table) == 0, table
    # The verdict was written before the history was touched: the comment can still be posted.
    assert document["outcome"] == "pass" and document["history"] is None
    assert comment.startswith(MARKER)


def test_no_store_leaves_no_history_at_all(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    db = tmp_path / "history.db"
    code, document, _, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--db", db, "--no-store"
    )
    assert code == 0 and not db.exists() and document["history"] is None


# -- against a stored baseline -------------------------------------------------------------------


def test_against_a_stored_baseline_only_the_head_is_ingested(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base_values, head_values = ab_values(NAMES, drift=0.0, slower={"spawn.ten": 1.3})
    stored = write_suite(tmp_path / "main.json", base_values, run_md=GIT["base"])
    fresh = write_suite(tmp_path / "fresh.json", head_values, run_md=GIT["head"])
    db = tmp_path / "history.db"
    with History.open(db) as history:
        run_id = history.ingest(stored).run_id
        history.set_baseline("main", run_id, branch="main")
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--head", fresh, "--against-baseline", "main", "--branch", "main",
        "--db", db,
    )  # fmt: skip
    assert code == 1 and document["kind"] == "baseline"
    slowed = by_key(document)[("time", "spawn.ten")]
    assert slowed["verdict"] == "regressed" and not slowed["paired"]
    assert slowed["severity"] == "critical"
    assert document["base"]["baseline"] == "main" and document["base"]["files"] == {}
    assert document["base"]["label"] == "main@abc12340"
    (row,) = rows(db, "SELECT * FROM checks")
    assert (row["kind"], row["baseline"], row["base_run_id"]) == ("baseline", "main", run_id)
    assert count(db, "runs") == 2  # the baseline's run and the head
    assert {v["base_run_id"] for v in rows(db, "SELECT base_run_id FROM verdicts")} == {run_id}
    assert "the head against the stored baseline <code>main</code>" in comment
    assert "tracking branch <code>main</code>" in comment


def test_against_baseline_bad_input_is_one_line_naming_the_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    db = tmp_path / "history.db"

    def failing(*args: object) -> str:
        code, _, _, out, err = check(capsys, tmp_path, "--head", head, "--db", db, *args)
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("perfkit-report: error: ")
        return err

    assert "baseline set main --run latest" in failing("--against-baseline", "main")
    assert not db.exists()  # a missing history is not created by a check against it
    with History.open(db) as history:
        run_id = history.ingest(base).run_id
        history.set_baseline("main", run_id, pinned=False)
    assert "`perfkit-report baseline list`" in failing("--against-baseline", "nightly")
    mismatch = failing("--against-baseline", "main", "--branch", "release")
    assert "tracks no branch" in mismatch and "--branch release" in mismatch
    with History.open(db) as history:
        history.prune(0)  # an unpinned baseline loses its raw samples
    assert "lost its raw samples to pruning" in failing("--against-baseline", "main")
    assert count(db, "checks") == 0


# -- bad input -----------------------------------------------------------------------------------


def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base, head = ab_pair(tmp_path / "ab")
    base_i, _ = instruction_pair(tmp_path / "instr")
    wrong = write_suite(tmp_path / "wrong.json", {"x.y": [[1.0]]}, channel="time")
    other = write_suite(tmp_path / "other.json", {"x.y": [[1.0], [1.1], [1.2]]})
    in_bytes = write_suite(tmp_path / "bytes.json", ab_values(NAMES)[1], side="head", unit="byte")
    db = tmp_path / "history.db"
    cases = {
        "no such file": ("--base", tmp_path / "nope.json", "--head", head),
        "no benchmark in common": ("--base", base, "--head", other),
        "same suite": ("--base", base, "--head", in_bytes),
        "go together": ("--base", base, "--head", head, "--base-instructions", base_i),
        "--base base.json --head head.json": ("--base", head, "--head", base),
        "use it with --against-baseline": ("--base", base, "--head", head, "--branch", "main"),
        "not 'instructions'": (
            "--base", base, "--head", head, "--base-instructions", wrong,
            "--head-instructions", wrong,
        ),
    }  # fmt: skip
    for fix, args in cases.items():
        code, _, _, out, err = check(capsys, tmp_path, *args, "--db", db)
        assert code == 2, fix
        assert out == "" and err.count("\n") == 1 and fix in err, (fix, err)
    assert not db.exists() and not (tmp_path / "out").exists()

    with pytest.raises(SystemExit) as usage:  # argparse: --base or --against-baseline required
        main(["check", "--head", str(head), "--out-dir", str(tmp_path / "out")])
    assert usage.value.code == 2
    capsys.readouterr()


# -- escaping ------------------------------------------------------------------------------------

NASTY = (
    HOSTILE,
    "pipe|in|name",
    "tick`s` and ``double``",
    "*bold* _em_ **x**",
    "tab\tand\x1b[31mescape",
    "[link](http://example.invalid) @someone",
    "<!-- comment --> & &amp;",
    "back\\slash\\",
)


def test_hostile_names_render_as_text_and_keep_the_tables_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    names = [f"evil.{index}.{nasty}" for index, nasty in enumerate(NASTY)]
    base, head = ab_pair(tmp_path / "ab", names=names, slower={names[0]: 1.3})
    code, document, comment, _, err = check(
        capsys, tmp_path, "--base", base, "--head", head, "--no-store",
        "--base-label", f"main {HOSTILE}", "--head-label", "feat|`x`*\nnext",
        "--reproduce", "nox -s regression -- --base '```' `rm -rf`\n```\n" + HOSTILE,
    )  # fmt: skip
    assert code == 1, err
    assert {row["benchmark"] for row in document["verdicts"]} == set(names)  # JSON: verbatim
    # Raw only inside the fenced code block, where Markdown shows text as text.
    before_block = comment.split("````console")[0]
    assert "<img" not in before_block and "<!-- comment" not in before_block
    html = markdown.markdown(comment, extensions=["tables", "fenced_code"])
    assert "<img" not in html and "<a " not in html and "<em>" not in html
    assert "<strong>bold" not in html
    # Every table row keeps its 10 cells: no name added a column or ended a row.
    for line in comment.splitlines():
        if line.startswith("| ") and "benchmark" not in line and "base | head" not in line:
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (10, 3), line
    # GitHub renders Markdown inside <details> (after a blank line); python-markdown keeps such a
    # block raw, so the tables are checked with the wrapper lines dropped.
    unwrapped = "\n".join(
        line for line in comment.splitlines() if not line.startswith(("<details>", "</details>"))
    )
    flat = markdown.markdown(unwrapped, extensions=["tables", "fenced_code"])
    assert "<img" not in flat and "<a " not in flat and "<em>" not in flat
    bodies = re.findall(r"<table>.*?</table>", flat, flags=re.S)
    assert [b.count("<tr>") for b in bodies][:2] == [2, 1 + len(names)]
    assert all(b.count("<td") == 10 * (b.count("<tr>") - 1) for b in bodies[:2])
    # The visible text is the name itself (entities decoded by the renderer).
    assert "evil.0.&lt;img src=x onerror=alert(1)&gt;" in flat
    assert "evil.1.pipe|in|name" in flat
    assert "evil.4.tab\\tand\\x1b[31mescape" in flat  # controls shown, never sent
    # Newlines cannot be in a pyperf benchmark name (pyperf refuses them), but can be in a label.
    assert "<code>feat|`x`*<br>next</code>" in flat
    # The reproduce command stays inside its code block whatever it holds.
    code_blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", html, flags=re.S)
    assert len(code_blocks) == 1 and "```" in code_blocks[0] and "&lt;img" in code_blocks[0]
    assert html.rstrip().endswith("</pre>")


def test_markdown_code_helpers_survive_every_character() -> None:
    for text in (*NASTY, "line\nbreak", "cr\r\nlf"):
        html = markdown.markdown(f"x {markdown_code(text)} y", extensions=["tables"])
        assert html.count("<code>") == 1 and "<img" not in html and "<a " not in html
        block = markdown_code_block(text, "console")
        rendered = markdown.markdown(block + "\n\nafter", extensions=["fenced_code"])
        assert rendered.count("<pre>") == 1 and rendered.rstrip().endswith("<p>after</p>")
    assert markdown_code_block("a ``` b").startswith("````\n")
    assert markdown_code_block("esc \x1b[31m") == "```\nesc \\x1b[31m\n```"


# -- environment and real files ------------------------------------------------------------------


def test_the_comment_shows_the_environment_and_how_to_reproduce(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base_values, head_values = ab_values(NAMES)
    base = write_suite(tmp_path / "base.json", base_values, side="base", run_md=GIT["base"])
    head = write_suite(
        tmp_path / "head.json", head_values, side="head", injected=5.0,
        run_md={**GIT["head"], "perfkit_cpu_model": "Other CPU", "perfkit_failed": json.dumps(
            [{"id": "spawn.crashy", "kind": "error", "error": "boom"}]
        )},
    )  # fmt: skip
    _, document, comment, _, _ = check(
        capsys, tmp_path, "--base", base, "--head", head, "--no-store",
        "--reproduce", "nox -s regression -- --base abc1234",
    )  # fmt: skip
    environment = comment.split("### Environment")[1]
    assert "paired, interleaved A/B: 12 pairs per benchmark, order seed 7" in (environment)
    assert "| CPU | Test CPU @&#8288; 2.0GHz | Other CPU |" in environment
    assert "| Python | 3.11.7 | 3.11.7 |" in environment
    assert "| machine | ci-runner | ci-runner |" in environment
    assert "base and head differ in CPU" in environment
    assert "slowed by 5 % on purpose" in environment
    assert "failed to run on the head side (no verdict): <code>spawn.crashy</code>" in environment
    assert environment.rstrip().endswith(
        "### Reproduce locally\n\n```console\nnox -s regression -- --base abc1234\n```"
    )
    assert document["head"]["environment"]["cpu"] == "Other CPU"
    assert document["head"]["failed"] == ["spawn.crashy"]
    assert document["settings"]["injected_percent"] == 5.0


def test_real_third_party_files_in_files_mode(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    code, document, comment, _, _ = check(
        capsys, tmp_path, "--base", PY36, "--head", PY37, "--db", db
    )
    assert code == 1 and document["kind"] == "files"
    verdicts = by_key(document)
    assert verdicts[("time", "[1,2]*1000")]["verdict"] == "regressed"
    assert verdicts[("time", "[1,2]*1000")]["severity"] == "critical"
    assert verdicts[("time", "[1]*1000")]["verdict"] == "same"
    assert "mode**: unpaired, two result files" in comment
    assert "| \\[1,2\\]\\*1000 | time | **regressed** |" in comment
    # No perfkit metadata: labels fall back to the file names, the machine from pyperf's.
    assert document["base"]["label"] == "mult_list_py36.json"
    assert document["base"]["environment"]["python"].startswith("3.6")
    assert count(db, "runs") == 2 and count(db, "verdicts") == 3
    # The same file on both sides: one run, everything the same, exit 0.
    code, document, _, _, _ = check(
        capsys, tmp_path, "--base", TELCO, "--head", TELCO, "--db", db, out="telco"
    )
    assert code == 0 and document["counts"]["same"] == 1
    (row,) = rows(db, "SELECT * FROM checks WHERE kind = 'files' ORDER BY id DESC LIMIT 1")
    assert row["base_run_id"] == row["head_run_id"]


def test_two_files_sharing_one_run_id_are_stored_as_two_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    base_values, head_values = ab_values(NAMES)
    session = {"perfkit_run_id": "one-session"}
    base = write_suite(tmp_path / "base.json", base_values, side="base", run_md=session)
    head = write_suite(tmp_path / "head.json", head_values, side="head", run_md=session)
    db = tmp_path / "history.db"
    assert check(capsys, tmp_path, "--base", base, "--head", head, "--db", db)[0] == 0
    keys = sorted(r["run_key"] for r in rows(db, "SELECT run_key FROM runs"))
    assert keys == ["one-session#base", "one-session#head"]


def test_the_command_line_end_to_end(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    base, head = ab_pair(tmp_path / "ab", slower={"spawn.one": 1.2})
    done = run_cli(
        "check", "--base", base, "--head", head, "--out-dir", "gate", "--needs-more",
        "needs.json",
    )  # fmt: skip
    assert done.returncode == 1 and done.stderr == ""
    assert done.stdout.splitlines()[1:] == [
        str(tmp_path / "gate" / "verdict.json"),
        str(tmp_path / "gate" / "comment.md"),
        "needs.json",
    ]
    assert (tmp_path / "history.db").exists()  # the default --db, in the working directory
    help_text = run_cli("check", "--help").stdout
    for flag in ("--against-baseline", "--base-instructions", "--needs-more", "--reproduce"):
        assert flag in help_text
