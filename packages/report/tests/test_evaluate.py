"""``perfkit-report evaluate``: the gate's false-alarm rate and power on synthetic A/B sessions
whose truth is known. Files are made with pyperf's own Run / Benchmark / BenchmarkSuite and dump();
the noise model (a drift shared by the two processes of each pair, per-process noise, noisy
neighbours slowing a few processes) is the one docs/regression.md simulates. Few bootstrap
resamples keep each evaluation well under a second."""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyperf
import pytest

from perfkit_report._cli import main
from perfkit_report._gate._evaluate import Evaluation, MethodResult, evaluate
from perfkit_report._gate._evaluation_report import (
    EVALUATION_FORMAT_VERSION,
    render_evaluation_json,
    render_evaluation_markdown,
    render_evaluation_text,
)

Processes = list[list[float]]
NAMES = [f"routing.b{i}" for i in range(5)]
FAST = 200  # bootstrap resamples: the detector's minimum is 100


def simulate(
    rng: random.Random,
    n_pairs: int,
    *,
    injected: float = 0.0,
    drift_sd: float = 0.08,
    noise_sd: float = 0.03,
    neighbours: float = 0.15,
    values: int = 3,
) -> tuple[Processes, Processes]:
    """Raw values of one benchmark, base and head, one list per worker process, in pair order."""
    base: Processes = []
    head: Processes = []
    for _ in range(n_pairs):
        drift = math.exp(rng.gauss(0, drift_sd))  # shared by both processes of the pair
        for side in (base, head):
            level = 1e-5 * drift * math.exp(rng.gauss(0, noise_sd))
            if rng.random() < neighbours:
                level *= 1 + rng.uniform(0.2, 0.8)  # a noisy neighbour slowed this process
            if side is head:
                level *= 1 + injected / 100
            side.append([level * math.exp(rng.gauss(0, 0.01)) for _ in range(values)])
    return base, head


def write_session(
    directory: Path,
    benches: Mapping[str, tuple[Processes, Processes]],
    *,
    injected: Mapping[str, float] | None = None,
    seed: int = 7,
    ab: bool = True,
) -> Path:
    """An out-dir as perfkit-bench ab writes it: base.json and head.json, runs in pair order."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, side in enumerate(("base", "head")):
        benchmarks = []
        for name, sides in benches.items():
            md: dict[str, Any] = {"name": name, "unit": "second"}
            if ab:
                md.update(perfkit_ab_side=side, perfkit_ab_seed=seed)
                md["perfkit_ab_pairs"] = len(sides[index])
            if side == "head" and injected and injected.get(name):
                md["perfkit_injected_percent"] = injected[name]
            runs = [pyperf.Run(v, metadata=md, collect_metadata=False) for v in sides[index]]
            benchmarks.append(pyperf.Benchmark(runs))
        pyperf.BenchmarkSuite(benchmarks).dump(str(directory / f"{side}.json"), replace=True)
    return directory


def aa_session(directory: Path, n_pairs: int = 120, seed: int = 1) -> Path:
    rng = random.Random(seed)
    return write_session(directory, {name: simulate(rng, n_pairs) for name in NAMES})


def injected_session(
    directory: Path,
    percent: float = 10.0,
    n_pairs: int = 120,
    seed: int = 2,
    *,
    noise_sd: float = 0.03,
    neighbours: float = 0.15,
) -> Path:
    """The first two benchmarks slowed by ``percent``, the other three unchanged."""
    rng = random.Random(seed)
    slowed = dict.fromkeys(NAMES[:2], percent)
    benches = {
        name: simulate(
            rng,
            n_pairs,
            injected=slowed.get(name, 0.0),
            noise_sd=noise_sd,
            neighbours=neighbours,
        )
        for name in NAMES
    }
    return write_session(directory, benches, injected=slowed)


def row(evaluation: Evaluation, method: str, level: float) -> MethodResult:
    return next(r for r in evaluation.results if r.method == method and r.injected_percent == level)


# -- the figures ---------------------------------------------------------------------------------


def test_the_gate_rarely_alarms_on_drifting_aa_data_where_pyperf_and_naive_do(
    tmp_path: Path,
) -> None:
    aa = aa_session(tmp_path / "aa")
    for threshold in (None, 2.0):
        evaluation = evaluate([aa], pairs_per_check=12, threshold=threshold, n_resamples=FAST)
        gate, pyperf_, naive = (row(evaluation, m, 0.0) for m in ("gate", "pyperf", "naive"))
        assert gate.checks == pyperf_.checks == naive.checks == 10
        assert gate.comparisons == 50  # 10 checks x 5 benchmarks
        assert gate.failing_checks <= gate.flagged_checks <= 1
        assert pyperf_.failing_checks <= pyperf_.flagged_checks
        # Every value counted as independent (pyperf) and a fixed ratio of means (naive) read
        # the noise between processes as changes.
        assert pyperf_.flagged_checks >= 5
        assert naive.flagged_checks >= 3
        assert pyperf_.flagged_comparisons > 2 * max(1, gate.flagged_comparisons)
        # The 95 % Clopper-Pearson interval brackets the rate.
        for result in (gate, pyperf_, naive):
            assert result.ci_low <= result.rate <= result.ci_high
        assert gate.ci_low == 0.0 if gate.flagged_checks == 0 else gate.ci_low > 0
        assert abs(gate.median_change_percent or 0.0) < 1.0


def test_the_gate_catches_a_10_percent_injection_under_a_low_threshold(tmp_path: Path) -> None:
    aa = aa_session(tmp_path / "aa", n_pairs=40)
    inject = injected_session(tmp_path / "inject", noise_sd=0.02, neighbours=0.0)
    evaluation = evaluate([aa], [inject], pairs_per_check=20, threshold=2.0, n_resamples=FAST)
    assert [(r.method, r.injected_percent) for r in evaluation.results] == [
        ("gate", 0.0),
        ("pyperf", 0.0),
        ("naive", 0.0),
        ("gate", 10.0),
        ("pyperf", 10.0),
        ("naive", 10.0),
    ]
    gate = row(evaluation, "gate", 10.0)
    assert gate.checks == 6
    assert gate.flagged_checks >= 5  # power per check: both slowed benchmarks caught
    assert gate.comparisons == 12  # 6 checks x the 2 slowed benchmarks
    assert gate.comparison_rate >= 0.9
    assert gate.other_alarm_checks == 0
    # Calibration: the busy-wait's 10 % reads as about +10 %.
    assert gate.median_change_percent is not None
    assert 8.0 < gate.median_change_percent < 12.0
    per_bench = {rate.benchmark: rate for rate in gate.benchmarks}
    assert per_bench[NAMES[0]].injected_percent == 10.0
    assert per_bench[NAMES[4]].injected_percent == 0.0
    assert evaluation.threshold_text == "2%" and evaluation.threshold_source == "--threshold"
    assert evaluation.notes == ()


def test_under_the_default_threshold_a_5_percent_slowdown_is_never_regressed(
    tmp_path: Path,
) -> None:
    # A regression needs its estimate at or beyond the threshold: a clear 5 % change under a
    # 10 % threshold never gets there (one exactly at the threshold would, about half the time).
    aa = aa_session(tmp_path / "aa", n_pairs=40)
    inject = injected_session(
        tmp_path / "inject", percent=5.0, n_pairs=40, noise_sd=0.02, neighbours=0.0
    )
    evaluation = evaluate([aa], [inject], pairs_per_check=20, n_resamples=FAST)
    gate = row(evaluation, "gate", 5.0)
    assert gate.flagged_checks == 0 and gate.flagged_comparisons == 0
    assert evaluation.threshold_text == "10%" and evaluation.threshold_source == "default"
    assert len(evaluation.notes) == 1 and "not below the injected 5%" in evaluation.notes[0]


def _steady(rng: random.Random, n: int, slow: Sequence[int], factor: float) -> tuple[Any, Any]:
    """Head equal to base, pair by pair, except the pairs in ``slow``."""
    base = [[1e-5 * math.exp(rng.gauss(0, 0.005)) for _ in range(2)] for _ in range(n)]
    head = [[v * (factor if i in slow else 1.0) for v in values] for i, values in enumerate(base)]
    return base, head


def test_checks_are_disjoint_consecutive_blocks_and_leftovers_are_unused(tmp_path: Path) -> None:
    # 40 pairs, 12 a check: checks are pairs 0-11, 12-23, 24-35; 36-39 are left over. Only
    # pairs 12-23 (check 1) and the leftovers are 30 % slower on the head side.
    slow = [*range(12, 24), *range(36, 40)]
    session = write_session(tmp_path / "aa", {"x.only": _steady(random.Random(3), 40, slow, 1.3)})
    evaluation = evaluate([session], pairs_per_check=12, n_resamples=FAST)
    (info,) = evaluation.sessions
    assert (info.pairs, info.checks, info.unused_pairs) == (40, 3, 4)
    for method in ("gate", "pyperf", "naive"):
        result = row(evaluation, method, 0.0)
        (rate,) = result.benchmarks
        assert (result.checks, result.flagged_checks, result.failing_checks) == (3, 1, 1), method
        assert (rate.regressed, rate.improved) == (1, 0), method


def test_unequal_pair_counts_take_the_fewest(tmp_path: Path) -> None:
    rng = random.Random(5)
    session = write_session(
        tmp_path / "aa", {"a.long": simulate(rng, 50), "a.short": simulate(rng, 37)}
    )
    evaluation = evaluate([session], pairs_per_check=12, n_resamples=FAST)
    assert (evaluation.sessions[0].pairs, evaluation.sessions[0].checks) == (37, 3)


# -- the command ---------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main(["evaluate", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_command_prints_writes_and_stores_one_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aa = aa_session(tmp_path / "aa", n_pairs=40)
    inject = injected_session(tmp_path / "inject", n_pairs=40, noise_sd=0.02, neighbours=0.0)
    db, md, js = tmp_path / "history.db", tmp_path / "eval.md", tmp_path / "eval.json"
    code, out, err = run(
        capsys,
        *("--aa", aa, "--inject", inject, "--pairs-per-check", 20, "--threshold", 1),
        *("--db", db, "--out", md, "--json", js, "--resamples", FAST, "--alpha", 0.05),
    )
    assert (code, err) == (0, "")
    assert "method" in out and "pyperf compare_to" in out and "naive 10%" in out
    assert "estimate at or beyond 1% (--threshold)" in out
    assert f"{md}\n{js}\n" in out and "stored evaluation" in out

    document = json.loads(js.read_text())
    assert document["version"] == EVALUATION_FORMAT_VERSION
    assert document["settings"]["threshold"] == 1.0
    assert [s["mode"] for s in document["sessions"]] == ["aa", "inject"]
    assert len(document["results"]) == 6
    label = document["evaluation"]

    markdown = md.read_text()
    assert markdown.startswith("### perfkit gate evaluation") and "<details>" in markdown

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM evaluations ORDER BY id").fetchall()
    conn.close()
    assert {r["evaluation"] for r in rows} == {label}
    assert [(r["method"], r["injected_percent"]) for r in rows] == [
        (m, level) for level in (0.0, 10.0) for m in ("gate", "pyperf", "naive")
    ]
    for stored, result in zip(rows, document["results"], strict=True):
        assert stored["checks"] == result["checks"] == 2
        assert stored["pairs_per_check"] == 20 and stored["benchmarks"] == 5
        assert stored["flagged_checks"] == result["flagged_checks"]
        assert stored["rate"] == pytest.approx(result["rate"])
        details = json.loads(stored["details"])
        assert set(details["benchmarks"]) == set(NAMES)
        assert details["threshold_source"] == "--threshold"

    # A second evaluation adds its own rows under its own label.
    code, _, _ = run(capsys, "--aa", aa, "--pairs-per-check", 20, "--db", db, "--resamples", FAST)
    conn = sqlite3.connect(db)
    labels = conn.execute("SELECT count(DISTINCT evaluation), count(*) FROM evaluations").fetchone()
    conn.close()
    assert code == 0 and labels == (2, 9)


def test_the_command_is_registered(run_cli: Callable[..., Any]) -> None:
    done = run_cli("evaluate", "--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: perfkit-report evaluate")
    assert "--pairs-per-check" in done.stdout and "--threshold" in done.stdout


def test_reports_escape_benchmark_names(tmp_path: Path) -> None:
    hostile = "x.<b>|`y`\x1b[31m"
    rng = random.Random(9)
    session = write_session(tmp_path / "aa", {hostile: simulate(rng, 12)})
    evaluation = evaluate([session], pairs_per_check=12, n_resamples=FAST)
    markdown = render_evaluation_markdown(evaluation)
    assert "<b>" not in markdown and "\x1b" not in markdown and "x.&lt;b&gt;" in markdown
    assert "\x1b" not in render_evaluation_text(evaluation)
    assert (
        json.loads(render_evaluation_json(evaluation))["results"][0]["benchmarks"][0]["benchmark"]
        == hostile
    )


def _one_line_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("perfkit-report: error: ")
    return lines[0]


def test_bad_input_exits_2_with_one_line_naming_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    aa = aa_session(tmp_path / "aa", n_pairs=30)
    inject = injected_session(tmp_path / "inject", n_pairs=30)
    db = tmp_path / "history.db"
    common = ("--db", db, "--resamples", FAST)

    def fails(*args: object) -> str:
        code, out, err = run(capsys, *args, *common)
        assert (code, out) == (2, "")
        return _one_line_error(err)

    assert "no such directory" in fails("--aa", tmp_path / "nope", "--pairs-per-check", 10)
    half = tmp_path / "half"
    half.mkdir()
    (half / "base.json").write_bytes((aa / "base.json").read_bytes())
    assert "no head.json" in fails("--aa", half, "--pairs-per-check", 10)
    line = fails("--aa", aa, "--pairs-per-check", 31)
    assert "has 30 pairs" in line and "run at least 31 pairs" in line
    assert "pass it with --inject" in fails("--aa", inject, "--pairs-per-check", 10)
    other_aa = aa_session(tmp_path / "aa2", n_pairs=30, seed=3)
    assert "pass an A/A session with --aa" in fails(
        "--aa", aa, "--inject", other_aa, "--pairs-per-check", 10
    )
    rng = random.Random(4)
    plain = write_session(tmp_path / "plain", {"p.x": simulate(rng, 30)}, ab=False)
    assert "not an A/B pair" in fails("--aa", plain, "--pairs-per-check", 10)
    assert "at least 3 pairs" in fails("--aa", aa, "--pairs-per-check", 2)
    assert "passed twice" in fails("--aa", aa, "--aa", aa, "--pairs-per-check", 10)
    assert not db.exists()  # nothing measured, nothing stored

    for bad in (("--pairs-per-check", "0"), ("--pairs-per-check", 10, "--threshold", "-1")):
        with pytest.raises(SystemExit) as exit_info:
            main(["evaluate", "--aa", str(aa), *map(str, bad)])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.count("\n") >= 1
